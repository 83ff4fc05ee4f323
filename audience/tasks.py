"""Background tasks: thin entry points that call a service."""

from django_tasks import task

from audience.confirmation import subscription_confirmation_send


@task()
def send_subscription_confirmation(*, subscription_id: int) -> bool:
    """Mail the confirmation link of one sign-up."""
    return subscription_confirmation_send(subscription_id=subscription_id)
