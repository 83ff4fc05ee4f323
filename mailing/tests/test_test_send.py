""" "Send a test": through the engine to a real SMTP server (aiosmtpd),
`[Test]` in the subject, rendered for the chosen client, no run or delivery,
the addresses validated and the hourly limit kept."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from mailing import services
from mailing.models import Client, Delivery, MailingTestSend, Run
from mailing.tests.engine_support import make_mailing, make_owner

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailing(settings):
    settings.DEFAULT_FROM_EMAIL = "Mailsite <noreply@mailsite.test>"
    return make_mailing(
        clients=2,
        subject="News for {{ full_name }}",
        html_body="<p>Hello {{ full_name }}</p>",
    )


def test_a_test_reaches_the_server_marked_and_leaves_no_delivery(
    smtp_sink, mailing, django_capture_on_commit_callbacks
):
    chosen = Client.objects.filter(owner=mailing.owner).order_by("pk").last()
    with django_capture_on_commit_callbacks(execute=True):
        test_send = services.mailing_test_send(
            mailing=mailing,
            addresses="me@example.org, Boss@Example.org",
            client=chosen,
        )
    assert test_send.addresses == ["me@example.org", "boss@example.org"]
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == [
        "boss@example.org",
        "me@example.org",
    ]
    received = smtp_sink.messages[0]
    assert received.subject == f"[Test] News for {chosen.full_name}"
    assert f"Hello {chosen.full_name}" in received.html()
    assert received.text().strip()
    assert received.message["List-Unsubscribe"]
    assert not Run.objects.exists()
    assert not Delivery.objects.exists()
    test_send.refresh_from_db()
    assert test_send.finished_at is not None
    assert "me@example.org: 250" in test_send.outcome
    assert "boss@example.org: 250" in test_send.outcome


def test_a_test_without_a_client_uses_the_mailings_first(
    smtp_sink, mailing, django_capture_on_commit_callbacks
):
    first = Client.objects.filter(owner=mailing.owner).order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        services.mailing_test_send(mailing=mailing, addresses=["me@example.org"])
    [received] = smtp_sink.messages
    assert received.subject == f"[Test] News for {first.full_name}"


def test_two_tests_have_different_message_ids(
    smtp_sink, mailing, django_capture_on_commit_callbacks
):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            services.mailing_test_send(mailing=mailing, addresses="me@example.org")
    ids = {m.message["Message-ID"] for m in smtp_sink.messages}
    assert len(ids) == 2


def test_the_servers_refusal_is_the_outcome(
    smtp_sink, mailing, django_capture_on_commit_callbacks
):
    smtp_sink.mode = "550"
    with django_capture_on_commit_callbacks(execute=True):
        test_send = services.mailing_test_send(
            mailing=mailing, addresses="me@example.org"
        )
    test_send.refresh_from_db()
    assert test_send.outcome.startswith("me@example.org: 550")


@pytest.mark.parametrize(
    ("addresses", "error"),
    [
        ("", "at least one address"),
        ("a@x.org b@x.org c@x.org d@x.org e@x.org f@x.org", "at most 5 addresses"),
        ("good@example.org, not-an-address", "not-an-address: Enter a valid"),
    ],
)
def test_addresses_are_validated(mailing, addresses, error):
    with pytest.raises(ValidationError) as refused:
        services.mailing_test_send(mailing=mailing, addresses=addresses)
    assert error in " ".join(refused.value.messages)
    assert not MailingTestSend.objects.exists()


def test_another_users_client_is_refused(mailing):
    stranger = Client.objects.create(owner=make_owner(), email="s@example.org")
    with pytest.raises(ValidationError, match="another user"):
        services.mailing_test_send(
            mailing=mailing, addresses="me@example.org", client=stranger
        )


def test_ten_test_messages_an_hour(mailing):
    # (The on-commit callbacks that would queue the sends never run here.)
    now = timezone.now()
    services.mailing_test_send(
        mailing=mailing, addresses="a@x.org b@x.org c@x.org d@x.org e@x.org", now=now
    )
    services.mailing_test_send(
        mailing=mailing, addresses="a@x.org b@x.org c@x.org d@x.org", now=now
    )
    with pytest.raises(ValidationError) as refused:
        services.mailing_test_send(mailing=mailing, addresses="a@x.org b@x.org")
    assert "10 test messages an hour; 1 is left" in refused.value.messages[0]
    services.mailing_test_send(mailing=mailing, addresses="a@x.org")
    with pytest.raises(ValidationError, match="0 are left"):
        services.mailing_test_send(mailing=mailing, addresses="a@x.org")
    # Another customer has their own allowance; an hour later it is back.
    other = make_mailing()
    services.mailing_test_send(mailing=other, addresses="a@x.org")
    MailingTestSend.objects.filter(owner=mailing.owner).update(
        created_at=now - timedelta(hours=1, seconds=1)
    )
    services.mailing_test_send(mailing=mailing, addresses="a@x.org b@x.org")


def test_the_page_queues_a_test_and_shows_its_outcome(
    client, smtp_sink, mailing, django_capture_on_commit_callbacks
):
    client.force_login(mailing.owner)
    chosen = Client.objects.filter(owner=mailing.owner).order_by("pk").last()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("mailing:mailing_test_send", args=[mailing.pk]),
            {"addresses": "me@example.org", "client_email": chosen.email.upper()},
        )
    # The task ran on commit, after the response: the page now shows it.
    page = client.get(response["Location"]).content.decode()
    assert "A test to 1 address has been queued" in page
    assert "data-test-status" in page
    assert "me@example.org: 250" in page
    assert smtp_sink.messages[0].subject == f"[Test] News for {chosen.full_name}"


def test_the_page_says_what_is_wrong(client, mailing):
    client.force_login(mailing.owner)
    response = client.post(
        reverse("mailing:mailing_test_send", args=[mailing.pk]),
        {"addresses": "me@example.org", "client_email": "nobody@example.org"},
        follow=True,
    )
    assert "None of your clients has this address." in response.content.decode()
    assert not MailingTestSend.objects.exists()


def test_another_users_mailing_is_a_404(client, mailing):
    client.force_login(make_owner())
    response = client.post(
        reverse("mailing:mailing_test_send", args=[mailing.pk]),
        {"addresses": "me@example.org"},
    )
    assert response.status_code == 404
