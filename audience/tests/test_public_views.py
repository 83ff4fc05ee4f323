"""The public sign-up form, its confirmation link and the preference centre."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from audience import public_views
from audience.models import Subscription
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing.models import Client, Suppression
from mailing.tests.factories import UserFactory
from mailing.unsubscribe import unsubscribe_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


def _subscribe(client, mailing_list, ip="192.0.2.10", **data):
    return client.post(
        mailing_list.get_form_url(),
        {"email": "visitor@example.org", "full_name": "Vi Sitor", **data},
        REMOTE_ADDR=ip,
    )


def _confirm_url(message) -> str:
    return re.search(r"https?://\S+/subscribe/confirm/\S+/", message.body).group(0)


def test_the_hosted_form_is_in_the_owners_language(client):
    mailing_list = MailingListFactory(owner=UserFactory(language="ru"))
    response = client.get(mailing_list.get_form_url())
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "ru"
    assert "Подписаться" in response.content.decode()
    assert 'name="website"' in response.content.decode()


def test_an_unknown_form_is_404(client):
    assert client.get("/subscribe/nothing-here/").status_code == 404


def test_signup_then_confirm(client, django_capture_on_commit_callbacks):
    """A visitor signs up without a CSRF token (the embedded snippet), gets
    the confirmation mail, and the link's POST subscribes them."""
    csrf_client = type(client)(enforce_csrf_checks=True)
    mailing_list = MailingListFactory(welcome_message="Glad you came.")
    with django_capture_on_commit_callbacks(execute=True):
        response = _subscribe(csrf_client, mailing_list)
    assert response.status_code == 302
    assert response.url.endswith("?thanks=1")
    assert "Check your inbox" in client.get(response.url).content.decode()
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.UNCONFIRMED
    assert subscription.consent_ip == "192.0.2.10"
    url = _confirm_url(mail.outbox[0])
    path = url.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNCONFIRMED  # GET: no change
    page = client.post("/" + path)
    assert "Glad you came." in page.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.SUBSCRIBED
    assert subscription.confirmed_at is not None


def test_a_forged_confirmation_link_is_404(client):
    url = reverse("audience_public:confirm", args=["forged"])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404


def test_the_honeypot_keeps_bots_out(client, django_capture_on_commit_callbacks):
    mailing_list = MailingListFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = _subscribe(client, mailing_list, website="http://spam.example")
    assert response.status_code == 302  # the same answer as a person gets
    assert not Subscription.objects.exists()
    assert not Client.objects.exists()
    assert mail.outbox == []


def test_a_suppressed_address_sees_the_same_page_and_gets_nothing(
    client, django_capture_on_commit_callbacks
):
    mailing_list = MailingListFactory()
    Suppression.objects.create(
        owner=mailing_list.owner, email="visitor@example.org", reason="unsubscribed"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = _subscribe(client, mailing_list)
    assert response.status_code == 302
    assert response.url.endswith("?thanks=1")
    assert not Subscription.objects.exists()
    assert mail.outbox == []


def test_an_invalid_address_is_shown_on_the_form(client):
    response = _subscribe(client, MailingListFactory(), email="not an address")
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert not Subscription.objects.exists()


def test_sign_ups_are_rate_limited_per_ip(client, monkeypatch):
    monkeypatch.setattr(public_views, "SIGNUP_LIMIT", 2)
    mailing_list = MailingListFactory()
    for n in range(2):
        assert _subscribe(client, mailing_list, email=f"v{n}@example.org").status_code
    response = _subscribe(client, mailing_list, email="v9@example.org")
    assert response.status_code == 429
    assert not Client.objects.filter(email="v9@example.org").exists()
    other_ip = _subscribe(client, mailing_list, ip="192.0.2.99", email="v8@example.org")
    assert other_ip.status_code == 302


def _preferences_url(subscription):
    token = unsubscribe_token(
        owner_id=subscription.mailing_list.owner_id, client_id=subscription.client_id
    )
    return reverse("audience_public:preferences", args=[token])


def test_the_preference_centre_lists_and_leaves_one(client):
    first = SubscriptionFactory(mailing_list__name="News")
    owner = first.mailing_list.owner
    second = SubscriptionFactory(
        client=first.client, mailing_list=MailingListFactory(owner=owner, name="Offers")
    )
    SubscriptionFactory(client__email=first.client.email)  # another sender's
    url = _preferences_url(first)
    page = client.get(url).content.decode()
    assert "News" in page and "Offers" in page
    assert page.count('name="leave"') == 3  # two lists and "everything"
    client.post(url, {"leave": second.pk})
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.status == Subscription.Status.UNSUBSCRIBED
    assert first.status == Subscription.Status.SUBSCRIBED
    assert not Suppression.objects.exists()


def test_the_preference_centre_refuses_another_senders_subscription(client):
    mine = SubscriptionFactory()
    theirs = SubscriptionFactory(client__email=mine.client.email)
    response = client.post(_preferences_url(mine), {"leave": theirs.pk})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Subscription.Status.SUBSCRIBED


def test_leaving_everything_writes_the_suppression_entry(client):
    subscription = SubscriptionFactory()
    url = _preferences_url(subscription)
    client.post(url, {"leave": "all"})
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    entry = Suppression.objects.get()
    assert entry.email == subscription.client.email
    assert entry.reason == Suppression.Reason.UNSUBSCRIBED
    assert "receive no mailings" in client.get(url).content.decode()


def test_a_forged_preferences_link_is_404(client):
    assert client.get("/m/preferences/1.2:forged/").status_code == 404
