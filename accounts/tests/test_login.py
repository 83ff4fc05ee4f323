"""Who may log in, and what the others are told."""

import os
import subprocess
import sys

import pytest
from allauth.account.adapter import get_adapter
from django.conf import settings as django_settings
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


LOCKED = "Too many failed login attempts"
PROXY = "127.0.0.1"
ATTACKER = "203.0.113.7"
NEIGHBOUR = "198.51.100.20"
# Failures from one address, over any accounts, before it is locked out.
PER_IP = 20


def log_in_from(client, email, password=PASSWORD, **headers):
    return client.post(
        reverse("account_login"), {"login": email, "password": password}, **headers
    )


def fail_on_many_accounts(client, *, remote_addr, forwarded_for):
    """PER_IP wrong passwords, each at another account; `forwarded_for` is
    formatted with the attempt's number `n`."""
    for n in range(PER_IP):
        log_in_from(
            client,
            f"guess{n}@example.com",
            "wrong",
            REMOTE_ADDR=remote_addr,
            HTTP_X_FORWARDED_FOR=forwarded_for.format(n=n),
        )


@pytest.mark.django_db
def test_hammering_one_account_never_locks_out_the_others(client, customer, make_user):
    """Twenty-five failures at one account lock that account only: another
    account still logs in from the same address. (Past 30 posts a minute the
    flood guard answers 429 to that address for the rest of the minute.)"""
    make_user("other@example.com")
    for _ in range(25):
        log_in(client, "customer@example.com", "wrong")
    assert LOCKED in log_in(client, "customer@example.com").content.decode()
    assert log_in(client, "other@example.com")["Location"] == "/app/"


@pytest.mark.django_db
def test_one_client_trying_many_accounts_is_stopped_by_the_per_ip_rule(
    client, make_user
):
    """Twenty failures spread over many addresses lock that client out."""
    make_user("other@example.com")
    for n in range(PER_IP):
        log_in(client, f"guess{n}@example.com", "wrong")
    assert LOCKED in log_in(client, "other@example.com").content.decode()


@pytest.mark.django_db
def test_a_forged_forwarded_for_changes_nothing_without_a_trusted_proxy(
    client, make_user, settings
):
    """With TRUSTED_PROXY_COUNT=0 a client writing a new X-Forwarded-For on
    every attempt is still counted by its own address."""
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == 0
    make_user("other@example.com")
    fail_on_many_accounts(client, remote_addr=ATTACKER, forwarded_for="192.0.2.{n}")
    response = log_in_from(
        client,
        "other@example.com",
        REMOTE_ADDR=ATTACKER,
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )
    assert LOCKED in response.content.decode()


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_visitor_has_their_own_limit(
    client, make_user, settings
):
    """With TRUSTED_PROXY_COUNT=1 every request comes from the proxy, and the
    address the proxy appended is the client's: an attacker locked out by
    the per-IP rule does not lock out a neighbour behind the same proxy, and
    a prefix the attacker forges in front of the proxy's entry is ignored."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    make_user("other@example.com")
    fail_on_many_accounts(
        client, remote_addr=PROXY, forwarded_for="192.0.2.{n}, " + ATTACKER
    )
    attacker = log_in_from(
        client,
        "other@example.com",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"192.0.2.99, {ATTACKER}",
    )
    assert LOCKED in attacker.content.decode()
    neighbour = log_in_from(
        client, "other@example.com", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=NEIGHBOUR
    )
    assert neighbour["Location"] == "/app/"


def test_the_client_address_comes_from_the_trusted_end_of_the_header(rf, settings):
    """The address the rate limits use: REMOTE_ADDR unless proxies are
    trusted, then the entry the last trusted proxy appended."""

    request = rf.post(
        "/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {ATTACKER}"
    )
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    assert get_adapter().get_client_ip(request) == PROXY
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    assert get_adapter().get_client_ip(request) == ATTACKER
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    assert get_adapter().get_client_ip(request) == "192.0.2.1"


def test_trusted_proxy_count_comes_from_the_environment():
    """TRUSTED_PROXY_COUNT (default 0) feeds allauth's client-IP resolution."""

    def read(**env):
        environment = {
            **{k: v for k, v in os.environ.items() if k != "TRUSTED_PROXY_COUNT"},
            "DJANGO_SETTINGS_MODULE": "mailsite.settings.test",
            **env,
        }
        code = (
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)"
        )
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=django_settings.BASE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert read() == "0"
    assert read(TRUSTED_PROXY_COUNT="1") == "1"
