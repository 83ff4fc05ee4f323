"""CSV import of clients: a preview that writes nothing, then all or none.

The file is read as UTF-8 (a byte-order mark is allowed), with the
delimiter its first line uses (comma, semicolon or tab). A header row is
optional and recognised by a column named like an e-mail address.
"""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from mailing.addresses import address_normalize
from mailing.counts import owner_counts_invalidate
from mailing.csvfiles import csv_unescape_cell
from mailing.figures import site_figures_invalidate
from mailing.models import Client, grouped
from mailing.selectors import suppression_reasons

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 10_000
# The csv module's own limit per field (128 KiB); a longer field is refused.
MAX_IMPORT_FIELD = csv.field_size_limit()
_EMAIL_HEADERS = {"email", "e-mail", "email address", "e-mail address", "mail"}
_NAME_HEADERS = {"full name", "full_name", "fullname", "name"}
_COMMENT_HEADERS = {"comment", "comments", "note", "notes"}
_COLUMNS = {"email": 0, "full_name": 1, "comment": 2}


def file_too_big_error(size: int) -> str:
    """The error for an import file of `size` bytes, over MAX_IMPORT_BYTES."""
    return _("The file is %(size)s KiB; the limit is %(limit)s KiB.") % {
        "size": grouped(round(size / 1024)),
        "limit": grouped(MAX_IMPORT_BYTES // 1024),
    }


def client_import_size_check(*, size: int) -> None:
    """Refuse (ValidationError) an import file of `size` bytes over the limit;
    the upload form asks before reading the file."""
    if size > MAX_IMPORT_BYTES:
        raise ValidationError(file_too_big_error(size))


@dataclass
class ImportRow:
    line: int
    email: str
    full_name: str
    comment: str
    # The reason the address is on the owner's suppression list, or "": it
    # is imported all the same (the address book stays whole) and never
    # mailed.
    suppressed: str = ""


@dataclass
class ImportPreview:
    """What an import would do: the rows to add (those whose address is
    suppressed among them), the rows in error (each with its line number and
    reason) and the duplicates that are skipped."""

    rows: list[ImportRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    header: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def suppressed(self) -> list[ImportRow]:
        """The new rows whose address is suppressed."""
        return [row for row in self.rows if row.suppressed]


def client_import_preview(*, owner: User, content: bytes) -> ImportPreview:
    """Parse a CSV file of clients (email, full name, comment; the header row
    is optional) without writing anything.

    Raises ValidationError when the file as a whole cannot be read (too big,
    not UTF-8, no rows). Row problems are listed in the preview instead.
    """
    client_import_size_check(size=len(content))
    text = _decode(content)
    # Spreadsheets export with commas, semicolons (some locales) or tabs:
    # the first line decides.
    first = text.lstrip().split("\n", 1)[0]
    delimiter = max(",;\t", key=lambda c: (first.count(c), c == ","))
    records = _read_records(text, delimiter)
    preview = ImportPreview()
    columns = _COLUMNS
    if records and _header_columns(records[0]):
        columns = _header_columns(records[0])
        preview.header = True
        records[0] = []
    data = [(n, r) for n, r in enumerate(records, start=1) if any(c.strip() for c in r)]
    if not data:
        raise ValidationError(_("The file has no clients in it."))
    if len(data) > MAX_IMPORT_ROWS:
        raise ValidationError(
            _("The file has %(rows)s rows; the limit is %(limit)s.")
            % {"rows": grouped(len(data)), "limit": grouped(MAX_IMPORT_ROWS)}
        )
    existing = set(Client.objects.filter(owner=owner).values_list("email", flat=True))
    seen: dict[str, int] = {}
    for line, record in data:
        _preview_row(preview, line, record, columns, seen=seen, existing=existing)
    reasons = suppression_reasons(owner=owner, emails=[r.email for r in preview.rows])
    for row in preview.rows:
        row.suppressed = reasons.get(row.email, "")
    return preview


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is not UTF-8 text; save it as CSV UTF-8.")
        ) from None


def _preview_row(preview, line, record, columns, *, seen, existing) -> None:
    """Add one data row to the preview: as a row to add, an error or a
    duplicate. `seen` (address -> line) grows with each new address."""

    def cell(name):
        index = columns.get(name)
        if index is None or index >= len(record):
            return ""
        return csv_unescape_cell(record[index].strip())

    raw_email, full_name, comment = cell("email"), cell("full_name"), cell("comment")
    email, error = _row_address(raw_email, record)
    if error is None and len(full_name) > 200:
        error = _("the full name is longer than 200 characters")
    if error is not None:
        preview.errors.append((line, error))
    elif email in seen:
        preview.duplicates.append(
            (
                line,
                _("%(email)s repeats row %(row)s")
                % {"email": email, "row": seen[email]},
            )
        )
    else:
        seen[email] = line
        if email in existing:
            preview.duplicates.append(
                (line, _("%(email)s is already one of your clients") % {"email": email})
            )
        else:
            preview.rows.append(ImportRow(line, email, full_name, comment))


def _row_address(raw_email: str, record: list[str]) -> tuple[str, str | None]:
    """The row's normalised address, or the reason the row is in error."""
    if not raw_email:
        return "", _("the e-mail address is missing")
    if any("\x00" in value for value in record):
        return "", _("it contains a null character")
    try:
        return address_normalize(raw_email), None
    except ValidationError:
        return "", _("“%(email)s” is not a valid e-mail address") % {
            "email": raw_email[:100]
        }


def _read_records(text: str, delimiter: str) -> list[list[str]]:
    records = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for record in reader:
            records.append(record)
    except csv.Error as error:
        row = len(records) + 1
        if "field limit" in str(error):
            reason = _(
                "a field is longer than %(kib)s KiB; is this the right file?"
            ) % {"kib": grouped(MAX_IMPORT_FIELD // 1024)}
        else:
            reason = _("the CSV cannot be read (%(error)s)") % {"error": error}
        raise ValidationError(
            _("Row %(row)s (line %(line)s): %(reason)s")
            % {"row": row, "line": reader.line_num, "reason": reason},
            code="csv",
        ) from None
    return records


def _header_columns(record: list[str]) -> dict[str, int] | None:
    names = [c.strip().lower() for c in record]
    # A header names the e-mail column; a data row holds an address there.
    if not any(name in _EMAIL_HEADERS for name in names):
        return None
    columns = {}
    for index, name in enumerate(names):
        if name in _EMAIL_HEADERS:
            columns.setdefault("email", index)
        elif name in _NAME_HEADERS:
            columns.setdefault("full_name", index)
        elif name in _COMMENT_HEADERS:
            columns.setdefault("comment", index)
    return columns if "email" in columns else None


@transaction.atomic
def client_import(*, owner: User, content: bytes) -> list[Client]:
    """Add every new client of a CSV file, or none of them.

    Duplicates (within the file, or of an existing client) are skipped; any
    row in error refuses the whole file with a ValidationError naming the
    rows. Returns the clients created.
    """
    preview = client_import_preview(owner=owner, content=content)
    if not preview.ok:
        raise ValidationError(
            [
                _("Row %(row)s: %(reason)s.") % {"row": line, "reason": reason}
                for line, reason in preview.errors
            ]
        )
    created = Client.objects.bulk_create(
        [
            Client(owner=owner, email=r.email, full_name=r.full_name, comment=r.comment)
            for r in preview.rows
        ],
        # A client added by another tab since the preview is not doubled;
        # the unique constraint would refuse it anyway.
        ignore_conflicts=True,
    )
    site_figures_invalidate()
    owner_counts_invalidate(owner.pk)
    return created
