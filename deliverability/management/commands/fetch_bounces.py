import imaplib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deliverability.mailbox import fetch_bounces


class Command(BaseCommand):
    help = (
        "Read the bounce and complaint reports in the mailbox named by "
        "BOUNCE_MAILBOX_URL once, and mark them seen."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="", help="instead of BOUNCE_MAILBOX_URL")

    def handle(self, *args, url, **options):
        url = url or settings.BOUNCE_MAILBOX_URL
        if not url:
            raise CommandError("Set BOUNCE_MAILBOX_URL (imaps://user:pass@host/INBOX).")
        try:
            report = fetch_bounces(url)
        except ValueError as error:
            raise CommandError(str(error)) from error
        except (imaplib.IMAP4.error, OSError) as error:
            raise CommandError(f"The bounce mailbox cannot be read: {error}") from error
        self.stdout.write(str(report))
