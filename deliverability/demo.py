"""A verified sending domain and a sender for the demo customer.

The demo domain's records cannot be in the real DNS, so they are published
in a local DNS server (deliverability.localdns, on a free loopback port) for
the length of the check, and the domain is verified by the same
`sending_domain_verify` as any other. Idempotent.

The daily re-check asks the configured resolver, which does not know the
demo records: a day later the demo domain loses its verification (the
pre-flight check then holds the demo mailing), and this command or
`make run`'s seed (`seed`, in accounts' seed_demo) verifies it again.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.test.utils import override_settings
from django.utils import timezone

from deliverability.dnscheck import expected_records
from deliverability.models import Sender, SendingDomain
from deliverability.services import (
    sender_create,
    sending_domain_create,
    sending_domain_verify,
)
from mailing.models import Client, Mailing, Message
from mailing.scheduling import next_run_at_for

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


CUSTOMER = "customer@example.com"
DEMO_SUBJECT = "Signed and aligned: news from {{ full_name }}'s favourite shop"
DEMO_BODY = (
    "Hello {{ full_name }},\n\nThis mailing goes from news@example.com, "
    "DKIM-signed for example.com, with one-click unsubscribe.\n"
)


def seed(*, stdout):
    """`make run`'s seed: the demo customer's verified demo domain, its
    sender, and a weekly mailing from that sender whose first run is a few
    minutes after seeding (the sink then shows it). Idempotent."""
    owner = get_user_model().objects.filter(email=CUSTOMER).first()
    if owner is None:
        return
    sending_domain = demo_domain_verify(owner=owner)
    sender = Sender.objects.filter(owner=owner, domain=sending_domain).first()
    if sender is None:
        stdout.write(f"Demo domain {sending_domain}: not verified.")
        return
    message, _ = Message.objects.get_or_create(
        owner=owner, subject=DEMO_SUBJECT, defaults={"body": DEMO_BODY}
    )
    if Mailing.objects.filter(owner=owner, sender=sender).exists():
        stdout.write(f"Demo domain {sending_domain}: verified again.")
        return
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=5)
    mailing = Mailing.objects.create(
        owner=owner,
        message=message,
        sender=sender,
        periodicity=Mailing.Periodicity.WEEKLY,
        start_at=start,
        end_at=start + timedelta(days=90),
    )
    mailing.clients.set(Client.objects.filter(owner=owner))
    mailing.next_run_at = next_run_at_for(mailing, now=timezone.now())
    mailing.save(update_fields=["next_run_at"])
    stdout.write(
        f"Demo domain {sending_domain} verified; a weekly mailing from {sender} "
        f"starts at {timezone.localtime(start):%H:%M}."
    )
