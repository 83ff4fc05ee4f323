"""The segment pages, the segment export and the mailing form's segment and
recipient count."""

import csv
import io

import pytest
from django.urls import reverse

from audience.models import CustomField, Segment
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing.models import Mailing, Suppression
from mailing.tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db


def _rules(*rows, match="all", name="Berliners"):
    """POST data of the segment form: `rows` of (kind, key, list, op, value)
    and three blank rows, as a browser without JavaScript sends them."""
    rows = [*rows, *[("", "", "", "eq", "")] * 3]
    data = {
        "name": name,
        "match": match,
        "rules-TOTAL_FORMS": str(len(rows)),
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "20",
    }
    for index, (kind, key, list_id, op, value) in enumerate(rows):
        data.update(
            {
                f"rules-{index}-kind": kind,
                f"rules-{index}-key": key,
                f"rules-{index}-list": list_id,
                f"rules-{index}-op": op,
                f"rules-{index}-value": value,
            }
        )
    return data


@pytest.fixture
def city(owner):
    return CustomField.objects.create(owner=owner, key="city", label="City")


def test_create_a_segment_see_its_count_and_sample_edit_and_delete(client, owner, city):
    news = MailingListFactory(owner=owner, name="News")
    for number in range(3):
        SubscriptionFactory(
            mailing_list=news,
            client=ClientFactory(
                owner=owner,
                email=f"b{number}@example.org",
                attributes={"city": "Berlin"},
            ),
        )
    ClientFactory(owner=owner, email="p@example.org", attributes={"city": "Paris"})
    page = client.get(reverse("audience:segment_create")).content.decode()
    assert page.count("data-rule-row") == 4  # three blank rows and the template
    response = client.post(
        reverse("audience:segment_create"),
        _rules(
            ("field", "city", "", "eq", "berlin"),
            ("list", "", str(news.pk), "in", ""),
        ),
    )
    segment = Segment.objects.get(owner=owner)
    assert response.url == segment.get_absolute_url()
    assert segment.conditions == {
        "match": "all",
        "rules": [
            {"kind": "field", "key": "city", "op": "eq", "value": "berlin"},
            {"kind": "list", "op": "in", "list": news.pk},
        ],
    }
    page = client.get(response.url).content.decode()
    assert "3 clients match now." in page
    assert "b0@example.org" in page and "p@example.org" not in page
    assert "City is “berlin”" in page
    assert "subscribed to News" in page
    edit = client.get(reverse("audience:segment_update", args=[segment.pk]))
    assert 'value="berlin"' in edit.content.decode()
    client.post(
        reverse("audience:segment_update", args=[segment.pk]),
        _rules(("field", "city", "", "eq", "Paris"), name="Parisians"),
    )
    segment.refresh_from_db()
    assert segment.name == "Parisians"
    page = client.get(segment.get_absolute_url()).content.decode()
    assert "1 client matches now." in page
    assert (
        client.get(reverse("audience:segment_list")).content.decode().count("Parisians")
    )
    confirm = client.get(reverse("audience:segment_delete", args=[segment.pk]))
    assert "Delete this segment?" in confirm.content.decode()
    mailing = MailingFactory(owner=owner, segment=segment)
    response = client.post(reverse("audience:segment_delete", args=[segment.pk]))
    assert response.url == segment.get_absolute_url()
    assert Segment.objects.exists()
    mailing.delete()
    client.post(reverse("audience:segment_delete", args=[segment.pk]))
    assert not Segment.objects.exists()


def test_a_faulty_rule_is_shown_and_nothing_is_saved(client, owner, city):
    theirs = MailingListFactory()
    response = client.post(
        reverse("audience:segment_create"), _rules(("field", "city", "", "gt", "5"))
    )
    assert response.status_code == 200
    assert "Rule 1: “is greater than / after” does not apply to the field City." in (
        response.content.decode()
    )
    response = client.post(
        reverse("audience:segment_create"),
        _rules(("list", "", str(theirs.pk), "in", "")),
    )
    assert "Select a valid choice" in response.content.decode()
    response = client.post(reverse("audience:segment_create"), _rules())
    assert "Add at least one rule." in response.content.decode()
    assert not Segment.objects.exists()


def test_another_users_segment_is_404(client, owner):
    other = Segment.objects.create(
        owner=ClientFactory().owner, name="Theirs", conditions={"rules": []}
    )
    for name in (
        "segment_detail",
        "segment_update",
        "segment_delete",
        "segment_export",
    ):
        assert (
            client.get(reverse(f"audience:{name}", args=[other.pk])).status_code == 404
        )
    assert (
        client.post(reverse("audience:segment_delete", args=[other.pk])).status_code
        == 404
    )
    assert Segment.objects.filter(pk=other.pk).exists()
    assert "Theirs" not in client.get(reverse("audience:segment_list")).content.decode()


def test_the_export_streams_the_fields_and_neutralises_formulas(client, owner, city):
    CustomField.objects.create(owner=owner, key="vip", label="VIP", type="boolean")
    ClientFactory(
        owner=owner,
        email="a@example.org",
        full_name="=HYPERLINK(1)",
        attributes={"city": "Berlin", "vip": True},
    )
    ClientFactory(owner=owner, email="b@example.org", attributes={"city": "Rome"})
    segment = Segment.objects.create(
        owner=owner,
        name="Berlin",
        conditions={
            "rules": [{"kind": "field", "key": "city", "op": "eq", "value": "berlin"}]
        },
    )
    response = client.get(reverse("audience:segment_export", args=[segment.pk]))
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["email", "full name", "city", "vip"],
        ["a@example.org", "'=HYPERLINK(1)", "Berlin", "yes"],
    ]


def test_the_mailing_form_offers_segments_and_saves_one(client, owner, queued_runs):
    news = MailingListFactory(owner=owner, name="News")
    mine = Segment.objects.create(owner=owner, name="Mine", conditions={"rules": []})
    theirs = Segment.objects.create(
        owner=ClientFactory().owner, name="Theirs", conditions={"rules": []}
    )
    message = MessageFactory(owner=owner)
    html = client.get(reverse("mailing:mailing_create")).content.decode()
    assert "Mine" in html and "Theirs" not in html
    assert "recipient_count.js" in html
    data = {
        "message": message.pk,
        "lists": [news.pk],
        "segment": mine.pk,
        "start_at": "2999-01-01T10:00",
        "end_at": "2999-01-02T10:00",
        "periodicity": "once",
    }
    response = client.post(reverse("mailing:mailing_create"), {**data, "lists": []})
    assert "choose at least one list" in response.content.decode()
    response = client.post(
        reverse("mailing:mailing_create"), {**data, "segment": theirs.pk}
    )
    assert "not one of your segments" in response.content.decode()
    response = client.post(reverse("mailing:mailing_create"), data)
    assert Mailing.objects.get(owner=owner).segment == mine
    detail = client.get(response.url).content.decode()
    assert 'id="mailing-segment"' in detail and "Mine" in detail


def test_the_recipient_count(client, owner, city):
    news = MailingListFactory(owner=owner)
    offers = MailingListFactory(owner=owner)
    berliners = [
        ClientFactory(owner=owner, attributes={"city": "Berlin"}) for _ in range(3)
    ]
    for person in berliners:
        SubscriptionFactory(mailing_list=news, client=person)
        SubscriptionFactory(mailing_list=offers, client=person)
    SubscriptionFactory(mailing_list=news, client=ClientFactory(owner=owner))
    Suppression.objects.create(owner=owner, email=berliners[0].email, reason="manual")
    picked = ClientFactory(owner=owner)
    segment = Segment.objects.create(
        owner=owner,
        name="Berlin",
        conditions={
            "rules": [{"kind": "field", "key": "city", "op": "eq", "value": "berlin"}]
        },
    )
    url = reverse("mailing:mailing_recipient_count")

    def count(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        return response.json()

    assert count(lists=[news.pk, offers.pk]) == {
        "count": 3,
        "kind": "exact",
        "text": "3 recipients",
    }
    assert count(lists=[news.pk], segment=segment.pk, clients=[picked.pk])["count"] == 3
    assert count(clients=[picked.pk])["text"] == "1 recipient"
    assert count(all_clients="on")["count"] == 4
    theirs = MailingListFactory()
    assert client.get(url, {"lists": [theirs.pk]}).status_code == 400
    client.logout()
    assert client.get(url).status_code == 302
