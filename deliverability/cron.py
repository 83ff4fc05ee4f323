"""Entry points that django-crontab runs (settings.CRONJOBS)."""

from django.conf import settings

from deliverability.mailbox import fetch_bounces as mailbox_fetch
from deliverability.reputation import reputation_check
from deliverability.services import sending_domains_recheck


def recheck_sending_domains():
    """Daily: re-check verified sending domains' DNS records."""
    sending_domains_recheck()


def check_reputation():
    """Every few minutes: pause customers whose bounce or complaint rate is
    too high (deliverability.reputation)."""
    reputation_check()


def fetch_bounces():
    """Every few minutes when BOUNCE_MAILBOX_URL is set: read the mailbox."""
    if settings.BOUNCE_MAILBOX_URL:
        mailbox_fetch(settings.BOUNCE_MAILBOX_URL)
