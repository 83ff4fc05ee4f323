"""Background tasks: thin entry points that call a service."""

from django_tasks import task

from deliverability.services import sending_domains_recheck


@task()
def recheck_sending_domains() -> str:
    """The daily DNS re-check of verified sending domains."""
    counts = sending_domains_recheck()
    return "{checked} checked, {verified} still verified, {lost} lost".format(**counts)
