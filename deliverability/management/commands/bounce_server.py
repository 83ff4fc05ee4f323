import threading

from django.core.management.base import BaseCommand

from deliverability import config
from deliverability.bounceserver import bounce_controller


class Command(BaseCommand):
    help = (
        "Receive bounce reports (DSNs) and complaint reports (ARF) for the "
        "bounce domain over SMTP; run it behind the bounce domain's MX."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=25)
        parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 (an MX listens)

    def handle(self, *args, port, host, **options):
        controller = bounce_controller(host, port)
        controller.start()
        self.stdout.write(
            f"Receiving reports for @{config.bounce_domain()} on {host}:{port}.",
        )
        self.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
