"""Writes of the mailing domain: clients, messages, mailings, moderation.

Every service takes keyword-only arguments, runs in a transaction and
validates what it is given (a form in front of it is a convenience, not the
only guard). Background work is queued with `transaction.on_commit`, so a
task never sees a row that was rolled back, and no request talks to SMTP.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from mailing.addresses import address_is_valid, address_normalize
from mailing.counts import owner_counts_invalidate
from mailing.csvfiles import csv_unescape_cell
from mailing.figures import site_figures_invalidate
from mailing.models import (
    Client,
    Mailing,
    Message,
    ModerationEvent,
    Suppression,
    grouped,
    normalize_email,
)
from mailing.sanitize import sanitize_html
from mailing.selectors import suppression_reasons

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 10_000
# The csv module's own limit per field (128 KiB); a longer field is refused.
MAX_IMPORT_FIELD = csv.field_size_limit()
_EMAIL_HEADERS = {"email", "e-mail", "email address", "e-mail address", "mail"}
_NAME_HEADERS = {"full name", "full_name", "fullname", "name"}
_COMMENT_HEADERS = {"comment", "comments", "note", "notes"}

# Said by the forms in front of these services too.
CLIENT_EXISTS = gettext_lazy("You already have a client with this address.")
NO_CLIENTS_YET = gettext_lazy("You have no clients yet; add some first.")
CHOOSE_CLIENTS = gettext_lazy("Choose at least one client, or “all my clients”.")


def file_too_big_error(size: int) -> str:
    """The error for an import file of `size` bytes, over MAX_IMPORT_BYTES."""
    return _("The file is %(size)s KiB; the limit is %(limit)s KiB.") % {
        "size": grouped(round(size / 1024)),
        "limit": grouped(MAX_IMPORT_BYTES // 1024),
    }


# Clients ------------------------------------------------------------------


@transaction.atomic
def client_create(*, owner: User, email: str, full_name: str = "", comment: str = ""):
    """Add a client to `owner`'s address book; raises ValidationError for an
    invalid address or one the owner already has."""
    client = Client(owner=owner, email=email, full_name=full_name, comment=comment)
    _client_validate(client)
    client.save()
    return client


@transaction.atomic
def client_update(*, client: Client, email: str, full_name: str, comment: str):
    """Change a client's address, name and comment; raises ValidationError."""
    client.email, client.full_name, client.comment = email, full_name, comment
    _client_validate(client)
    client.save()
    return client


@transaction.atomic
def client_delete(*, client: Client) -> None:
    """Remove a client; past deliveries keep the address they were sent to."""
    client.delete()


def _client_validate(client: Client) -> None:
    client.full_clean(exclude=["owner"], validate_unique=False)
    taken = Client.objects.filter(owner_id=client.owner_id, email=client.email)
    if client.pk:
        taken = taken.exclude(pk=client.pk)
    if taken.exists():
        raise ValidationError({"email": CLIENT_EXISTS})


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
    if len(content) > MAX_IMPORT_BYTES:
        raise ValidationError(file_too_big_error(len(content)))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is not UTF-8 text; save it as CSV UTF-8.")
        ) from None
    # Spreadsheets export with commas, semicolons (some locales) or tabs:
    # the first line decides.
    first = text.lstrip().split("\n", 1)[0]
    delimiter = max(",;\t", key=lambda c: (first.count(c), c == ","))
    records = _read_records(text, delimiter)
    preview = ImportPreview()
    columns = {"email": 0, "full_name": 1, "comment": 2}
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

        def cell(name, record=record):
            index = columns.get(name)
            if index is None or index >= len(record):
                return ""
            return csv_unescape_cell(record[index].strip())

        raw_email, full_name, comment = (
            cell("email"),
            cell("full_name"),
            cell("comment"),
        )
        if not raw_email:
            preview.errors.append((line, _("the e-mail address is missing")))
            continue
        if any("\x00" in value for value in record):
            preview.errors.append((line, _("it contains a null character")))
            continue
        try:
            email = address_normalize(raw_email)
        except ValidationError:
            preview.errors.append(
                (
                    line,
                    _("“%(email)s” is not a valid e-mail address")
                    % {"email": raw_email[:100]},
                )
            )
            continue
        if len(full_name) > 200:
            preview.errors.append(
                (line, _("the full name is longer than 200 characters"))
            )
            continue
        if email in seen:
            preview.duplicates.append(
                (
                    line,
                    _("%(email)s repeats row %(row)s")
                    % {"email": email, "row": seen[email]},
                )
            )
            continue
        seen[email] = line
        if email in existing:
            preview.duplicates.append(
                (
                    line,
                    _("%(email)s is already one of your clients") % {"email": email},
                )
            )
            continue
        preview.rows.append(ImportRow(line, email, full_name, comment))
    reasons = suppression_reasons(owner=owner, emails=[r.email for r in preview.rows])
    for row in preview.rows:
        row.suppressed = reasons.get(row.email, "")
    return preview


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


# Messages -----------------------------------------------------------------


@transaction.atomic
def message_create(
    *, owner: User, subject: str, body: str, html_body: str = ""
) -> Message:
    """Save a new message; raises ValidationError (subject on several lines,
    body over MAX_BODY_LENGTH). The HTML part is stored sanitised
    (mailing.sanitize) and `html_removed` says what was taken out."""
    message = Message(owner=owner, subject=subject, body=body, html_body=html_body)
    _message_save(message)
    return message


@transaction.atomic
def message_update(
    *, message: Message, subject: str, body: str, html_body: str = ""
) -> Message:
    """Change a message; later runs send the new text. Raises ValidationError."""
    message.subject, message.body, message.html_body = subject, body, html_body
    _message_save(message)
    return message


def _message_save(message: Message) -> None:
    # The limits apply to what the customer wrote; the sanitiser only
    # shortens it.
    message.full_clean()
    clean = sanitize_html(message.html_body)
    message.html_body, message.html_removed = clean.html, clean.removed_text
    message.save()


@transaction.atomic
def message_delete(*, message: Message) -> None:
    """Delete a message; refused (ValidationError) while a mailing uses it."""
    if message.mailings.exists():
        raise ValidationError(
            _("This message is used by a mailing; delete the mailing first.")
        )
    message.delete()


# Mailings -----------------------------------------------------------------


def _resolve_clients(*, owner: User, clients, all_clients: bool) -> list[Client] | None:
    """The chosen clients, or None for all of the owner's (not read here:
    an address book may hold a million)."""
    if all_clients:
        if not Client.objects.filter(owner=owner).exists():
            raise ValidationError({"clients": NO_CLIENTS_YET})
        return None
    chosen = list(clients or [])
    if not chosen:
        raise ValidationError({"clients": CHOOSE_CLIENTS})
    if any(client.owner_id != owner.pk for client in chosen):
        raise ValidationError(
            {"clients": _("A chosen client belongs to another user.")}
        )
    return chosen


def _is_due(mailing: Mailing, now: datetime) -> bool:
    return (
        mailing.is_active
        and not mailing.is_paused
        and mailing.owner.is_active
        and mailing.status != Mailing.Status.FINISHED
        and mailing.next_run_at is not None
        and mailing.next_run_at <= now
    )


def _enqueue_run(mailing: Mailing, *, send_now: bool = False) -> None:
    from mailing.tasks import start_mailing_run

    pk = mailing.pk
    transaction.on_commit(
        lambda: start_mailing_run.enqueue(mailing_id=pk, send_now=send_now)
    )


def _plan(mailing: Mailing, *, now: datetime) -> None:
    from mailing.scheduling import next_run_at_for

    mailing.next_run_at = next_run_at_for(mailing, now=now)
    if mailing.next_run_at is not None and mailing.status == Mailing.Status.FINISHED:
        # Extended past its old end: it has occurrences left again.
        has_runs = mailing.pk and mailing.runs.exists()
        mailing.status = Mailing.Status.RUNNING if has_runs else Mailing.Status.CREATED


def _set_all_clients(mailing: Mailing) -> None:
    """Every client of the owner becomes a recipient, in one INSERT ...
    SELECT rather than a million objects through Python; the caches that
    the m2m signals would have dropped are dropped here."""
    through = Mailing.clients.through
    through.objects.filter(mailing=mailing).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {through._meta.db_table} (mailing_id, client_id) "
            f"SELECT %s, id FROM {Client._meta.db_table} WHERE owner_id = %s",
            [mailing.pk, mailing.owner_id],
        )
    site_figures_invalidate()
    owner_counts_invalidate(mailing.owner_id)


def _save_and_plan(mailing: Mailing, *, clients, all_clients, now) -> Mailing:
    """Validate, plan the next occurrence, save with its clients and queue a
    run on commit when one is due now."""
    mailing.full_clean(exclude=["next_run_at"])
    if mailing.end_at <= now:
        raise ValidationError(
            {
                "end_at": _(
                    "The whole window is in the past, so nothing would be sent; "
                    "choose an end in the future."
                )
            }
        )
    chosen = _resolve_clients(
        owner=mailing.owner, clients=clients, all_clients=all_clients
    )
    _plan(mailing, now=now)
    mailing.save()
    if chosen is None:
        _set_all_clients(mailing)
    else:
        mailing.clients.set(chosen)
    if _is_due(mailing, now):
        _enqueue_run(mailing)
    return mailing


_UNCHANGED = object()


def _choose_sender(mailing: Mailing, sender) -> None:
    """A newly chosen sender must be on a verified domain; the one a mailing
    already has may stay while its domain is re-verified (until then its
    mail goes from the platform's domain)."""
    if sender is _UNCHANGED:
        return
    # The stored one: a ModelForm has already put the new one on `mailing`.
    stored = Mailing.objects.filter(pk=mailing.pk).values_list("sender_id", flat=True)
    previous = stored.first() if mailing.pk else None
    changed = (sender.pk if sender else None) != previous
    if changed and sender is not None and not sender.is_usable:
        raise ValidationError(
            {"sender": _("This sender's domain is not verified; choose another.")}
        )
    mailing.sender = sender


@transaction.atomic
def mailing_create(
    *,
    owner: User,
    message: Message,
    start_at: datetime,
    end_at: datetime,
    periodicity: str = Mailing.Periodicity.ONCE,
    clients=(),
    all_clients: bool = False,
    sender=None,
    now: datetime | None = None,
) -> Mailing:
    """Create a mailing and plan its first occurrence.

    When the window already holds now, its first run is queued on commit.
    Raises ValidationError: end before start, a window wholly in the past,
    no clients, a message, client or sender of another user, a sender on a
    domain that is not verified.
    """
    now = now or timezone.now()
    mailing = Mailing(
        owner=owner,
        message=message,
        start_at=start_at,
        end_at=end_at,
        periodicity=periodicity,
    )
    _choose_sender(mailing, sender)
    return _save_and_plan(mailing, clients=clients, all_clients=all_clients, now=now)


@transaction.atomic
def mailing_update(
    *,
    mailing: Mailing,
    message: Message,
    start_at: datetime,
    end_at: datetime,
    periodicity: str,
    clients=(),
    all_clients: bool = False,
    sender=_UNCHANGED,
    now: datetime | None = None,
) -> Mailing:
    """Change a mailing and plan its next occurrence again (runs already
    made stay). Queues a run when one is now due. Raises ValidationError."""
    now = now or timezone.now()
    _choose_sender(mailing, sender)
    mailing.message, mailing.periodicity = message, periodicity
    mailing.start_at, mailing.end_at = start_at, end_at
    return _save_and_plan(mailing, clients=clients, all_clients=all_clients, now=now)


@transaction.atomic
def mailing_delete(*, mailing: Mailing) -> None:
    """Delete a mailing with its runs and delivery log."""
    mailing.delete()


def _refuse_if_blocked(mailing: Mailing) -> None:
    if not mailing.is_active:
        raise ValidationError(
            _("A manager has disabled this mailing; it cannot send until re-enabled.")
        )


@transaction.atomic
def mailing_send_now(*, mailing: Mailing) -> None:
    """Queue a run now, even if no occurrence is due (the task sends it).

    Raises ValidationError when the mailing is disabled, paused or finished.
    """
    _refuse_if_blocked(mailing)
    if mailing.is_paused:
        raise ValidationError(_("The mailing is paused; resume it first."))
    if timezone.now() >= mailing.end_at:
        raise ValidationError(_("The mailing has ended; change its end to send again."))
    _enqueue_run(mailing, send_now=True)


@transaction.atomic
def mailing_pause(*, mailing: Mailing) -> Mailing:
    """The owner's pause: no new run starts and open runs stop sending."""
    mailing.is_paused = True
    mailing.save(update_fields=["is_paused", "updated_at"])
    return mailing


@transaction.atomic
def mailing_resume(*, mailing: Mailing, now: datetime | None = None) -> Mailing:
    """Clear the pause; queue a run when an occurrence is due."""
    now = now or timezone.now()
    mailing.is_paused = False
    mailing.save(update_fields=["is_paused", "updated_at"])
    if _is_due(mailing, now):
        _enqueue_run(mailing)
    return mailing


# Suppressions ------------------------------------------------------------

MAX_SUPPRESSION_ADD = 10_000
_ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")


def split_addresses(text: str) -> list[str]:
    """The addresses in a pasted text (one per line, or separated by commas,
    semicolons or spaces), normalised, each once, in their order."""
    found = (normalize_email(part) for part in _ADDRESS_SEPARATORS.split(text or ""))
    return list(dict.fromkeys(address for address in found if address))


@dataclass
class SuppressionAdded:
    """What `suppression_add` did: the addresses it added, and those that
    were on the list already (left as they were)."""

    added: list[str]
    already: list[str]


@transaction.atomic
def suppression_add(
    *, owner: User, emails: list[str], source: str = "added by hand"
) -> SuppressionAdded:
    """Put addresses on `owner`'s suppression list by hand (reason `manual`).

    All or nothing: an invalid address raises ValidationError naming it and
    writes nothing. An address already listed keeps its entry (and reason).
    """
    emails = list(dict.fromkeys(normalize_email(e) for e in emails if e.strip()))
    if not emails:
        raise ValidationError({"emails": _("Enter at least one e-mail address.")})
    if len(emails) > MAX_SUPPRESSION_ADD:
        raise ValidationError(
            {
                "emails": _("That is %(count)s addresses; the limit is %(limit)s.")
                % {"count": grouped(len(emails)), "limit": grouped(MAX_SUPPRESSION_ADD)}
            }
        )
    invalid = [email for email in emails if not address_is_valid(email)]
    if invalid:
        raise ValidationError(
            {
                "emails": _("Not a valid e-mail address: %(addresses)s.")
                % {"addresses": ", ".join(invalid[:20])}
            }
        )
    listed = set(suppression_reasons(owner=owner, emails=emails))
    new = [email for email in emails if email not in listed]
    Suppression.objects.bulk_create(
        [
            Suppression(
                owner=owner,
                email=email,
                reason=Suppression.Reason.MANUAL,
                source=source,
            )
            for email in new
        ],
        # Listed meanwhile by an unsubscribe or another tab: that entry stays.
        ignore_conflicts=True,
    )
    return SuppressionAdded(added=new, already=[e for e in emails if e in listed])


@transaction.atomic
def suppression_record(
    *, owner_id: int, email: str, reason: str, source: str, client_id=None
) -> Suppression:
    """Suppress an address of one owner for `reason` (idempotent).

    An existing entry the customer could lift (added by hand, hard bounce)
    becomes the recipient's own when the recipient unsubscribes or
    complains, so the customer can no longer lift it; an entry the recipient
    made stays as it is. The entry remembers the client row it came from.
    Raises ValueError for a reason that is not one of Suppression.Reason.
    """
    if reason not in Suppression.Reason.values:
        raise ValueError(f"Unknown suppression reason {reason!r}.")
    entry, created = Suppression.objects.get_or_create(
        owner_id=owner_id,
        email=normalize_email(email),
        defaults={"reason": reason, "source": source[:255], "client_id": client_id},
    )
    if created:
        return entry
    entry = Suppression.objects.select_for_update().get(pk=entry.pk)
    changed = []
    if entry.removable and reason in Suppression.RECIPIENT_REASONS:
        entry.reason, entry.source = reason, source[:255]
        changed += ["reason", "source"]
    if client_id and entry.client_id is None:
        entry.client_id = client_id
        changed.append("client_id")
    if changed:
        entry.save(update_fields=changed)
    return entry


@transaction.atomic
def suppression_remove(*, suppression: Suppression) -> None:
    """Lift an entry the customer may lift (added by hand, hard bounce).

    Raises ValidationError for the recipient's own entries (unsubscribed,
    complaint): only the recipient decides those.
    """
    if not suppression.removable:
        raise ValidationError(
            _("%(email)s cannot be removed: the recipient asked for it (%(reason)s).")
            % {
                "email": suppression.email,
                "reason": suppression.get_reason_display().lower(),
            }
        )
    suppression.delete()


# Moderation ---------------------------------------------------------------


def _require(actor: User, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(f"{actor} lacks {perm}.")


@transaction.atomic
def mailing_disable(*, actor: User, mailing: Mailing, reason: str = "") -> Mailing:
    """A manager switches a mailing off: it sends nothing until re-enabled.
    Recorded as a ModerationEvent. Raises PermissionDenied."""
    _require(actor, "mailing.disable_mailing")
    mailing.is_active = False
    mailing.save(update_fields=["is_active", "updated_at"])
    ModerationEvent.objects.create(
        actor=actor,
        action=ModerationEvent.Action.DISABLE_MAILING,
        target_mailing=mailing,
        target_user=mailing.owner,
        reason=reason,
    )
    return mailing


@transaction.atomic
def mailing_enable(
    *, actor: User, mailing: Mailing, reason: str = "", now: datetime | None = None
) -> Mailing:
    """Switch a disabled mailing back on; queue its run if one is due.
    Recorded as a ModerationEvent. Raises PermissionDenied."""
    _require(actor, "mailing.disable_mailing")
    now = now or timezone.now()
    mailing.is_active = True
    mailing.save(update_fields=["is_active", "updated_at"])
    ModerationEvent.objects.create(
        actor=actor,
        action=ModerationEvent.Action.ENABLE_MAILING,
        target_mailing=mailing,
        target_user=mailing.owner,
        reason=reason,
    )
    if _is_due(mailing, now):
        _enqueue_run(mailing)
    return mailing


@transaction.atomic
def user_block(*, actor: User, user: User, reason: str = "") -> User:
    """Block a user: they cannot log in and their mailings stop sending (the
    engine sends nothing for an inactive owner). Recorded as a
    ModerationEvent. Raises PermissionDenied (no permission, oneself, or a
    superuser by a non-superuser)."""
    _require(actor, "accounts.block_user")
    if user.pk == actor.pk:
        raise PermissionDenied(_("You cannot block yourself."))
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied(_("Only a superuser can block a superuser."))
    user.is_active = False
    user.blocked_at = timezone.now()
    user.save(update_fields=["is_active", "blocked_at"])
    ModerationEvent.objects.create(
        actor=actor,
        action=ModerationEvent.Action.BLOCK_USER,
        target_user=user,
        reason=reason,
    )
    site_figures_invalidate()
    return user


@transaction.atomic
def user_unblock(*, actor: User, user: User, reason: str = "") -> User:
    """Let a blocked user log in again; their mailings resume at their next
    occurrence. Recorded as a ModerationEvent. Raises PermissionDenied."""
    _require(actor, "accounts.block_user")
    user.is_active = True
    user.blocked_at = None
    user.save(update_fields=["is_active", "blocked_at"])
    ModerationEvent.objects.create(
        actor=actor,
        action=ModerationEvent.Action.UNBLOCK_USER,
        target_user=user,
        reason=reason,
    )
    site_figures_invalidate()
    return user
