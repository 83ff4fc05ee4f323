"""The planner adds the subscribed members of a mailing's lists."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audience.models import Subscription
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing import services
from mailing.engine.planner import plan_mailing
from mailing.models import Delivery, Suppression
from mailing.tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db


def _plan(mailing):
    run = plan_mailing(mailing_id=mailing.pk, now=timezone.now(), force=True)
    return sorted(Delivery.objects.filter(run=run).values_list("email", flat=True))


def test_list_members_are_planned_once_and_unconfirmed_ones_not():
    """A client on two lists and picked directly gets one delivery; an
    unconfirmed sign-up and a member who left get none."""
    news = MailingListFactory(name="News")
    owner = news.owner
    offers = MailingListFactory(owner=owner, name="Offers")
    both = ClientFactory(owner=owner, email="both@example.org")
    SubscriptionFactory(mailing_list=news, client=both)
    SubscriptionFactory(mailing_list=offers, client=both)
    SubscriptionFactory(
        mailing_list=news, client=ClientFactory(owner=owner, email="news@example.org")
    )
    SubscriptionFactory(
        mailing_list=news,
        client=ClientFactory(owner=owner, email="waiting@example.org"),
        status=Subscription.Status.UNCONFIRMED,
    )
    SubscriptionFactory(
        mailing_list=offers,
        client=ClientFactory(owner=owner, email="left@example.org"),
        status=Subscription.Status.UNSUBSCRIBED,
    )
    ClientFactory(owner=owner, email="other@example.org")
    mailing = MailingFactory(owner=owner, clients=[both])
    mailing.lists.set([news, offers])
    assert _plan(mailing) == ["both@example.org", "news@example.org"]


def test_suppressed_list_members_are_not_planned():
    subscription = SubscriptionFactory(client__email="gone@example.org")
    owner = subscription.mailing_list.owner
    Suppression.objects.create(owner=owner, email="gone@example.org", reason="manual")
    mailing = MailingFactory(owner=owner)
    mailing.lists.set([subscription.mailing_list])
    assert _plan(mailing) == []


def test_a_mailing_may_target_lists_alone(queued_runs):
    """The service accepts lists without picked clients, refuses another
    user's list, and stores the name."""
    subscription = SubscriptionFactory(client__email="member@example.org")
    mailing_list = subscription.mailing_list
    owner = mailing_list.owner
    start = timezone.now() + timedelta(days=1)
    mailing = services.mailing_create(
        owner=owner,
        message=MessageFactory(owner=owner),
        start_at=start,
        end_at=start + timedelta(days=1),
        lists=[mailing_list],
        name="Spring letter",
    )
    assert list(mailing.lists.all()) == [mailing_list]
    assert mailing.title == "Spring letter"
    assert _plan(mailing) == ["member@example.org"]
    mailing.refresh_from_db()
    assert mailing.held_at is None  # the pre-flight check counts list members
    with pytest.raises(ValidationError) as error:
        services.mailing_create(
            owner=owner,
            message=MessageFactory(owner=owner),
            start_at=start,
            end_at=start + timedelta(days=1),
            lists=[MailingListFactory()],
        )
    assert "lists" in error.value.message_dict
