"""Planning due runs for the task workers (`send_mailings --queue`).

A service, not part of the engine: it queues tasks, and the engine never
imports the tasks (they import the engine).
"""

from django.db import transaction
from django.utils import timezone

from mailing.engine.planner import close_finished, plan_due_runs
from mailing.engine.services import SendReport
from mailing.models import Delivery
from mailing.tasks import dispatch_run


def queue_due_mailings() -> SendReport:
    """Plan due runs and queue one dispatch task per run with work to do,
    on commit of the caller's transaction.

    Several workers may take the same run: they share it through the claim.
    """
    report = SendReport()
    report.planned = [run.pk for run in plan_due_runs()]
    report.queued = list(
        Delivery.objects.claimable(timezone.now())
        .order_by("run_id")
        .values_list("run_id", flat=True)
        .distinct()
    )
    for run_id in report.queued:
        transaction.on_commit(lambda run_id=run_id: dispatch_run.enqueue(run_id=run_id))
    close_finished()
    return report
