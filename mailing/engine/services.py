"""Entry points of the send engine (the command, cron and tasks call these).

Queuing work for the task workers is mailing.services.queueing: the tasks
call these services, so these never import the tasks.
"""

import logging
from dataclasses import dataclass, field

from django.utils import timezone

from mailing.models import Mailing, Run

from .planner import close_finished, plan_due_runs, plan_mailing
from .processes import deliver_claimable
from .record import DispatchReport

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
    report.dispatch = deliver_claimable()
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
        report.dispatch = deliver_claimable(run_ids=run_ids)
    close_finished()
    return report


def run_deliver_share(*, run: Run) -> DispatchReport:
    """Deliver what is claimable in one run now: a worker's share of it, as
    other workers may take the same run; closes what is finished."""
    result = deliver_claimable(run_ids=[run.pk])
    close_finished()
    return result
