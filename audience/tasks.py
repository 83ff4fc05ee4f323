"""Background tasks: thin entry points that load by id and call one function."""

from django_tasks import task

from audience.confirmation import (
    subscription_confirmation_send,
    subscription_welcome_send,
)
from audience.importer import client_import_run


@task()
def send_subscription_confirmation(*, subscription_id: int) -> bool:
    """Mail the confirmation link of one sign-up."""
    return subscription_confirmation_send(subscription_id=subscription_id)


@task()
def send_subscription_welcome(*, subscription_id: int) -> bool:
    """Mail a new subscriber the list's welcome message."""
    return subscription_welcome_send(subscription_id=subscription_id)


@task()
def run_client_import(*, import_id: int) -> str:
    """Run a client import (queued when the customer starts it). Returns
    its outcome ("done: 5000 added, ..."), kept as the task's result."""
    job = client_import_run(import_id)
    return (
        f"{job.status}: {job.created} added, {job.updated} updated, "
        f"{job.suppressed} suppressed, {job.rejected} rejected"
    )
