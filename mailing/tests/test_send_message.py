"""The message on the wire, and the unsubscribe link it carries."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client as HttpClient
from django.utils import timezone

from mailing.models import Client, Delivery
from mailing.tests.engine_support import make_mailing
from mailing.unsubscribe import unsubscribe_token


@pytest.fixture(autouse=True)
def short_timeout(settings):
    settings.EMAIL_TIMEOUT = 1
    settings.SITE_URL = "https://mail.example.org"


@pytest.mark.django_db
def test_the_message_has_both_parts_placeholders_and_one_click_unsubscribe(
    smtp_sink,
):
    mailing = make_mailing(
        clients=1,
        subject="Hello {{ full_name }} – news",
        body="Dear {{ full_name }},\n.leading dot stays\nfor {{ email }}",
        html_body="<html><body><p>Dear {{ full_name }}</p></body></html>",
    )
    client = mailing.clients.get()
    Client.objects.filter(pk=client.pk).update(full_name="Zoë <O'Brien>")
    call_command("send_mailings")
    delivery = Delivery.objects.get()
    [mail] = smtp_sink.messages
    message = mail.message
    assert mail.rcpt_tos == [client.email]
    assert message["Subject"] == "Hello Zoë <O'Brien> – news"
    assert message["To"].addresses[0].display_name == "Zoë <O'Brien>"
    assert message["To"].addresses[0].addr_spec == client.email
    assert message["Message-ID"] == delivery.message_id
    assert delivery.message_id == f"<run{delivery.run_id}.client{client.pk}@localhost>"
    assert message["Date"] and message["MIME-Version"] == "1.0"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://mail.example.org/m/unsubscribe/")
    text = mail.text().replace("\r\n", "\n")
    assert "Dear Zoë <O'Brien>,\n.leading dot stays\nfor " + client.email in text
    assert link in text
    markup = mail.html()
    assert "<p>Dear Zoë &lt;O&#x27;Brien&gt;</p>" in markup
    assert f'href="{link}"' in markup
    assert markup.index("Unsubscribe") < markup.index("</body>")


@pytest.mark.django_db
def test_headers_cannot_be_injected_and_bad_addresses_are_refused(smtp_sink):
    mailing = make_mailing(clients=2, subject="Hi {{ full_name }}")
    first, second = mailing.clients.order_by("pk")
    Client.objects.filter(pk=first.pk).update(
        full_name="Eve\r\nBcc: victim@example.com"
    )
    # Written around the model's validation, as a hostile import might.
    Client.objects.filter(pk=second.pk).update(
        email="x@example.com>\r\nRCPT TO:<victim@example.com"
    )
    call_command("send_mailings")
    [mail] = smtp_sink.messages
    assert mail.message["Bcc"] is None
    assert mail.rcpt_tos == [first.email]
    assert mail.message["Subject"] == "Hi Eve Bcc: victim@example.com"
    refused = Delivery.objects.get(client=second)
    assert refused.status == Delivery.Status.FAILED
    assert refused.server_response.startswith("Not a deliverable address")
    assert refused.attempts == 0


@pytest.mark.django_db
class TestUnsubscribePage:
    def url(self, client):
        token = unsubscribe_token(owner_id=client.owner_id, client_id=client.pk)
        return f"/m/unsubscribe/{token}/"

    def test_get_asks_and_post_unsubscribes(self):
        client = make_mailing(clients=1).clients.get()
        response = HttpClient().get(self.url(client))
        assert response.status_code == 200
        assert b"Unsubscribe?" in response.content
        assert client.email.encode() in response.content
        client.refresh_from_db()
        assert client.unsubscribed_at is None
        response = HttpClient().post(self.url(client))
        assert b"You are unsubscribed" in response.content
        client.refresh_from_db()
        assert client.unsubscribed_at is not None

    def test_one_click_post_without_csrf_token(self):
        """RFC 8058: the mail provider POSTs List-Unsubscribe=One-Click."""
        client = make_mailing(clients=1).clients.get()
        response = HttpClient(enforce_csrf_checks=True).post(
            self.url(client),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        client.refresh_from_db()
        assert client.unsubscribed_at is not None

    def test_a_forged_or_foreign_token_changes_nothing(self):
        client = make_mailing(clients=1).clients.get()
        other_owner = make_mailing(clients=0).owner
        forged = unsubscribe_token(owner_id=other_owner.pk, client_id=client.pk)
        for token in [forged, "garbage", self.url(client).split("/")[3][:-3] + "abc"]:
            response = HttpClient().post(f"/m/unsubscribe/{token}/")
            assert response.status_code == 404
            assert b"This link does not work" in response.content
        client.refresh_from_db()
        assert client.unsubscribed_at is None


@pytest.mark.django_db
def test_later_runs_skip_an_unsubscribed_client(smtp_sink):
    mailing = make_mailing(clients=3, periodicity="daily")
    call_command("send_mailings")
    assert len(smtp_sink.messages) == 3
    [mail] = smtp_sink.received_by(mailing.clients.order_by("pk").first().email)
    link = mail.message["List-Unsubscribe"].strip("<>")
    response = HttpClient().post(link.replace("https://mail.example.org", ""))
    assert response.status_code == 200
    smtp_sink.clear()
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=True):
        call_command("send_mailings")
    assert len(smtp_sink.messages) == 2
    gone = mailing.clients.order_by("pk").first()
    assert gone.unsubscribed_at is not None
    assert not smtp_sink.received_by(gone.email)
    assert Delivery.objects.filter(client=gone).count() == 1


@pytest.mark.django_db
def test_a_client_unsubscribing_mid_run_is_not_sent_the_rest(smtp_sink):
    mailing = make_mailing(clients=2)
    smtp_sink.mode = "451"
    call_command("send_mailings")
    gone = mailing.clients.order_by("pk").first()
    token = unsubscribe_token(owner_id=gone.owner_id, client_id=gone.pk)
    HttpClient().post(f"/m/unsubscribe/{token}/")
    smtp_sink.mode = "accept"
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True):
        call_command("send_mailings")
    skipped = Delivery.objects.get(client=gone)
    assert skipped.status == Delivery.Status.FAILED
    assert skipped.server_response == "Not sent: the client unsubscribed."
    assert len(smtp_sink.messages) == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_unsubscribing_in_the_browser(page, screenshot):
    """A recipient follows the link, confirms, and is unsubscribed."""
    client = make_mailing(clients=1).clients.get()
    token = unsubscribe_token(owner_id=client.owner_id, client_id=client.pk)
    page.goto(f"/m/unsubscribe/{token}/")
    assert page.get_by_role("heading", name="Unsubscribe?").is_visible()
    screenshot("confirm")
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    client.refresh_from_db()
    assert client.unsubscribed_at is not None
