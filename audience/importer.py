"""Running a client import: the stored CSV file, streamed, into the owner's
address book and lists.

The file is read twice, a row at a time and never whole: first to check it
as a whole (UTF-8, readable CSV, no field over the csv module's limit, at
least one client) and count its rows, so that a bad file fails before
anything is written; then to upsert its clients in chunks of `CHUNK_ROWS`,
each chunk its own transaction, with the progress counters updated after
each one. Rows refused one by one (no address, an invalid one, a value a
custom field does not take) go to the job's report, a CSV file with the row
number, the reason and the row's original cells.

On PostgreSQL a chunk is copied into a temporary table and upserted with one
`INSERT … SELECT … ON CONFLICT (owner, email) DO UPDATE`; elsewhere (SQLite)
through `bulk_create(update_conflicts=True)`.
"""

import csv
import io
import json
import logging
import queue
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audience.coercion import coerce_attributes
from audience.custom_fields import FieldSchema, rule_of
from audience.models import (
    COUNTED_STATUSES,
    ClientImport,
    CustomField,
    MailingList,
    Subscription,
)
from mailing.addresses import address_normalize
from mailing.counts import owner_counts_invalidate
from mailing.csvfiles import SafeCSVWriter, csv_unescape_cell
from mailing.figures import site_figures_invalidate
from mailing.models import Client, Suppression, grouped
from mailing.selectors import suppression_reasons

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000
# Writer threads on PostgreSQL: the database's share of an import is larger
# than this process's, so two connections write while one reads.
WRITERS = 2
# The csv module's own limit per field (128 KiB); a longer field is refused.
MAX_IMPORT_FIELD = csv.field_size_limit()
MAX_FULL_NAME = 200
HEAD_ROWS = 5
# What a column can be mapped to, besides "field:<custom field key>".
TARGETS = ("email", "full_name", "comment")
FIELD_PREFIX = "field:"


# Reading ---------------------------------------------------------------------


def _text(binary) -> io.TextIOWrapper:
    # newline="" as the csv module asks: quoted fields may hold line breaks.
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _open(job: ClientImport) -> io.TextIOWrapper:
    return _text(job.file.storage.open(job.file.name, "rb"))


def guess_delimiter(first_line: str) -> str:
    """Spreadsheets export with commas, semicolons (some locales) or tabs:
    the first line decides."""
    return max(",;\t", key=lambda c: (first_line.count(c), c == ","))


def _records(text, delimiter: str):
    """(row number, cells) of every row of `text` with something in it.

    Raises ValidationError naming the row when the file cannot be read."""
    reader = csv.reader(text, delimiter=delimiter)
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            if any(cell.strip() for cell in record):
                yield number, record
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is not UTF-8 text; save it as CSV UTF-8."), code="encoding"
        ) from None
    except csv.Error as error:
        if "field limit" in str(error):
            reason = _(
                "a field is longer than %(kib)s KiB; is this the right file?"
            ) % {"kib": grouped(MAX_IMPORT_FIELD // 1024)}
        else:
            reason = _("the CSV cannot be read (%(error)s)") % {"error": error}
        raise ValidationError(
            _("Row %(row)s (line %(line)s): %(reason)s")
            % {"row": number + 1, "line": reader.line_num, "reason": reason},
            code="csv",
        ) from None


@dataclass
class FileHead:
    """The start of an uploaded file: its delimiter, whether the first row
    is a header, the column names and a few rows to show beside them."""

    delimiter: str
    header: bool
    names: list[str]
    rows: list[list[str]] = field(default_factory=list)


def file_head(binary) -> FileHead:
    """Read the first rows of an uploaded CSV file (a binary file object).

    The first row is a header when none of its cells holds an address.
    Raises ValidationError when the start of the file cannot be read or
    holds no client."""
    text = _text(binary)
    try:
        # The delimiter is guessed from the start of the first line; a file
        # without line breaks is not read whole for it.
        first = text.readline(MAX_IMPORT_FIELD)
        text.seek(0)
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is not UTF-8 text; save it as CSV UTF-8."), code="encoding"
        ) from None
    delimiter = guess_delimiter(first)
    records = []
    for _number, record in _records(text, delimiter):
        records.append(record)
        if len(records) > HEAD_ROWS:
            break
    text.detach()
    header = bool(records) and not any("@" in cell for cell in records[0])
    rows = records[1:] if header else records
    if not rows:
        raise ValidationError(_("The file has no clients in it."), code="empty")
    width = max(len(record) for record in records)
    names = [
        (records[0][i].strip() if header and i < len(records[0]) else "")
        or _("Column %(n)s") % {"n": i + 1}
        for i in range(width)
    ]
    return FileHead(delimiter, header, names, rows[:HEAD_ROWS])


def _scan(job: ClientImport) -> int:
    """Read the whole file once: the number of its data rows. Raises
    ValidationError for a file that cannot be read as a whole."""
    count = 0
    with _open(job) as text:
        for _record in _records(text, job.mapping["delimiter"]):
            count += 1
    if job.mapping.get("header"):
        count -= 1
    if count <= 0:
        raise ValidationError(_("The file has no clients in it."), code="empty")
    return count


# One chunk -------------------------------------------------------------------


@dataclass
class _Columns:
    """Where each target is in a row: indexes of the mapped columns."""

    email: int
    full_name: int | None
    comment: int | None
    fields: dict[str, int]

    @classmethod
    def of(cls, targets: list[str]) -> "_Columns":
        index = {target: i for i, target in enumerate(targets) if target}
        return cls(
            email=index["email"],
            full_name=index.get("full_name"),
            comment=index.get("comment"),
            fields={
                target.removeprefix(FIELD_PREFIX): i
                for target, i in index.items()
                if target.startswith(FIELD_PREFIX)
            },
        )


def _cell(record: list[str], index: int | None) -> str:
    if index is None or index >= len(record):
        return ""
    return csv_unescape_cell(record[index].strip())


@dataclass
class _Row:
    email: str
    full_name: str
    comment: str
    attributes: dict


def _merged(earlier: _Row | None, later: _Row) -> _Row:
    """A repeated address: the later row's values win, as in a later
    import, and its empty cells keep the earlier row's."""
    if earlier is None:
        return later
    return _Row(
        later.email,
        later.full_name or earlier.full_name,
        later.comment or earlier.comment,
        {**earlier.attributes, **later.attributes},
    )


@dataclass
class _Chunk:
    processed: int
    rejected: int = 0
    rows: dict[str, _Row] = field(default_factory=dict)


class _Job:
    """The state of one running import: its columns, custom fields, report
    and counters."""

    def __init__(self, job: ClientImport, report):
        self.job = job
        self.columns = _Columns.of(job.mapping["columns"])
        # Built once: coercing a row then makes no query and no object.
        self.fields = FieldSchema(
            rule_of(custom_field)
            for custom_field in CustomField.objects.filter(
                owner_id=job.owner_id, key__in=list(self.columns.fields)
            )
        )
        self.lists = list(
            MailingList.objects.filter(
                owner_id=job.owner_id, pk__in=job.list_ids
            ).values_list("pk", flat=True)
        )
        self.report = report
        self.counts = Counter()
        self.lock = threading.Lock()

    def parse(self, number: int, record: list[str]) -> _Row | None:
        """The row's client, or None when it is rejected (and reported)."""
        reason = self._refusal(record)
        if reason is None:
            email = _cell(record, self.columns.email)
            try:
                email = address_normalize(email)
            except ValidationError:
                reason = _("“%(email)s” is not a valid e-mail address") % {
                    "email": email[:100]
                }
        if reason is None:
            raw = {
                key: _cell(record, index) for key, index in self.columns.fields.items()
            }
            attributes, errors = coerce_attributes(self.fields, raw)
            reason = "; ".join(errors) or None
        if reason is not None:
            self.report.writerow([number, reason, *record])
            return None
        return _Row(
            email,
            _cell(record, self.columns.full_name),
            _cell(record, self.columns.comment),
            attributes,
        )

    def _refusal(self, record: list[str]) -> str | None:
        if any("\x00" in value for value in record):
            return _("it contains a null character")
        if not _cell(record, self.columns.email):
            return _("the e-mail address is missing")
        if len(_cell(record, self.columns.full_name)) > MAX_FULL_NAME:
            return _("the full name is longer than 200 characters")
        return None

    def parse_chunk(self, records: list[tuple[int, list[str]]]) -> "_Chunk":
        """The clients of a chunk of rows, its rejected rows reported."""
        chunk = _Chunk(processed=len(records))
        for number, record in records:
            row = self.parse(number, record)
            if row is None:
                chunk.rejected += 1
            else:
                chunk.rows[row.email] = _merged(chunk.rows.get(row.email), row)
        return chunk

    def write_chunk(self, chunk: "_Chunk") -> None:
        """Upsert the clients of one chunk and count it, in one transaction.

        The rows go in address order and the counters are added to, so
        that two writers never wait for each other in a circle."""
        counts = Counter(processed=chunk.processed, rejected=chunk.rejected)
        rows = sorted(chunk.rows.values(), key=lambda row: row.email)
        with transaction.atomic():
            if rows:
                counts.update(self._write(rows))
            ClientImport.objects.filter(pk=self.job.pk).update(
                **{name: F(name) + value for name, value in counts.items()}
            )
        with self.lock:
            self.counts.update(counts)

    def _write(self, rows: list[_Row]) -> Counter:
        upsert = (
            _upsert_postgresql if connection.vendor == "postgresql" else _upsert_generic
        )
        created, ids, suppressed = upsert(self, rows)
        if self.lists and ids:
            _subscribe(self, sorted(ids))
        return Counter(
            suppressed=suppressed, created=created, updated=len(ids) - created
        )


def _upsert_generic(job: _Job, rows: list[_Row]) -> tuple[int, list[int], int]:
    """(clients created, ids of all the clients written, suppressed rows)."""
    owner_id = job.job.owner_id
    suppressed = suppression_reasons(owner=owner_id, emails=[r.email for r in rows])
    rows = [row for row in rows if row.email not in suppressed]
    emails = [row.email for row in rows]
    existing = {
        email: (full_name, comment, attributes)
        for email, full_name, comment, attributes in Client.objects.filter(
            owner_id=owner_id, email__in=emails
        ).values_list("email", "full_name", "comment", "attributes")
    }
    clients = []
    for row in rows:
        full_name, comment, attributes = existing.get(row.email, ("", "", {}))
        clients.append(
            Client(
                owner_id=owner_id,
                email=row.email,
                # An empty cell leaves the stored value.
                full_name=row.full_name or full_name,
                comment=row.comment or comment,
                attributes={**attributes, **row.attributes},
            )
        )
    mapped = [
        n for n in ("full_name", "comment") if getattr(job.columns, n) is not None
    ]
    Client.objects.bulk_create(
        clients,
        update_conflicts=True,
        unique_fields=["owner", "email"],
        update_fields=[*mapped, "attributes", "updated_at"],
    )
    ids = list(
        Client.objects.filter(owner_id=owner_id, email__in=emails).values_list(
            "pk", flat=True
        )
    )
    return len(rows) - len(existing), ids, len(suppressed)


_TEMP_TABLE = "audience_import_rows"


def _upsert_postgresql(job: _Job, rows: list[_Row]) -> tuple[int, list[int], int]:
    """As _upsert_generic: the rows copied into a temporary table, the
    suppressed ones deleted there, the rest upserted in one statement."""
    table = Client._meta.db_table
    updates = [
        f"{name} = COALESCE(NULLIF(EXCLUDED.{name}, ''), {table}.{name})"
        for name in ("full_name", "comment")
        if getattr(job.columns, name) is not None
    ]
    updates.append(f"attributes = {table}.attributes || EXCLUDED.attributes")
    updates.append("updated_at = EXCLUDED.updated_at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_TEMP_TABLE} "
            "(email text, full_name text, comment text, attributes jsonb)"
        )
        # Emptied here, not on commit: a caller's transaction (a test's)
        # may hold several chunks.
        cursor.execute(f"TRUNCATE {_TEMP_TABLE}")
        with cursor.cursor.copy(
            f"COPY {_TEMP_TABLE} (email, full_name, comment, attributes) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(
                    (row.email, row.full_name, row.comment, json.dumps(row.attributes))
                )
        cursor.execute(
            f"DELETE FROM {_TEMP_TABLE} AS t USING {Suppression._meta.db_table} AS s "
            "WHERE s.owner_id = %s AND s.email = t.email",
            [job.job.owner_id],
        )
        suppressed = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {table} "
            "(owner_id, email, full_name, comment, attributes, created_at, "
            "updated_at) "
            f"SELECT %s, email, full_name, comment, attributes, %s, %s "
            f"FROM {_TEMP_TABLE} ORDER BY email "
            "ON CONFLICT (owner_id, email) DO UPDATE SET "
            + ", ".join(updates)
            + " RETURNING id, (xmax = 0)",
            [job.job.owner_id, timezone.now(), timezone.now()],
        )
        returned = cursor.fetchall()
    created = sum(1 for _id, inserted in returned if inserted)
    return created, [r[0] for r in returned], suppressed


def _subscribe(job: _Job, client_ids: list[int]) -> None:
    """Subscribe the chunk's clients to the chosen lists with the chosen
    status; existing memberships stay as they are (a client who left a list
    is not put back by an import). The lists' kept counts follow."""
    status = job.job.subscription_status
    if connection.vendor == "postgresql":
        added = _subscribe_postgresql(job, client_ids)
    else:
        added = _subscribe_generic(job, client_ids)
    counter = COUNTED_STATUSES.get(status)
    if counter:
        for list_id, count in added.items():
            if count:
                MailingList.objects.filter(pk=list_id).update(
                    **{counter: F(counter) + count}
                )


def _new_subscription(job: _Job, client_id: int, list_id: int, now) -> Subscription:
    status = job.job.subscription_status
    return Subscription(
        client_id=client_id,
        mailing_list_id=list_id,
        status=status,
        source=Subscription.Source.IMPORT,
        confirmed_at=now if status == Subscription.Status.SUBSCRIBED else None,
        created_at=now,
        updated_at=now,
    )


def _subscribe_generic(job: _Job, client_ids: list[int]) -> Counter:
    now = timezone.now()
    added = Counter()
    for list_id in job.lists:
        existing = set(
            Subscription.objects.filter(
                mailing_list_id=list_id, client_id__in=client_ids
            ).values_list("client_id", flat=True)
        )
        new = [pk for pk in client_ids if pk not in existing]
        Subscription.objects.bulk_create(
            [_new_subscription(job, pk, list_id, now) for pk in new]
        )
        added[list_id] = len(new)
    return added


def _subscribe_postgresql(job: _Job, client_ids: list[int]) -> Counter:
    now = timezone.now()
    status = job.job.subscription_status
    confirmed = now if status == Subscription.Status.SUBSCRIBED else None
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Subscription._meta.db_table} "
            "(client_id, mailing_list_id, status, source, confirmed_at, "
            "created_at, updated_at) "
            "SELECT c.id, l.id, %s, %s, %s, %s, %s "
            "FROM unnest(%s::bigint[]) AS c(id) "
            "CROSS JOIN unnest(%s::bigint[]) AS l(id) "
            "ORDER BY c.id, l.id "
            "ON CONFLICT (client_id, mailing_list_id) DO NOTHING "
            "RETURNING mailing_list_id",
            [
                status,
                Subscription.Source.IMPORT,
                confirmed,
                now,
                now,
                client_ids,
                job.lists,
            ],
        )
        return Counter(list_id for (list_id,) in cursor.fetchall())


# The run -----------------------------------------------------------------------


def _chunks(records, size: int):
    chunk = []
    for item in records:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _fail(job: ClientImport, error: str) -> ClientImport:
    job.status = ClientImport.Status.FAILED
    job.error = error
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    return job


def _write_in_turn(state: _Job, chunks) -> None:
    for records in chunks:
        state.write_chunk(state.parse_chunk(records))


def _writer(state: _Job, waiting: queue.Queue, failures: list) -> None:
    """A writer thread: write the chunks handed to it until told to stop
    (None); after a failure, only take them off the queue."""
    try:
        while (chunk := waiting.get()) is not None:
            if not failures:
                state.write_chunk(chunk)
    except BaseException as error:  # handed to the reading thread
        failures.append(error)
        while waiting.get() is not None:
            pass
    finally:
        connection.close()


def _write_alongside(state: _Job, chunks) -> None:
    """Parse the next chunks while `WRITERS` threads (a database connection
    each) upsert the previous ones: the database's work and this process's
    run on several cores at once. A few chunks wait at most."""
    waiting = queue.Queue(maxsize=WRITERS)
    failures = []
    threads = [
        threading.Thread(
            target=_writer,
            args=(state, waiting, failures),
            name=f"client-import-writer-{n}",
        )
        for n in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    try:
        for records in chunks:
            if failures:
                break
            waiting.put(state.parse_chunk(records))
    finally:
        for _thread in threads:
            waiting.put(None)
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]


def _import_rows(job: ClientImport, report_file) -> Counter:
    state = _Job(job, SafeCSVWriter(report_file))
    state.report.writerow([_("row"), _("reason"), _("cells")])
    # A caller's open transaction (a test's) is not seen by another
    # connection: then the chunks are written in turn, on this one.
    alongside = connection.vendor == "postgresql" and not connection.in_atomic_block
    with _open(job) as text:
        records = _records(text, job.mapping["delimiter"])
        if job.mapping.get("header"):
            next(records, None)
        chunks = _chunks(records, CHUNK_ROWS)
        (_write_alongside if alongside else _write_in_turn)(state, chunks)
    return state.counts


def client_import_run(import_id: int) -> ClientImport:
    """Run a queued import now, in this process (the background task calls
    it; a script may too). Returns the job, done or failed.

    A file that cannot be read as a whole fails the job before anything is
    written (`error` says why). Otherwise the clients are added or updated
    by address, chunk by chunk; rejected rows go to the job's `report`.
    A job already running or run is left alone; a new one (not mapped by
    the customer) runs with the mapping guessed at its upload.
    """
    claimed = ClientImport.objects.filter(
        pk=import_id,
        status__in=[ClientImport.Status.NEW, ClientImport.Status.QUEUED],
    ).update(status=ClientImport.Status.RUNNING, started_at=timezone.now())
    job = ClientImport.objects.select_related("owner").get(pk=import_id)
    if not claimed:
        return job
    if "email" not in job.mapping.get("columns", []):
        return _fail(job, _("Map one column to the e-mail address."))
    try:
        job.total = _scan(job)
    except ValidationError as error:
        return _fail(job, " ".join(error.messages))
    job.save(update_fields=["total"])
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as report:
        try:
            counts = _import_rows(job, report)
        except ValidationError as error:
            # The file changed between the two readings: what was read stays.
            return _fail(job, " ".join(error.messages))
        except Exception:
            logger.exception("Client import %s failed", import_id)
            _fail(job, _("The import stopped on an unexpected error."))
            raise
        if counts["rejected"]:
            report.seek(0)
            job.report.save(f"import-{job.pk}-rejected.csv", File(report), save=False)
    site_figures_invalidate()
    owner_counts_invalidate(job.owner_id)
    for name, value in counts.items():
        setattr(job, name, value)
    job.status = ClientImport.Status.DONE
    job.finished_at = timezone.now()
    job.save()
    return job
