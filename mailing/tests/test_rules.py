"""The domain rules on the models' QuerySets, which the planner, the
dispatcher, the services, the figures and the partial indexes share."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mailing.models import (
    DELIVERY_OPEN,
    MAILING_MAY_SEND,
    RUN_OPEN,
    Delivery,
    Mailing,
    Run,
)
from mailing.tests.factories import (
    DeliveryFactory,
    MailingFactory,
    RunFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _index(model, name):
    return next(index for index in model._meta.indexes if index.name == name)


def test_the_partial_indexes_are_built_on_the_rules():
    """The due-mailing, open-run and open-delivery indexes use the very
    conditions the QuerySets filter on, so a query by the rule can use them."""
    assert _index(Mailing, "mailing_due_idx").condition == MAILING_MAY_SEND
    assert _index(Run, "run_open_idx").condition == RUN_OPEN
    assert _index(Delivery, "delivery_due_idx").condition == DELIVERY_OPEN


def test_a_mailing_may_send_unless_disabled_paused_finished_or_blocked():
    now = timezone.now()
    due = now - timedelta(minutes=1)
    sendable = MailingFactory(next_run_at=due)
    MailingFactory(next_run_at=due, is_active=False)
    MailingFactory(next_run_at=due, is_paused=True)
    MailingFactory(next_run_at=due, status=Mailing.Status.FINISHED)
    MailingFactory(next_run_at=due, owner=UserFactory(is_active=False))
    later = MailingFactory(next_run_at=now + timedelta(hours=1))
    assert set(Mailing.objects.sendable()) == {sendable, later}
    assert list(Mailing.objects.due(now)) == [sendable]


def test_open_runs_and_deliveries():
    running = RunFactory(status=Run.Status.RUNNING)
    RunFactory(status=Run.Status.FINISHED)
    assert list(Run.objects.open()) == [running]
    statuses = [
        Delivery.Status.PENDING,
        Delivery.Status.SENDING,
        Delivery.Status.DEFERRED,
        Delivery.Status.SENT,
        Delivery.Status.FAILED,
    ]
    deliveries = {s: DeliveryFactory(run=running, status=s) for s in statuses}
    assert set(Delivery.objects.open()) == {deliveries[s] for s in statuses[:3]}


def test_claimable_deliveries():
    """Due or abandoned deliveries of a running, unpaused run of a mailing
    that may send and has not ended; nothing of a disabled mailing."""
    now = timezone.now()
    mailing = MailingFactory(start_at=now - timedelta(days=1))
    run = RunFactory(mailing=mailing, status=Run.Status.RUNNING)
    pending = DeliveryFactory(run=run, status=Delivery.Status.PENDING)
    DeliveryFactory(
        run=run,
        status=Delivery.Status.DEFERRED,
        next_attempt_at=now + timedelta(minutes=5),
    )
    abandoned = DeliveryFactory(
        run=run,
        status=Delivery.Status.SENDING,
        lease_expires_at=now - timedelta(seconds=1),
    )
    DeliveryFactory(
        run=run,
        status=Delivery.Status.SENDING,
        lease_expires_at=now + timedelta(minutes=1),
    )
    assert set(Delivery.objects.claimable(now)) == {pending, abandoned}
    Run.objects.filter(pk=run.pk).update(paused_until=now + timedelta(minutes=1))
    assert not Delivery.objects.claimable(now).exists()
    Run.objects.filter(pk=run.pk).update(paused_until=None)
    Mailing.objects.filter(pk=mailing.pk).update(is_active=False)
    assert not Delivery.objects.claimable(now).exists()


def test_with_stats_sums_the_run_counters():
    mailing = MailingFactory()
    quiet = MailingFactory()
    RunFactory(mailing=mailing, sent_count=3, failed_count=1)
    last = RunFactory(
        mailing=mailing, sent_count=2, last_sent_at=timezone.now(), failed_count=0
    )
    stats = {m.pk: m for m in Mailing.objects.with_stats()}
    assert (stats[mailing.pk].sent, stats[mailing.pk].failed) == (5, 1)
    assert stats[mailing.pk].last_sent_at == last.last_sent_at
    assert (stats[quiet.pk].sent, stats[quiet.pk].failed) == (0, 0)
    assert stats[quiet.pk].last_sent_at is None
