"""Entry points of the send engine (the command, cron and tasks call these).

Queuing work for the task workers is mailing.services.queueing: the tasks
call these services, so these never import the tasks.
"""

import dataclasses
import logging
from dataclasses import dataclass, field

from django.utils import timezone

from mailing.models import Client, Mailing, MailingTestSend, Run

from .config import engine_config
from .message import InvalidAddress, PreparedMessage, date_header
from .planner import close_finished, plan_due_runs, plan_mailing
from .preflight import sample_recipient
from .processes import deliver_claimable, heap_frozen
from .record import DispatchReport
from .transport import open_transport

TEST_PREFIX = "[Test] "

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
    with heap_frozen():
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
    with heap_frozen():
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


def mailing_send_test(
    *, mailing: Mailing, addresses: list[str], client: Client | None = None, key=0
) -> list[str]:
    """Send `mailing`'s message to `addresses` as a test, through the
    engine's message builder and transport: rendered for `client` (or
    sample values), `[Test] ` before the subject, signed like a run's.

    No run or delivery is made, so a test counts in no statistic and no
    delivery log. The unsubscribe link is a client-less one (clicking it in a
    test must not unsubscribe the client it was rendered for). `key` (the
    test send's id) keeps Message-IDs apart between tests. Returns one line
    per address: the address and the server's reply. Talks SMTP: call it
    from a task, never from a request.
    """
    recipient = sample_recipient(mailing, client)
    prepared = PreparedMessage.for_run(Run(pk=key, mailing=mailing))
    # A negative "run" number: never the Message-ID of a real run.
    prepared = dataclasses.replace(
        prepared, run_id=-key, subject=TEST_PREFIX + prepared.subject
    )
    date = date_header(timezone.now())
    lines = []
    transport = None
    try:
        for address in addresses:
            try:
                _message_id, data = prepared.build(
                    client_id=0,
                    email=address,
                    full_name=recipient.full_name,
                    date_header=date,
                    attributes=recipient.attributes,
                )
            except InvalidAddress as exc:
                lines.append(f"{address}: {exc}")
                continue
            transport = transport or open_transport(timeout=engine_config().timeout)
            outcome = transport.send(prepared.envelope_sender(None), address, data)
            lines.append(f"{address}: {outcome.text}")
    finally:
        if transport is not None:
            transport.close()
    return lines


def deliver_test_send(*, test_send: MailingTestSend) -> str:
    """Send a queued test and record what the server said on its row."""
    lines = mailing_send_test(
        mailing=test_send.mailing,
        addresses=list(test_send.addresses),
        client=test_send.client,
        key=test_send.pk,
    )
    test_send.outcome = "\n".join(lines)
    test_send.finished_at = timezone.now()
    test_send.save(update_fields=["outcome", "finished_at"])
    return test_send.outcome
