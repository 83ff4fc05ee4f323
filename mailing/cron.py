"""The entry point that django-crontab runs every minute.

`manage.py crontab add` installs it. django-crontab needs the `crontab`
program and says nothing when it is missing, so our own `crontab` command
(it wraps django-crontab's) refuses with a clear message then;
`send_mailings --watch 30` is the alternative for machines without cron.
"""


def send_due_mailings():
    """Plan and deliver everything due (the same service as the command)."""
    from mailing.engine.services import send_due_mailings as send

    send()
