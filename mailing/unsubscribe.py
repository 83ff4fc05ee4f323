"""Unsubscribe links: the signed token and what a link is for (the
service behind the page is `mailing.services.unsubscribe`).

A token names an owner and a client row. Unsubscribing puts the address on
the owner's suppression list, which outlives the row: deleting the client
and adding or importing the address again does not mail it again, and the
link in the old mail still answers "you are unsubscribed".
"""

import base64
import functools
import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from mailing.models import Client, Delivery, Suppression

UNSUBSCRIBE_SALT = "mailing.unsubscribe"


def _signer() -> signing.Signer:
    return signing.Signer(salt=UNSUBSCRIBE_SALT)


@functools.lru_cache(maxsize=4)
def _hmac_key(secret: str) -> bytes:
    # Django's salted_hmac: the key is the hash of salt + secret.
    return hashlib.sha256(f"{UNSUBSCRIBE_SALT}signer{secret}".encode()).digest()


def unsubscribe_token(*, owner_id: int, client_id: int) -> str:
    """A signed, non-expiring token naming one owner's client ("3.17:sig").

    Exactly what `Signer(salt=UNSUBSCRIBE_SALT).sign("3.17")` gives (so the
    page checks it with that Signer, SECRET_KEY_FALLBACKS included), but
    computed with `hmac` directly from a key derived once per SECRET_KEY: a
    new Signer per message cost more than the rest of the message's
    headers, at 100,000 messages a run.
    """
    value = f"{owner_id}.{client_id}"
    digest = hmac.digest(_hmac_key(settings.SECRET_KEY), value.encode(), "sha256")
    return f"{value}:{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


@dataclass
class UnsubscribeTarget:
    """The address an unsubscribe link speaks for.

    `client` is the row the link was made for, or None once it is deleted;
    `suppression` the owner's entry for the address, if any; `mailing_id`
    the mailing that carried the link, when it is already known.
    """

    owner_id: int
    client_id: int
    email: str
    client: Client | None
    suppression: Suppression | None
    mailing_id: int | None = None

    @property
    def done(self) -> bool:
        """Whether the recipient has already opted out (an entry the
        customer added by hand can be lifted, so it does not count)."""
        return (
            self.suppression is not None
            and self.suppression.reason in Suppression.RECIPIENT_REASONS
        )


def unsubscribe_target(token: str) -> UnsubscribeTarget | None:
    """What a token's link is for, or None when it is forged or names
    nothing this site knows any more.

    A deleted client is still found through the suppression entry their
    link made, or else through the delivery log (whose Message-IDs name the
    client), so a link in old mail keeps working.
    """
    try:
        owner_id, client_id = (int(part) for part in _signer().unsign(token).split("."))
    except (signing.BadSignature, ValueError):
        return None
    client = Client.objects.filter(pk=client_id, owner_id=owner_id).first()
    mailing_id = None
    if client is not None:
        email = client.email
    elif entry := Suppression.objects.filter(
        owner_id=owner_id, client_id=client_id
    ).first():
        return UnsubscribeTarget(owner_id, client_id, entry.email, None, entry)
    elif sent := _sent_to_deleted_client(owner_id=owner_id, client_id=client_id):
        email, mailing_id = sent
    else:
        return None
    return UnsubscribeTarget(
        owner_id,
        client_id,
        email,
        client,
        Suppression.objects.filter(owner_id=owner_id, email=email).first(),
        mailing_id,
    )


def _sent_to_deleted_client(*, owner_id: int, client_id: int):
    """(address, mailing id) of the last message sent to a deleted client.

    Deleting a client empties `Delivery.client`, but the Message-ID the
    engine gave the mail (`<run{R}.client{C}@domain>`) still names it. Only
    the owner's rows of deleted clients are searched.
    """
    return (
        Delivery.objects.filter(
            client__isnull=True,
            run__mailing__owner_id=owner_id,
            message_id__contains=f".client{client_id}@",
        )
        .order_by("-pk")
        .values_list("email", "run__mailing_id")
        .first()
    )
