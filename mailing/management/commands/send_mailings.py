from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Send every mailing that is due (the send engine fills this in)."

    def add_arguments(self, parser):
        parser.add_argument("--mailing", type=int)
        parser.add_argument("--queue", action="store_true")
        parser.add_argument("--watch", type=float)

    def handle(self, *args, **options):
        self.stdout.write("Nothing to send yet.")
