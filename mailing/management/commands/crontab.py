"""django-crontab's `crontab` command, refusing clearly when cron is missing.

django-crontab itself exits 0 and installs nothing when the `crontab`
program is absent, which looks like success; this says what happened.
"""

import shutil

from django.core.management.base import CommandError
from django_crontab.management.commands.crontab import Command as CrontabCommand


class Command(CrontabCommand):
    def handle(self, *args, **options):
        if options["subcommand"] in {"add", "show", "remove"} and not shutil.which(
            "crontab"
        ):
            raise CommandError(
                "The `crontab` program is not installed, so no job can be "
                "installed and no mailing would be sent on schedule. Install "
                "cron, or run `manage.py send_mailings --watch 30` as a "
                "long-running process instead (make run does)."
            )
        return super().handle(*args, **options)
