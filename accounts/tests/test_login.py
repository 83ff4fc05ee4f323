"""Who may log in, and what the others are told."""

import pytest
from django.urls import reverse

from conftest import PASSWORD


def log_in(client, email, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


@pytest.mark.django_db
def test_a_confirmed_customer_logs_in(client, customer):
    response = log_in(client, "customer@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/app/"


@pytest.mark.django_db
def test_the_login_is_case_insensitive(client, customer):
    assert log_in(client, "Customer@Example.COM")["Location"] == "/app/"


@pytest.mark.django_db
def test_a_wrong_password_is_refused_without_detail(client, customer):
    response = log_in(client, "customer@example.com", "wrong-password")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert client.get("/app/").status_code == 302


@pytest.mark.django_db
def test_an_unconfirmed_user_cannot_use_the_service(client, make_user, mailoutbox):
    """Logging in with an unconfirmed address sends a new link instead."""
    make_user("late@example.com", verified=False)
    response = log_in(client, "late@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    page = client.get(response["Location"]).content.decode()
    assert "Check your inbox" in page
    assert client.get("/app/").status_code == 302
    (mail,) = mailoutbox
    assert "/accounts/confirm-email/" in mail.body


@pytest.mark.django_db
def test_a_blocked_user_cannot_log_in_and_is_told_so(client, make_user):
    make_user("blocked@example.com", is_active=False)
    response = log_in(client, "blocked@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_inactive")
    page = client.get(response["Location"]).content.decode()
    assert "Your account is blocked" in page
    assert client.get("/app/").status_code == 302


@pytest.mark.django_db
def test_a_blocked_user_with_a_wrong_password_learns_nothing(client, make_user):
    make_user("blocked@example.com", is_active=False)
    response = log_in(client, "blocked@example.com", "wrong-password")
    assert response.status_code == 200
    assert "account is blocked" not in response.content.decode()
    assert "not correct" in response.content.decode()


@pytest.mark.django_db
def test_blocking_ends_a_running_session(client, customer):
    client.force_login(customer, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/app/").status_code == 200
    customer.is_active = False
    customer.save()
    assert client.get("/app/").status_code == 302


@pytest.mark.django_db
def test_failed_logins_are_rate_limited(client, customer):
    """After five failures even the right password is refused for a while."""
    for _ in range(5):
        assert log_in(client, "customer@example.com", "wrong").status_code == 200
    response = log_in(client, "customer@example.com")
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/app/").status_code == 302


@pytest.mark.django_db
def test_the_rate_limit_covers_other_addresses_from_one_place(
    client, customer, make_user
):
    """Another address from the same place is limited by the per-IP rule."""
    make_user("other@example.com")
    for _ in range(5):
        log_in(client, "customer@example.com", "wrong")
    response = log_in(client, "other@example.com")
    assert "Too many failed login attempts" in response.content.decode()


@pytest.mark.django_db
def test_log_out(client, customer):
    client.force_login(customer, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get("/app/").status_code == 302
