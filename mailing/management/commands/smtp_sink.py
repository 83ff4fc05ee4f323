import time

from django.conf import settings
from django.core.management.base import BaseCommand

from mailing.devtools.smtp_sink import SMTPSink


class Command(BaseCommand):
    help = "Run the local SMTP sink that catches all mail in development."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument(
            "--maildir",
            default=str(settings.VAR_DIR / "mail"),
            help="Folder where each received message is saved as .eml.",
        )

    def handle(self, *args, host, port, maildir, **options):
        sink = SMTPSink(host=host, port=port, maildir=maildir).start()
        self.stdout.write(f"SMTP sink listening on {sink.url}; saving to {maildir}")
        seen = 0
        try:
            while True:
                time.sleep(0.5)
                for mail in sink.messages[seen:]:
                    self.stdout.write(
                        f"[{mail.queue_id}] {mail.mail_from} -> "
                        f"{', '.join(mail.rcpt_tos)}: {mail.subject}"
                    )
                seen = len(sink.messages)
                if seen > 1000:
                    sink.clear()
                    seen = 0
        except KeyboardInterrupt:
            pass
        finally:
            sink.stop()
