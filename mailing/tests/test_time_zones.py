"""A customer's schedule lives in their own time zone: the form reads the
times they type in it, the database keeps UTC, the pages show their local
time. The recipient's unsubscribe page speaks the sender's language."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from mailing.models import Mailing
from mailing.tests.factories import ClientFactory, MessageFactory, UserFactory
from mailing.unsubscribe import unsubscribe_token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [("2027-01-15", 14), ("2027-07-15", 13)],
    ids=["winter (EST)", "summer (EDT)"],
)
def test_a_new_york_customer_enters_09_00_and_sees_09_00(client, day, utc_hour):
    """09:00 typed in New York is stored as 14:00 UTC in winter and 13:00 UTC
    in summer (the site's zone is Berlin), and the pages show 09:00 again."""
    owner = UserFactory(time_zone="America/New_York")
    client.force_login(owner)
    message = MessageFactory(owner=owner)
    ClientFactory(owner=owner)
    form = client.get(reverse("mailing:mailing_create")).content.decode()
    assert "America/New_York" in form
    response = client.post(
        reverse("mailing:mailing_create"),
        {
            "message": message.pk,
            "all_clients": "on",
            "start_at": f"{day}T09:00",
            "end_at": "2027-12-31T18:00",
            "periodicity": "daily",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    mailing = Mailing.objects.get()
    year, month, date = map(int, day.split("-"))
    assert mailing.start_at == datetime(year, month, date, utc_hour, tzinfo=UTC)
    # The next occurrences keep 09:00 New York across DST changes.
    assert mailing.next_run_at == mailing.start_at

    page = client.get(mailing.get_absolute_url()).content.decode()
    assert f"{day} 09:00" in page
    edit = client.get(reverse("mailing:mailing_update", args=[mailing.pk]))
    assert f'value="{day}T09:00"' in edit.content.decode()


def test_the_same_moment_shows_in_each_owner_zone(client):
    """One UTC instant, two customers: each sees their own wall clock."""
    moment = datetime(2027, 1, 15, 14, tzinfo=UTC)
    for zone, shown in [("America/New_York", "09:00"), ("Europe/Moscow", "17:00")]:
        owner = UserFactory(time_zone=zone)
        mailing = Mailing.objects.create(
            owner=owner,
            message=MessageFactory(owner=owner),
            start_at=moment,
            end_at=datetime(2027, 2, 1, tzinfo=UTC),
        )
        client.force_login(owner)
        page = client.get(mailing.get_absolute_url()).content.decode()
        assert f"2027-01-15 {shown}" in page


@pytest.mark.parametrize(
    ("owner_language", "browser", "expected", "unexpected"),
    [
        ("ru", "en", "Отписаться?", "Unsubscribe?"),
        ("en", "ru", "Unsubscribe?", "Отписаться?"),
        ("", "ru", "Отписаться?", "Unsubscribe?"),
    ],
    ids=["russian sender", "english sender", "sender follows browser"],
)
def test_the_unsubscribe_page_speaks_the_senders_language(
    client, owner_language, browser, expected, unexpected
):
    """The recipient reads the language of the customer who mailed them (the
    language of the mailing), not their browser's; a sender with no saved
    language leaves it to the browser."""
    owner = UserFactory(language=owner_language)
    recipient = ClientFactory(owner=owner)
    token = unsubscribe_token(owner_id=owner.pk, client_id=recipient.pk)
    url = reverse("mailing_public:unsubscribe", args=[token])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=browser)
    body = response.content.decode()
    assert expected in body
    assert unexpected not in body
    done = client.post(url, HTTP_ACCEPT_LANGUAGE=browser).content.decode()
    assert ("Вы отписались" in done) == (expected == "Отписаться?")
