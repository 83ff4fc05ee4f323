"""The unsubscribe token is computed with hmac directly, and is the very
token Django's Signer gives: links in mail sent before keep working."""

import pytest
from django.core import signing
from django.test import Client as HttpClient

from mailing.tests.engine_support import make_mailing
from mailing.unsubscribe import (
    UNSUBSCRIBE_SALT,
    unsubscribe_target,
    unsubscribe_token,
)

IDS = [(1, 1), (3, 17), (12345, 0), (2**31 - 1, 2**63 - 1), (7, 900_000)]


@pytest.mark.parametrize(("owner_id", "client_id"), IDS)
def test_the_token_is_the_signers_token(owner_id, client_id):
    expected = signing.Signer(salt=UNSUBSCRIBE_SALT).sign(f"{owner_id}.{client_id}")
    assert unsubscribe_token(owner_id=owner_id, client_id=client_id) == expected


def test_the_token_follows_the_secret_key(settings):
    before = unsubscribe_token(owner_id=3, client_id=17)
    settings.SECRET_KEY = "another-secret-key-for-this-test"
    after = unsubscribe_token(owner_id=3, client_id=17)
    assert after != before
    assert after == signing.Signer(salt=UNSUBSCRIBE_SALT).sign("3.17")
    assert unsubscribe_target(after.replace(":", ":x")) is None


@pytest.mark.django_db
def test_a_link_signed_the_old_way_still_unsubscribes():
    """A token made by a Signer per message (as before) opens the page."""
    client = make_mailing(clients=1).clients.get()
    old = signing.Signer(salt=UNSUBSCRIBE_SALT).sign(f"{client.owner_id}.{client.pk}")
    assert unsubscribe_target(old).client == client
    response = HttpClient().post(f"/m/unsubscribe/{old}/")
    assert b"You are unsubscribed" in response.content
    client.refresh_from_db()
    assert client.unsubscribed_at is not None
