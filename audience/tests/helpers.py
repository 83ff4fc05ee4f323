"""Importing a CSV text in a test, the way the background task does."""

from django.core.files.base import ContentFile

from audience import imports
from audience.models import ClientImport


def import_csv(owner, content, *, columns=None, list_ids=(), status="subscribed"):
    """Upload `content` (bytes or text) for `owner`, start it with `columns`
    (or the guessed mapping) and run it in this process. Returns the job.
    Raises ValidationError as the upload or the start would."""
    data = content.encode() if isinstance(content, str) else content
    job = imports.client_import_create(owner=owner, file=ContentFile(data, "c.csv"))
    job = imports.client_import_start(
        client_import=job,
        columns=job.mapping["columns"] if columns is None else columns,
        list_ids=list_ids,
        subscription_status=status,
    )
    imports.client_import_run(job.pk)
    return ClientImport.objects.get(pk=job.pk)
