"""Entry points that django-crontab runs (settings.CRONJOBS)."""

from deliverability.reputation import reputation_check
from deliverability.services import sending_domains_recheck


def recheck_sending_domains():
    """Daily: re-check verified sending domains' DNS records."""
    sending_domains_recheck()


def check_reputation():
    """Every few minutes: pause customers whose bounce or complaint rate is
    too high (deliverability.reputation)."""
    reputation_check()
