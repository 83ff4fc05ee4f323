"""The planner adds the subscribed members of a mailing's lists."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audience import services as audience_services
from audience.models import CustomField, Subscription
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing import services
from mailing.engine import planner
from mailing.engine.planner import plan_mailing
from mailing.models import Delivery, Suppression
from mailing.selectors import mailing_recipient_bound, mailing_recipients_sql
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


@pytest.mark.parametrize("many_from", [0, 10**9], ids=["walk-clients", "probe-ids"])
def test_both_join_strategies_plan_the_same_recipients(monkeypatch, many_from):
    """Whichever way the planner joins (a walk over the owner's clients for a
    big set, one probe per id for a small one): each recipient once,
    suppressed and unsubscribed clients and other owners' clients left
    out, the run's count right, and a replan adds nothing."""
    chosen = []

    def recipients_sql(*, mailing, many):
        chosen.append(many)
        return mailing_recipients_sql(mailing=mailing, many=many)

    monkeypatch.setattr(planner, "PLAN_MANY_FROM", many_from)
    monkeypatch.setattr(planner, "mailing_recipients_sql", recipients_sql)
    news = MailingListFactory(name="News")
    owner = news.owner
    offers = MailingListFactory(owner=owner, name="Offers")
    both = ClientFactory(owner=owner, email="both@example.org")
    for mailing_list in (news, offers):
        SubscriptionFactory(mailing_list=mailing_list, client=both)
    SubscriptionFactory(
        mailing_list=offers, client=ClientFactory(owner=owner, email="o@example.org")
    )
    SubscriptionFactory(
        mailing_list=news, client=ClientFactory(owner=owner, email="gone@example.org")
    )
    Suppression.objects.create(owner=owner, email="gone@example.org", reason="manual")
    SubscriptionFactory(
        mailing_list=news,
        client=ClientFactory(
            owner=owner, email="left@example.org", unsubscribed_at=timezone.now()
        ),
    )
    picked = ClientFactory(owner=owner, email="picked@example.org")
    stranger = ClientFactory(email="stranger@example.org")
    mailing = MailingFactory(owner=owner, clients=[both, picked, stranger])
    mailing.lists.set([news, offers])
    run = plan_mailing(mailing_id=mailing.pk, now=timezone.now(), force=True)
    assert chosen == [many_from == 0]
    emails = sorted(Delivery.objects.filter(run=run).values_list("email", flat=True))
    assert emails == ["both@example.org", "o@example.org", "picked@example.org"]
    assert planner._create_deliveries(run, mailing=mailing) == 0
    run.refresh_from_db()
    assert run.delivery_count == 3


def test_the_recipient_bound_reads_the_lists_counters_and_the_picked_clients():
    news = MailingListFactory(subscribed_count=700)
    owner = news.owner
    offers = MailingListFactory(owner=owner, subscribed_count=50)
    MailingListFactory(owner=owner, subscribed_count=10_000)  # not chosen
    mailing = MailingFactory(
        owner=owner, clients=ClientFactory.create_batch(2, owner=owner)
    )
    assert mailing_recipient_bound(mailing=mailing) == 2
    mailing.lists.set([news, offers])
    assert mailing_recipient_bound(mailing=mailing) == 752


def test_a_big_set_narrowed_by_a_segment_keeps_only_its_members(monkeypatch):
    """The walk over the owner's clients applies the segment too."""
    monkeypatch.setattr(planner, "PLAN_MANY_FROM", 0)
    news = MailingListFactory()
    owner = news.owner
    CustomField.objects.create(
        owner=owner, key="city", label="City", type=CustomField.Type.TEXT
    )
    for name, city in (("ann", "Berlin"), ("bob", "Paris")):
        SubscriptionFactory(
            mailing_list=news,
            client=ClientFactory(
                owner=owner, email=f"{name}@example.org", attributes={"city": city}
            ),
        )
    segment = audience_services.segment_create(
        owner=owner,
        name="Berlin",
        conditions={
            "rules": [{"kind": "field", "key": "city", "op": "eq", "value": "Berlin"}]
        },
    )
    mailing = MailingFactory(owner=owner, segment=segment)
    mailing.lists.set([news])
    assert _plan(mailing) == ["ann@example.org"]
