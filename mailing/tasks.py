"""Background tasks: thin entry points that load by id and call a service.

The task names are what the queue stores: a rename would strand the jobs
queued before a deploy.
"""

from django_tasks import task

from mailing.engine.services import (
    deliver_test_send,
    mailing_start_run,
    run_deliver_share,
)
from mailing.models import Mailing, MailingTestSend, Run


@task()
def start_mailing_run(mailing_id: int, send_now: bool = False) -> str:
    """Start the due run of a mailing now and deliver it (queued on commit).

    Created in its window, resumed or re-enabled: the due occurrence, if any.
    `send_now=True` (the "send now" button): a run now even if none is due.
    Returns what this worker did ("5000 sent, ..."), kept as the task's result.
    """
    mailing = Mailing.objects.filter(pk=mailing_id).first()
    if mailing is None:
        return "No such mailing."
    return str(mailing_start_run(mailing=mailing, force=send_now))


@task()
def dispatch_run(run_id: int) -> str:
    """Deliver this worker's share of a run (queued by `send_mailings --queue`).

    Returns this worker's share ("2480 sent, ..."), kept as the task's result.
    """
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        return "No such run."
    return str(run_deliver_share(run=run))


@task()
def send_test_message(test_send_id: int) -> str:
    """Send a mailing's test ("Send a test" on the mailing page) and record
    the server's replies on the test send. Returns them."""
    test_send = (
        MailingTestSend.objects.select_related("mailing", "client")
        .filter(pk=test_send_id)
        .first()
    )
    if test_send is None:
        return "No such test send."
    return deliver_test_send(test_send=test_send)
