"""A verified sending domain and a sender for the demo customer.

The demo domain's records cannot be in the real DNS, so they are published
in a local DNS server (deliverability.localdns, on a free loopback port) for
the length of the check, and the domain is verified by the same
`sending_domain_verify` as any other. Idempotent.

The daily re-check asks the configured resolver, which does not know the
demo records: a day later the demo domain loses its verification, and this
command (or `make run`'s seed, once it calls it) verifies it again.
"""

from django.test.utils import override_settings

from deliverability.dnscheck import expected_records
from deliverability.models import Sender, SendingDomain
from deliverability.services import (
    sender_create,
    sending_domain_create,
    sending_domain_verify,
)

DEMO_DOMAIN = "example.com"


def demo_domain_verify(*, owner, domain: str = DEMO_DOMAIN) -> SendingDomain:
    """Create (or reuse) `domain` for `owner`, verify it through a local DNS
    server that publishes its records, and add a sender `news@<domain>`.
    Raises ValidationError when the domain name is refused."""
    # dnslib is a development dependency; production never seeds a demo.
    from deliverability.localdns import LocalDNSServer  # noqa: PLC0415

    sending_domain = SendingDomain.objects.filter(
        owner=owner, domain=domain
    ).first() or sending_domain_create(owner=owner, domain=domain)
    with LocalDNSServer() as server:
        server.zone.publish_all(
            (record.type, record.name, record.value)
            for record in expected_records(sending_domain, every=True)
        )
        with override_settings(DNS_NAMESERVERS=server.address, DNS_TIMEOUT=2):
            sending_domain_verify(sending_domain=sending_domain)
    email = f"news@{sending_domain.domain}"
    if (
        sending_domain.is_verified
        and not Sender.objects.filter(owner=owner, email=email).exists()
    ):
        name = f"{owner.full_name or 'Demo'} News"
        sender_create(owner=owner, name=name, email=email)
    return sending_domain
