"""`makemessages` that knows what to skip in this project.

`manage.py makemessages -l ru` (and `-d djangojs -l ru`) scans the project's
own Python files, templates and scripts, never the virtualenv, runtime data or
vendored libraries, and drops messages no longer in the code. A new string
arrives empty, never with a "fuzzy" guess copied from a similar one: the guess
is usually wrong, and an empty entry is plain to see.
"""

from django.core.management.commands import makemessages

# Directories that hold no text of ours (the project root's `.venv` is already
# skipped: Django ignores every name starting with a dot).
PROJECT_IGNORE = [
    "var",
    "staticfiles",
    "media",
    "node_modules",
    "test-artifacts",
    "static/vendor",
]


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]

    def handle(self, *args, **options):
        options["ignore_patterns"] = [*options["ignore_patterns"], *PROJECT_IGNORE]
        options["no_obsolete"] = True
        return super().handle(*args, **options)
