"""Planning due runs for the task workers (`send_mailings --queue`).

Apart from services.py because it queues tasks: mailing.tasks imports the
services, and this module imports the tasks, so there is no cycle.
"""

from django.db import transaction
from django.utils import timezone

from mailing.models import Delivery
from mailing.tasks import dispatch_run

from .claim import claimable
from .planner import close_finished, plan_due_runs
from .services import SendReport


def queue_due_mailings() -> SendReport:
    """Plan due runs and queue one dispatch task per run with work to do,
    on commit of the caller's transaction.

    Several workers may take the same run: they share it through the claim.
    """
    report = SendReport()
    report.planned = [run.pk for run in plan_due_runs()]
    report.queued = list(
        Delivery.objects.filter(claimable(timezone.now()))
        .order_by("run_id")
        .values_list("run_id", flat=True)
        .distinct()
    )
    for run_id in report.queued:
        transaction.on_commit(lambda run_id=run_id: dispatch_run.enqueue(run_id=run_id))
    close_finished()
    return report
