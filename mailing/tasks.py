"""Background tasks: thin entry points that load by id and call a service."""

from django_tasks import task


@task()
def start_mailing_run(mailing_id: int, send_now: bool = False) -> None:
    """Start the due run of a mailing now and deliver it (queued on commit).

    Created in its window, resumed or re-enabled: the due occurrence, if any.
    `send_now=True` (the "send now" button): a run now even if none is due.
    """
    from mailing.engine.services import mailing_start_run
    from mailing.models import Mailing

    mailing = Mailing.objects.filter(pk=mailing_id).first()
    if mailing is not None:
        mailing_start_run(mailing=mailing, force=send_now)


@task()
def dispatch_run(run_id: int) -> None:
    """Deliver a run's claimable deliveries (`send_mailings --queue`)."""
    from mailing.engine.services import run_dispatch
    from mailing.models import Run

    run = Run.objects.filter(pk=run_id).first()
    if run is not None:
        run_dispatch(run=run)
