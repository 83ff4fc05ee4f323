"""The entry point that django-crontab runs every minute.

`manage.py crontab add` installs it. django-crontab needs the `crontab`
program and says nothing when it is missing, so our own `crontab` command
(it wraps django-crontab's) refuses with a clear message then;
`send_mailings --watch 30` is the alternative for machines without cron.
"""

from mailing.engine import services


def send_due_mailings():
    """Plan and deliver everything due (the same service as the command)."""
    services.send_due_mailings()
