"""Entry points that django-crontab runs (settings.CRONJOBS)."""

from deliverability.services import sending_domains_recheck


def recheck_sending_domains():
    """Daily: re-check verified sending domains' DNS records."""
    sending_domains_recheck()
