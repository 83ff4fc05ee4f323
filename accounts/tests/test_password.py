"""Password reset and change."""

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from conftest import PASSWORD

NEW_PASSWORD = "another-long-password-42"


def request_reset(client, email):
    return client.post(reverse("account_reset_password"), {"email": email}, follow=True)


def reset_path(text):
    match = re.search(r"https?://\S+/accounts/password/reset/key/\S+", text)
    assert match, text
    return urlsplit(match.group()).path


@pytest.mark.django_db
def test_reset_for_a_known_address_mails_a_working_link(client, customer, mailoutbox):
    response = request_reset(client, "customer@example.com")
    assert response.redirect_chain[-1][0] == reverse("account_reset_password_done")
    (mail,) = mailoutbox
    assert mail.subject == "[Mailsite] Reset your password"
    assert "Hello from Mailsite!" in mail.body

    # The key moves into the session, then the form sets the new password.
    response = client.get(reset_path(mail.body), follow=True)
    form_path = response.redirect_chain[-1][0]
    response = client.post(
        form_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    login = client.post(
        reverse("account_login"),
        {"login": "customer@example.com", "password": NEW_PASSWORD},
    )
    assert login["Location"] == "/app/"


@pytest.mark.django_db
def test_reset_never_tells_whether_an_address_has_an_account(
    client, customer, mailoutbox
):
    known = request_reset(client, "customer@example.com")
    unknown = request_reset(client, "nobody@example.com")
    assert known.redirect_chain == unknown.redirect_chain
    assert known.content == unknown.content
    # The stranger's mail does not carry a reset link.
    assert len(mailoutbox) == 2
    stranger = mailoutbox[1]
    assert stranger.to == ["nobody@example.com"]
    assert "/accounts/password/reset/key/" not in stranger.body


@pytest.mark.django_db
def test_a_broken_reset_link_is_explained(client):
    response = client.get("/accounts/password/reset/key/1-bad-key/", follow=True)
    assert response.status_code == 200
    assert "invalid" in response.content.decode().lower()


@pytest.mark.django_db
def test_password_change(client, customer, mailoutbox):
    client.force_login(customer, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    # Still logged in, and told by mail.
    assert client.get("/app/").status_code == 200
    (mail,) = mailoutbox
    assert mail.subject == "[Mailsite] Your password was changed"


@pytest.mark.django_db
def test_password_change_with_a_wrong_old_password_shows_an_error(client, customer):
    client.force_login(customer, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)
