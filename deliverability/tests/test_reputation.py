"""The reputation guard: a customer whose hard-bounce or complaint rate over
the window passes its limit is paused (nothing of theirs is planned or
claimed), the managers are told, and a manager lifting the pause lets the
mailings send again."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts import roles
from deliverability.reputation import reputation_check, sending_resume
from deliverability.selectors import reputation_rates
from mailing.models import Delivery, Mailing, ModerationEvent
from mailing.tests.factories import (
    ClientFactory,
    DeliveryFactory,
    MailingFactory,
    RunFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _history(owner, *, total, hard=0, complaints=0) -> Mailing:
    mailing = MailingFactory(owner=owner)
    run = RunFactory(mailing=mailing)
    clients = ClientFactory.create_batch(total, owner=owner)
    deliveries = []
    for number, client in enumerate(clients):
        delivery = DeliveryFactory.build(run=run, client=client, email=client.email)
        if number < hard:
            delivery.status = Delivery.Status.FAILED
            delivery.bounce_class = "hard_bounce"
        elif number < hard + complaints:
            delivery.status = Delivery.Status.COMPLAINED
            delivery.bounce_class = "complaint"
        deliveries.append(delivery)
    Delivery.objects.bulk_create(deliveries)
    return mailing


@pytest.fixture
def manager():
    user = UserFactory(email="manager@example.com")
    user.groups.add(Group.objects.get(name=roles.MANAGERS))
    return user


def test_300_deliveries_with_20_hard_bounces_pause_the_customer(
    manager, mailoutbox, django_capture_on_commit_callbacks
):
    owner = UserFactory()
    mailing = _history(owner, total=300, hard=20)
    healthy = UserFactory()
    _history(healthy, total=300, hard=10)
    assert Mailing.objects.sendable().filter(pk=mailing.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert reputation_check() == [owner]
    owner.refresh_from_db()
    assert owner.sending_paused_at is not None
    assert "20 of 300 deliveries" in owner.sending_paused_reason
    assert not Mailing.objects.sendable().filter(owner=owner).exists()
    assert Mailing.objects.sendable().filter(owner=healthy).exists()
    now = timezone.now()
    assert not Delivery.objects.claimable(now).filter(run__mailing__owner=owner)
    event = ModerationEvent.objects.get(target_user=owner)
    assert event.action == "pause_sending" and event.actor is None
    [mail] = mailoutbox
    assert mail.to == [manager.email]
    assert owner.email in mail.subject
    assert "20 of 300" in mail.body

    # Checked again: already paused, nothing more happens.
    assert reputation_check() == []
    assert len(mailoutbox) == 1

    with pytest.raises(PermissionDenied):
        sending_resume(actor=healthy, user=owner)
    sending_resume(actor=manager, user=owner, reason="List cleaned")
    owner.refresh_from_db()
    assert owner.sending_paused_at is None
    assert Mailing.objects.sendable().filter(pk=mailing.pk).exists()
    # The window starts anew: the old bounces do not pause them again.
    assert reputation_check() == []


def test_below_the_minimum_volume_nobody_is_paused(manager):
    owner = UserFactory()
    _history(owner, total=150, hard=50)
    assert reputation_check() == []


def test_complaints_pause_past_their_own_limit(manager, settings):
    settings.REPUTATION_COMPLAINT_MIN = 100
    owner = UserFactory()
    _history(owner, total=200, complaints=1)
    assert reputation_check() == [owner]
    owner.refresh_from_db()
    assert "spam complaint" in owner.sending_paused_reason


def test_rates_are_listed_worst_first():
    good, bad = UserFactory(), UserFactory()
    _history(good, total=100, hard=1)
    _history(bad, total=100, hard=9, complaints=1)
    since = timezone.now() - timezone.timedelta(days=30)
    rows = list(reputation_rates(since=since))
    assert [r.pk for r in rows] == [bad.pk, good.pk]
    assert (rows[0].attempted, rows[0].hard_bounces, rows[0].complaints) == (100, 9, 1)
