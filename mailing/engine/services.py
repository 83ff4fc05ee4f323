"""Entry points of the send engine (the command, cron and tasks call these)."""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from mailing.models import Delivery, Mailing, Run

from .dispatcher import DispatchReport, dispatch
from .planner import close_finished, plan_due_runs, plan_mailing

logger = logging.getLogger("mailing.engine")


@dataclass
class SendReport:
    """What a call planned and delivered."""

    planned: list[int] = field(default_factory=list)
    dispatch: DispatchReport = field(default_factory=DispatchReport)
    queued: list[int] = field(default_factory=list)

    def __str__(self):
        text = f"{len(self.planned)} run(s) planned; {self.dispatch}"
        if self.queued:
            text += f"; {len(self.queued)} run(s) queued for the workers"
        return text


def send_due_mailings() -> SendReport:
    """Plan every due run and deliver everything claimable in this process.

    Returns when nothing is left to claim now; deliveries deferred to later
    wait for a later call. The mail server's behaviour never raises here.
    """
    report = SendReport()
    report.planned = [run.pk for run in plan_due_runs()]
    report.dispatch = dispatch()
    close_finished()
    return report


def mailing_start_run(*, mailing: Mailing, force: bool = False) -> SendReport:
    """Start a mailing's due run now and deliver its open runs.

    With `force` ("send now" from the command line) a run is created even
    when no occurrence is due. An inactive or paused mailing, or one whose
    owner is blocked, sends nothing.
    """
    report = SendReport()
    run = plan_mailing(mailing_id=mailing.pk, now=timezone.now(), force=force)
    if run is not None:
        report.planned.append(run.pk)
    run_ids = list(
        Run.objects.filter(mailing=mailing, status=Run.Status.RUNNING).values_list(
            "pk", flat=True
        )
    )
    if run_ids:
        report.dispatch = dispatch(run_ids=run_ids)
    close_finished()
    return report


def queue_due_mailings() -> SendReport:
    """Plan due runs and queue one dispatch task per run with work to do.

    Several workers may take the same run: they share it through the claim.
    """
    from mailing.tasks import dispatch_run

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


def run_dispatch(*, run: Run) -> DispatchReport:
    """Deliver what is claimable in one run (a worker's share of it)."""
    result = dispatch(run_ids=[run.pk])
    close_finished()
    return result
