from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import print_accounts

# Each app seeds its own demo content; order matters (users first).
DEMO_SEEDERS = [
    "accounts.demo",
    "mailing.demo",
    "deliverability.demo",
    "audience.demo",
    "home.demo",
]


class Command(BaseCommand):
    help = "Create demo users and content. Safe to run again: nothing is doubled."

    def handle(self, *args, **options):
        for name in DEMO_SEEDERS:
            with transaction.atomic():
                import_module(name).seed(stdout=self.stdout)
        # Last, so that the passwords are the first thing `make run` shows
        # above the running processes.
        self.stdout.write("")
        print_accounts(stdout=self.stdout)
