"""`compilemessages` that compiles only the project's own catalogues.

Django's command walks the whole tree looking for `locale` directories; here
that would include every package in the virtualenv.
"""

from django.core.management.commands import compilemessages

from accounts.management.commands.makemessages import PROJECT_IGNORE


class Command(compilemessages.Command):
    def handle(self, *args, **options):
        options["ignore_patterns"] = [
            *options["ignore_patterns"],
            *PROJECT_IGNORE,
            ".*",
        ]
        return super().handle(*args, **options)
