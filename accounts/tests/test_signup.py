"""Sign up, confirm the address by the link in the mail, land logged in."""

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from accounts.models import User

PASSWORD = "a-long-fresh-password-7"
LINK = re.compile(r"https?://\S+")


def sign_up(client, email="new@example.com"):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def confirmation_path(text):
    for url in LINK.findall(text):
        if "/accounts/confirm-email/" in url:
            return urlsplit(url).path
    raise AssertionError(f"no confirmation link in:\n{text}")


def assert_confirm_and_log_in(client, text):
    # Not yet confirmed: the service is closed.
    assert client.get("/app/").status_code == 302
    response = client.get(confirmation_path(text))
    assert response.status_code == 302
    assert response["Location"] == "/app/"
    assert client.get("/app/").status_code == 200

    user = User.objects.get(email="new@example.com")
    assert user.emailaddress_set.get().verified

    # Later, from another browser: the password works.
    client.post(reverse("account_logout"))
    assert client.get("/app/").status_code == 302
    response = client.post(
        reverse("account_login"), {"login": "new@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/app/"


@pytest.mark.django_db
def test_sign_up_confirm_and_log_in_through_the_outbox(client, mailoutbox):
    """A new account is confirmed through the link mailed to it (locmem)."""
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["new@example.com"]
    assert mail.subject == "[Mailsite] Confirm your e-mail address"
    assert mail.from_email == "Mailsite <noreply@localhost>"
    assert "Hello from Mailsite!" in mail.body
    assert_confirm_and_log_in(client, mail.body)


@pytest.mark.django_db
def test_sign_up_confirm_and_log_in_through_a_real_smtp_server(client, smtp_sink):
    """The same flow with the mail going over SMTP to an aiosmtpd server."""
    assert sign_up(client).status_code == 302
    (mail,) = smtp_sink.received_by("new@example.com")
    assert mail.subject == "[Mailsite] Confirm your e-mail address"
    assert "noreply@localhost" in mail.mail_from
    assert_confirm_and_log_in(client, mail.text())


@pytest.mark.django_db
def test_the_verification_page_says_what_to_do(client):
    response = sign_up(client)
    page = client.get(response["Location"]).content.decode()
    assert "Check your inbox" in page
    assert "you can use Mailsite once it is confirmed" in page


@pytest.mark.django_db
def test_sign_up_with_a_taken_address_reveals_nothing(client, customer, mailoutbox):
    """The page is the same; the owner of the address gets a hint by mail."""
    response = sign_up(client, email="customer@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert User.objects.filter(email="customer@example.com").count() == 1
    (mail,) = mailoutbox
    assert "already" in mail.subject.lower()


@pytest.mark.django_db
def test_sign_up_form_errors_are_shown(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "not-an-address", "password1": "x", "password2": "y"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "is-invalid" in page
    assert not User.objects.exists()


@pytest.mark.django_db
def test_an_invalid_confirmation_link_is_explained(client):
    response = client.get("/accounts/confirm-email/not-a-key/")
    assert response.status_code == 200
    assert "expired or is invalid" in response.content.decode()
