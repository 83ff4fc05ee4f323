"""Client imports: the upload, the column mapping, queueing the run.

An upload is checked at its start (UTF-8, readable CSV, at least one
client) and stored as a `ClientImport`; the customer maps its columns and
picks lists; `client_import_start` queues the background task, which runs
`audience.importer.client_import_run` (a script may call that directly).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audience import tasks
from audience.importer import (
    FIELD_PREFIX,
    TARGETS,
    FileHead,
    client_import_run,
    file_head,
)
from audience.models import (
    ClientImport,
    CustomField,
    ImportMapping,
    MailingList,
    Subscription,
)
from mailing.models import grouped

__all__ = [
    "client_import_create",
    "client_import_head",
    "client_import_run",
    "client_import_size_check",
    "client_import_start",
    "import_max_bytes",
]

# The statuses an import may give its new subscriptions.
IMPORT_STATUSES = (Subscription.Status.SUBSCRIBED, Subscription.Status.UNCONFIRMED)

_HEADER_TARGETS = {
    "email": "email",
    "e-mail": "email",
    "email address": "email",
    "e-mail address": "email",
    "mail": "email",
    "full name": "full_name",
    "full_name": "full_name",
    "fullname": "full_name",
    "name": "full_name",
    "comment": "comment",
    "comments": "comment",
    "note": "comment",
    "notes": "comment",
}


def import_max_bytes() -> int:
    """The largest file a customer may import (the IMPORT_MAX_MB setting)."""
    return settings.IMPORT_MAX_MB * 1024 * 1024


def client_import_size_check(*, size: int) -> None:
    """Refuse (ValidationError) an import file of `size` bytes over the
    limit; the upload asks before reading the file."""
    if size > import_max_bytes():
        raise ValidationError(
            _("The file is %(size)s KiB; the limit is %(limit)s KiB.")
            % {
                "size": grouped(round(size / 1024)),
                "limit": grouped(import_max_bytes() // 1024),
            },
            code="too_big",
        )


def _guess(owner, head: FileHead) -> list[str]:
    """A target for each column: the one this customer chose last time for
    a column of that name, else one the name says (an address column is
    recognised from the first row without a header)."""
    saved = ImportMapping.objects.filter(owner=owner).values_list("columns", flat=True)
    remembered = saved[0] if saved else {}
    keys = set(CustomField.objects.filter(owner=owner).values_list("key", flat=True))
    targets = []
    for index, name in enumerate(head.names):
        name = name.strip().lower() if head.header else ""
        target = remembered.get(name, "") if name else ""
        if name and name not in remembered:
            target = _HEADER_TARGETS.get(name, "")
            if not target and name in keys:
                target = FIELD_PREFIX + name
        if not name and head.rows and index < len(head.rows[0]):
            target = "email" if "@" in head.rows[0][index] else ""
        targets.append(target if target not in targets else "")
    return targets


@transaction.atomic
def client_import_create(*, owner, file, name: str = "") -> ClientImport:
    """Store an uploaded CSV file (a file object) as a new import of
    `owner`, with a mapping guessed from its header and the customer's last
    import. The file is not read whole.

    Raises ValidationError: too big, not UTF-8, not readable as CSV at its
    start, or no client in it; nothing is stored then.
    """
    size = getattr(file, "size", None)
    if size is not None:
        client_import_size_check(size=size)
    file.seek(0)
    head = file_head(file)
    file.seek(0)
    job = ClientImport(
        owner=owner,
        file_name=(name or getattr(file, "name", "") or "import.csv")[-255:],
        mapping={"delimiter": head.delimiter, "header": head.header},
    )
    job.mapping["columns"] = _guess(owner, head)
    job.file.save("import.csv", file, save=False)
    job.save()
    return job


def client_import_head(*, client_import: ClientImport) -> FileHead:
    """The header and first rows of an import's stored file."""
    with client_import.file.storage.open(client_import.file.name, "rb") as binary:
        return file_head(binary)


def _check_columns(owner, columns: list[str]) -> None:
    keys = set(CustomField.objects.filter(owner=owner).values_list("key", flat=True))
    chosen = [target for target in columns if target]
    if "email" not in chosen:
        raise ValidationError(
            _("Map one column to the e-mail address."), code="no_email"
        )
    if len(chosen) != len(set(chosen)):
        raise ValidationError(
            _("Each field can take one column only."), code="repeated"
        )
    for target in chosen:
        key = target.removeprefix(FIELD_PREFIX)
        if target not in TARGETS and (target == key or key not in keys):
            raise ValidationError(
                _("There is no field “%(key)s”.") % {"key": key}, code="field"
            )


def _remember(owner, head: FileHead, columns: list[str]) -> None:
    if not head.header:
        return
    remembered = dict(
        zip(
            (name.strip().lower() for name in head.names),
            columns,
            strict=False,
        )
    )
    ImportMapping.objects.update_or_create(
        owner=owner, defaults={"columns": remembered}
    )


@transaction.atomic
def client_import_start(
    *,
    client_import: ClientImport,
    columns: list[str],
    list_ids=(),
    subscription_status: str = Subscription.Status.SUBSCRIBED,
) -> ClientImport:
    """Set an uploaded import's mapping (one target per column: "email",
    "full_name", "comment", "field:<key>" or "" to ignore it), its lists and
    the status of their new subscriptions, remember the mapping for the
    customer's next import, and queue the run (on commit).

    Raises ValidationError: no column for the address, a target twice, an
    unknown field, a list of someone else, a status an import cannot give,
    or an import already started.
    """
    job = ClientImport.objects.select_for_update().get(pk=client_import.pk)
    if job.status != ClientImport.Status.NEW:
        raise ValidationError(_("This import has already started."), code="started")
    owner = job.owner
    head = client_import_head(client_import=job)
    columns = list(columns)[: len(head.names)]
    columns += [""] * (len(head.names) - len(columns))
    _check_columns(owner, columns)
    if subscription_status not in IMPORT_STATUSES:
        raise ValidationError(_("Choose a status for the new subscriptions."))
    list_ids = sorted({int(pk) for pk in list_ids})
    if MailingList.objects.filter(owner=owner, pk__in=list_ids).count() != len(
        list_ids
    ):
        raise ValidationError(_("Choose among your own lists."), code="lists")
    job.mapping = {**job.mapping, "columns": columns}
    job.list_ids = list_ids
    job.subscription_status = subscription_status
    job.status = ClientImport.Status.QUEUED
    job.save(update_fields=["mapping", "list_ids", "subscription_status", "status"])
    _remember(owner, head, columns)
    transaction.on_commit(lambda: tasks.run_client_import.enqueue(import_id=job.pk))
    return job
