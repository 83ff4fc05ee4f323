"""The run counters the engine keeps, and the suppression list it honours.

Pages read `Run.delivery_count`, `sent_count`, `failed_count`,
`deferred_count` and `last_sent_at` instead of counting deliveries, so after
every step here they must equal a count over the deliveries themselves.
Everything goes through the real engine and a real SMTP server (aiosmtpd).
"""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from mailing.engine.dispatcher import Dispatcher
from mailing.engine.planner import close_finished, plan_mailing
from mailing.models import Client, Delivery, Run, Suppression
from mailing.tests.engine_support import (
    assert_counters_match,
    make_mailing,
    make_owner,
)


@pytest.fixture
def engine_settings(settings):
    settings.EMAIL_TIMEOUT = 1
    settings.MAILING_CONNECTIONS = 3
    settings.MAILING_BATCH_SIZE = 4
    settings.MAILING_MAX_ATTEMPTS = 3
    settings.MAILING_RETRY_BASE_SECONDS = 60
    settings.MAILING_LEASE_SECONDS = 60
    return settings


def send() -> None:
    call_command("send_mailings")


def all_runs_match() -> None:
    runs = list(Run.objects.all())
    assert runs
    for run in runs:
        assert_counters_match(run)


def later(**delta):
    return time_machine.travel(timezone.now() + timedelta(**delta), tick=True)


@pytest.mark.django_db
def test_counters_equal_a_count_of_deliveries_through_mixed_outcomes(
    smtp_sink, engine_settings
):
    """2xx, 4xx then sent, 5xx, 4xx until the attempt limit, an abandoned
    lease (with and without an earlier attempt), an unsubscribed client and
    a mailing whose end passed: the counters equal the rows after each."""
    owner = make_owner()
    greylisted = make_mailing(owner=owner, clients=5)
    smtp_sink.mode = "451"
    send()
    all_runs_match()
    run = Run.objects.get(mailing=greylisted)
    assert (run.delivery_count, run.deferred_count, run.sent_count) == (5, 5, 0)

    # A crash: a dispatcher claims two deferred rows and one new row of
    # another mailing and dies with them in `sending`.
    rejected = make_mailing(clients=4)
    ending = make_mailing(clients=3, end_at=timezone.now() + timedelta(hours=3))
    smtp_sink.mode = "550"
    with later(minutes=2):
        plan_mailing(mailing_id=rejected.pk, now=timezone.now())
        plan_mailing(mailing_id=ending.pk, now=timezone.now())
        crashed = Dispatcher(run_ids=[run.pk]).claim(2)
        crashed += Dispatcher(run_ids=[Run.objects.get(mailing=ending).pk]).claim(1)
        assert len(crashed) == 3
        all_runs_match()
        # One of `ending`'s clients unsubscribes before it is sent.
        Client.objects.filter(
            pk=Delivery.objects.filter(run__mailing=ending, status="pending").values(
                "client_id"
            )[:1]
        ).update(unsubscribed_at=timezone.now())
    with later(minutes=2, seconds=5):
        send()  # 550 for `rejected` and `ending`; the claimed rows wait
    all_runs_match()
    assert Run.objects.get(mailing=rejected).failed_count == 4
    ending_run = Run.objects.get(mailing=ending)
    assert ending_run.failed_count == 2  # one refused, one unsubscribed

    smtp_sink.mode = "451"
    with later(minutes=4):  # retries due, leases expired
        send()
    all_runs_match()
    assert Run.objects.get(mailing=ending).deferred_count == 1

    with later(hours=4):  # `ending` is over: its deferred row fails
        close_finished()
    all_runs_match()
    ending_run.refresh_from_db()
    assert (ending_run.failed_count, ending_run.deferred_count) == (3, 0)

    smtp_sink.mode = "accept"
    with later(hours=5):
        send()  # greylisted: some sent now, the rest failed at 3 attempts
        all_runs_match()
    run.refresh_from_db()
    assert run.sent_count + run.failed_count == 5
    assert run.last_sent_at is not None and run.deferred_count == 0
    ending_run.refresh_from_db()
    assert ending_run.status == Run.Status.FINISHED


@pytest.mark.django_db
def test_a_suppressed_address_is_never_mailed_even_as_a_new_client_row(
    smtp_sink, engine_settings
):
    """An address on the owner's suppression list gets no delivery, however
    it comes back (deleted and added again as a new client); other owners'
    lists do not matter."""
    owner = make_owner()
    mailing = make_mailing(owner=owner, clients=3, plan=False)
    Client.objects.create(owner=owner, email="Gone@Example.NET")
    mailing.clients.set(Client.objects.filter(owner=owner))
    Suppression.objects.create(
        owner=owner, email="gone@example.net", reason="unsubscribed"
    )
    other = make_owner()
    Suppression.objects.create(
        owner=other, email="client0.x@example.net", reason="manual"
    )
    call_command("send_mailings", "--mailing", str(mailing.pk))
    run = Run.objects.get(mailing=mailing)
    assert run.delivery_count == 3 and run.sent_count == 3
    assert not smtp_sink.received_by("gone@example.net")
    assert not Delivery.objects.filter(email="gone@example.net").exists()
    assert_counters_match(run)


@pytest.mark.django_db
def test_an_address_suppressed_after_planning_is_not_sent(smtp_sink, engine_settings):
    """Planned first, suppressed before the dispatcher claims it: the
    delivery fails with a note saying why, and is counted."""
    mailing = make_mailing(clients=3)
    run = plan_mailing(mailing_id=mailing.pk, now=timezone.now())
    target = Delivery.objects.filter(run=run).first()
    Suppression.objects.create(
        owner=mailing.owner, email=target.email, reason="hard_bounce"
    )
    send()
    target.refresh_from_db()
    assert target.status == "failed" and target.attempts == 0
    assert (
        target.server_response == "Not sent: the address is suppressed (hard bounce)."
    )
    assert not smtp_sink.received_by(target.email)
    assert len(smtp_sink.messages) == 2
    run.refresh_from_db()
    assert (run.sent_count, run.failed_count) == (2, 1)
    assert_counters_match(run)
