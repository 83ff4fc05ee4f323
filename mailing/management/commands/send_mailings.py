"""The mailing script: plan due runs and deliver them.

Exit status is 0 whenever the script ran, whatever the mail server answered:
the outcome of each delivery is in the delivery log.
"""

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections

from mailing.engine import services
from mailing.models import Mailing
from mailing.services import queueing

logger = logging.getLogger("mailing.engine")


class Command(BaseCommand):
    help = (
        "Plan every due mailing run and deliver it in this process "
        "(--queue: leave the delivering to the task workers)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--mailing", type=int, metavar="ID", help="Start this mailing's run now."
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Only plan due runs and queue them for the task workers.",
        )
        parser.add_argument(
            "--watch",
            type=float,
            metavar="SECONDS",
            help="Repeat every SECONDS until SIGTERM or Ctrl-C (no cron needed).",
        )

    def handle(self, *args, mailing=None, queue=False, watch=None, **options):
        self.verbosity = options.get("verbosity", 1)
        if mailing is not None and (queue or watch):
            raise CommandError("--mailing cannot be combined with --queue or --watch.")
        if watch is not None and watch <= 0:
            raise CommandError("--watch needs a positive number of seconds.")
        if mailing is not None:
            target = Mailing.objects.filter(pk=mailing).first()
            if target is None:
                raise CommandError(f"There is no mailing {mailing}.")
            report = services.mailing_start_run(mailing=target, force=True)
            self.stdout.write(f"Mailing {mailing}: {report}")
            return
        if watch is None:
            self._once(queue)
            return
        self._watch(watch, queue)

    def _once(self, queue: bool, *, quiet_when_idle: bool = False) -> None:
        if queue:
            report = queueing.queue_due_mailings()
        else:
            report = services.send_due_mailings()
        idle = not (report.planned or report.queued or report.dispatch.runs)
        if not (idle and quiet_when_idle):
            self.stdout.write(str(report))

    def _watch(self, seconds: float, queue: bool) -> None:
        stop = threading.Event()

        def request_stop(signum, frame):
            self.stdout.write("Stopping after the current round.")
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop)
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        self.stdout.write(f"Sending due mailings every {seconds:g}s; Ctrl-C stops.")
        try:
            while not stop.is_set():
                close_old_connections()
                try:
                    # A clock that prints every empty round buries the rounds
                    # that sent something; -v 2 shows them all.
                    self._once(queue, quiet_when_idle=self.verbosity < 2)
                except Exception:
                    # A database restart or a bug in one round must not end
                    # the clock: log it and try again next round.
                    logger.exception("send_mailings round failed")
                    connections.close_all()
                stop.wait(seconds)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
