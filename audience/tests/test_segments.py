"""Segment conditions: validation, each rule kind and comparison, all/any,
and the planner narrowing a mailing's lists by a segment."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audience import services
from audience.models import CustomField, Segment, Subscription
from audience.segments import conditions_validate
from audience.selectors import segment_clients, segment_count
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing.engine.planner import plan_mailing
from mailing.models import Client, Delivery, Run, Suppression
from mailing.tests.factories import (
    ClientFactory,
    MailingFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    """An owner with four custom fields and five clients."""
    owner = UserFactory()
    for position, (key, kind) in enumerate(
        [
            ("city", CustomField.Type.TEXT),
            ("age", CustomField.Type.NUMBER),
            ("born", CustomField.Type.DATE),
            ("vip", CustomField.Type.BOOLEAN),
        ]
    ):
        CustomField.objects.create(
            owner=owner, key=key, label=key.title(), type=kind, position=position
        )
    people = {
        "ann": {"city": "Berlin", "age": 30, "born": "1990-05-01", "vip": True},
        "bob": {"city": "berlin", "age": 45.5, "born": "1980-01-01", "vip": False},
        "cid": {"city": "Paris", "age": "unknown"},
        "dee": {"city": ""},
        "eve": {},
    }
    clients = {
        name: ClientFactory(owner=owner, email=f"{name}@example.org", attributes=values)
        for name, values in people.items()
    }
    return owner, clients


def _names(owner, *rules, match="all"):
    conditions = conditions_validate(
        {"match": match, "rules": list(rules)}, owner=owner
    )
    segment = Segment(owner=owner, name="s", conditions=conditions)
    emails = segment_clients(segment=segment).values_list("email", flat=True)
    return sorted(email.split("@")[0] for email in emails)


def _field(key, op, value=None):
    return {"kind": "field", "key": key, "op": op, "value": value}


def test_text_comparisons_ignore_case_and_ne_includes_clients_without_a_value(book):
    owner, _clients = book
    assert _names(owner, _field("city", "eq", "BERLIN")) == ["ann", "bob"]
    assert _names(owner, _field("city", "ne", "berlin")) == ["cid", "dee", "eve"]
    assert _names(owner, _field("city", "contains", "ERL")) == ["ann", "bob"]
    assert _names(owner, _field("city", "is_set")) == ["ann", "bob", "cid"]
    assert _names(owner, _field("city", "is_not_set")) == ["dee", "eve"]


def test_a_choice_matches_whatever_case_the_rule_gives_it(book):
    """A choice is stored as the choice itself; the rule's value is turned
    into that choice, so the one value compared per client still matches
    "pro" to "Pro" (and not a client without it)."""
    owner, clients = book
    CustomField.objects.create(
        owner=owner, key="plan", label="Plan", type="choice", choices=["Free", "Pro"]
    )
    for name, plan in [("ann", "Pro"), ("bob", "Free"), ("cid", "Pro")]:
        client = clients[name]
        client.attributes = {**client.attributes, "plan": plan}
        client.save()
    assert _names(owner, _field("plan", "eq", "pro")) == ["ann", "cid"]
    assert _names(owner, _field("plan", "eq", "Free")) == ["bob"]
    assert _names(owner, _field("plan", "ne", "PRO")) == ["bob", "dee", "eve"]
    assert _names(
        owner, _field("plan", "eq", "Pro"), _field("city", "eq", "berlin")
    ) == ["ann"]


def test_numbers_compare_as_numbers_and_text_in_a_number_field_matches_neither(book):
    owner, _clients = book
    assert _names(owner, _field("age", "gt", "31")) == ["bob"]
    assert _names(owner, _field("age", "lt", 100)) == ["ann", "bob"]
    assert _names(owner, _field("age", "eq", "30")) == ["ann"]
    assert _names(owner, _field("age", "ne", 30)) == ["bob", "cid", "dee", "eve"]


def test_dates_and_yes_no(book):
    owner, _clients = book
    assert _names(owner, _field("born", "gt", "1985-12-31")) == ["ann"]
    assert _names(owner, _field("born", "lt", "1985-12-31")) == ["bob"]
    assert _names(owner, _field("born", "eq", "1980-01-01")) == ["bob"]
    assert _names(owner, _field("vip", "eq", "yes")) == ["ann"]
    assert _names(owner, _field("vip", "eq", False)) == ["bob"]


def test_all_and_any(book):
    owner, _clients = book
    rules = [_field("city", "eq", "berlin"), _field("age", "gt", 40)]
    assert _names(owner, *rules) == ["bob"]
    assert _names(owner, *rules, match="any") == ["ann", "bob"]
    either = [_field("city", "eq", "paris"), _field("vip", "eq", True)]
    assert _names(owner, *either, match="any") == ["ann", "cid"]


def test_list_rules_count_subscribed_members_only(book):
    owner, clients = book
    news = MailingListFactory(owner=owner)
    SubscriptionFactory(mailing_list=news, client=clients["ann"])
    SubscriptionFactory(
        mailing_list=news,
        client=clients["bob"],
        status=Subscription.Status.UNCONFIRMED,
    )
    assert _names(owner, {"kind": "list", "op": "in", "list": news.pk}) == ["ann"]
    assert _names(owner, {"kind": "list", "op": "not_in", "list": str(news.pk)}) == [
        "bob",
        "cid",
        "dee",
        "eve",
    ]


def test_added_rules_use_days_and_the_owners_dates(book):
    owner, clients = book
    owner.time_zone = "Asia/Tokyo"
    owner.save(update_fields=["time_zone"])
    tokyo = ZoneInfo("Asia/Tokyo")
    # 2024-03-10 00:30 in Tokyo is still 2024-03-09 in UTC.
    Client.objects.filter(pk=clients["ann"].pk).update(
        created_at=timezone.datetime(2024, 3, 10, 0, 30, tzinfo=tokyo)
    )
    Client.objects.filter(pk=clients["bob"].pk).update(
        created_at=timezone.now() - timedelta(days=40)
    )
    Client.objects.filter(pk__in=[c.pk for c in clients.values()]).exclude(
        pk__in=[clients["ann"].pk, clients["bob"].pk]
    ).update(created_at=timezone.now() - timedelta(days=2))
    within = {"kind": "added", "op": "within_days", "value": "30"}
    assert _names(owner, within) == ["cid", "dee", "eve"]
    before = {"kind": "added", "op": "before", "value": "2024-03-10"}
    assert _names(owner, before) == []
    after = {"kind": "added", "op": "after", "value": "2024-03-09"}
    assert "ann" in _names(owner, after)
    assert _names(owner, {"kind": "added", "op": "before", "value": "2024-03-11"}) == [
        "ann"
    ]


def test_sent_rules_look_at_deliveries_that_went_out(book):
    owner, clients = book
    mailing = MailingFactory(owner=owner)
    run = Run.objects.create(mailing=mailing, scheduled_for=timezone.now())
    now = timezone.now()
    for name, status, days in [
        ("ann", Delivery.Status.SENT, 2),
        ("bob", Delivery.Status.BOUNCED, 3),
        ("cid", Delivery.Status.FAILED, 1),
        ("dee", Delivery.Status.SENT, 60),
    ]:
        Delivery.objects.create(
            run=run,
            client=clients[name],
            email=clients[name].email,
            status=status,
            last_attempt_at=now - timedelta(days=days),
        )
    within = {"kind": "sent", "op": "within_days", "value": 7}
    assert _names(owner, within) == ["ann", "bob"]
    not_within = {"kind": "sent", "op": "not_within_days", "value": 7}
    assert _names(owner, not_within) == ["cid", "dee", "eve"]


def test_faulty_rules_get_one_message_each(book):
    owner, _clients = book
    foreign = MailingListFactory()
    rules = [
        {"kind": "colour", "op": "eq"},
        _field("nope", "eq", "x"),
        _field("vip", "contains", "x"),
        _field("age", "gt", "many"),
        _field("born", "lt", "31/12/2020"),
        {"kind": "list", "op": "in", "list": foreign.pk},
        {"kind": "added", "op": "within_days", "value": 0},
        {"kind": "sent", "op": "ever", "value": 3},
        _field("city", "eq", "  "),
    ]
    with pytest.raises(ValidationError) as error:
        conditions_validate({"match": "all", "rules": rules}, owner=owner)
    assert [message.split(":")[0] for message in error.value.messages] == [
        f"Rule {number}" for number in range(1, 10)
    ]
    assert "Choose one of your lists." in error.value.messages[5]
    MailingListFactory(owner=owner)
    for bad in (
        {"match": "most", "rules": rules[:1]},
        {"rules": []},
        [],
        {"rules": [{"kind": "list", "op": "in", "list": True}]},
    ):
        with pytest.raises(ValidationError):
            conditions_validate(bad, owner=owner)


def test_segment_services_refuse_bad_input_and_write_nothing(book):
    owner, _clients = book
    with pytest.raises(ValidationError) as error:
        services.segment_create(
            owner=owner, name="", conditions={"match": "all", "rules": []}
        )
    assert set(error.value.message_dict) == {"name", "conditions"}
    segment = services.segment_create(
        owner=owner,
        name="Berliners",
        conditions={"rules": [_field("city", "eq", "Berlin")]},
    )
    assert segment.conditions["match"] == "all"
    assert segment_count(segment=segment) == 2
    with pytest.raises(ValidationError):
        services.segment_create(
            owner=owner, name="Berliners", conditions=segment.conditions
        )
    assert Segment.objects.filter(owner=owner).count() == 1


def test_a_segment_used_by_an_unfinished_mailing_is_not_deleted(book):
    owner, _clients = book
    segment = services.segment_create(
        owner=owner, name="All", conditions={"rules": [_field("city", "is_set")]}
    )
    mailing = MailingFactory(owner=owner, segment=segment)
    with pytest.raises(ValidationError):
        services.segment_delete(segment=segment)
    mailing.status = mailing.Status.FINISHED
    mailing.save()
    services.segment_delete(segment=segment)
    mailing.refresh_from_db()
    assert mailing.segment is None


def test_stale_rules_still_compile(book):
    owner, clients = book
    news = MailingListFactory(owner=owner)
    SubscriptionFactory(mailing_list=news, client=clients["ann"])
    segment = services.segment_create(
        owner=owner,
        name="Gone",
        conditions={
            "match": "any",
            "rules": [
                {"kind": "list", "op": "in", "list": news.pk},
                _field("age", "gt", 40),
            ],
        },
    )
    news.delete()
    CustomField.objects.filter(owner=owner, key="age").delete()
    assert list(segment_clients(segment=segment).values_list("email", flat=True)) == [
        "bob@example.org"
    ]


def test_a_mailing_to_a_list_narrowed_by_a_segment_reaches_matching_members_once(
    book,
):
    """Only subscribed members the segment selects, each once, plus the
    picked clients; suppressed addresses and unconfirmed members get none."""
    owner, clients = book
    news = MailingListFactory(owner=owner)
    offers = MailingListFactory(owner=owner)
    for name in ("ann", "bob", "cid"):
        SubscriptionFactory(mailing_list=news, client=clients[name])
    SubscriptionFactory(mailing_list=offers, client=clients["ann"])
    berliner = ClientFactory(
        owner=owner, email="fay@example.org", attributes={"city": "Berlin"}
    )
    SubscriptionFactory(
        mailing_list=news, client=berliner, status=Subscription.Status.UNCONFIRMED
    )
    gone = ClientFactory(
        owner=owner, email="gus@example.org", attributes={"city": "BERLIN"}
    )
    SubscriptionFactory(mailing_list=offers, client=gone)
    Suppression.objects.create(owner=owner, email=gone.email, reason="manual")
    segment = services.segment_create(
        owner=owner,
        name="Berlin",
        conditions={"rules": [_field("city", "eq", "Berlin")]},
    )
    mailing = MailingFactory(owner=owner, clients=[clients["eve"]], segment=segment)
    mailing.lists.set([news, offers])
    run = plan_mailing(mailing_id=mailing.pk, now=timezone.now(), force=True)
    emails = sorted(Delivery.objects.filter(run=run).values_list("email", flat=True))
    assert emails == ["ann@example.org", "bob@example.org", "eve@example.org"]
    run.refresh_from_db()
    assert run.delivery_count == 3
