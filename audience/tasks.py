"""Background tasks: thin entry points that send one mail each."""

from django_tasks import task

from audience.confirmation import (
    subscription_confirmation_send,
    subscription_welcome_send,
)


@task()
def send_subscription_confirmation(*, subscription_id: int) -> bool:
    """Mail the confirmation link of one sign-up."""
    return subscription_confirmation_send(subscription_id=subscription_id)


@task()
def send_subscription_welcome(*, subscription_id: int) -> bool:
    """Mail a new subscriber the list's welcome message."""
    return subscription_welcome_send(subscription_id=subscription_id)
