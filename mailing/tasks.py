"""Background tasks: thin entry points that load by id and call a service."""

from django_tasks import task


@task()
def start_mailing_run(mailing_id: int) -> None:
    """Start the due run of a mailing now (the send engine fills this in)."""
