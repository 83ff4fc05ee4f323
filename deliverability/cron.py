"""Entry points that django-crontab runs (settings.CRONJOBS)."""


def recheck_sending_domains():
    """Daily: re-check verified sending domains' DNS records."""
    from deliverability.services import sending_domains_recheck

    sending_domains_recheck()
