"""Test helpers of deliverability (used by mailing's tests too): a verified
domain, and what the tests of DKIM signing expect, stated once."""

import dkim
from django.utils import timezone

from deliverability.models import SendingDomain
from deliverability.services import sending_domain_create


def verified_domain(owner, name: str = "example.com", **fields) -> SendingDomain:
    """`owner`'s sending domain `name`, verified now as if its DNS records had
    been checked (`fields`, e.g. last_checked_at, are set alongside)."""
    domain = sending_domain_create(owner=owner, domain=name)
    SendingDomain.objects.filter(pk=domain.pk).update(
        verified_at=timezone.now(), **fields
    )
    domain.refresh_from_db()
    return domain


# The headers Gmail's and Yahoo's bulk-sender rules (and one-click
# unsubscribe) need under the signature, written out here rather than taken
# from deliverability.signing, so that a header dropped there fails a test.
REQUIRED_SIGNED = frozenset(
    {
        b"from",
        b"to",
        b"subject",
        b"date",
        b"message-id",
        b"mime-version",
        b"content-type",
        b"list-unsubscribe",
        b"list-unsubscribe-post",
        b"list-id",
        b"feedback-id",
    }
)


def signature_tags(header_value: bytes) -> dict[bytes, bytes]:
    """The tags of a DKIM-Signature header's value (folding removed)."""
    return dkim.util.parse_tag_value(header_value.replace(b"\r\n", b"").strip())


def signed_names(tags: dict[bytes, bytes]) -> set[bytes]:
    """The lower-cased names of the headers a signature's h= tag covers."""
    return {name.strip().lower() for name in tags[b"h"].split(b":")}
