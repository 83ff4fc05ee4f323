"""A mailing whose sender's domain lost its DKIM record is held by the
pre-flight check with the reason, and sends (over real SMTP) once the record
is back and the domain verified again. DNS answers come from a real DNS
server on loopback."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from deliverability.services import (
    sender_create,
    sending_domain_create,
    sending_domain_verify,
)
from mailing import services
from mailing.engine.services import send_due_mailings
from mailing.models import Delivery, Run
from mailing.tests.engine_support import make_mailing, make_owner

pytestmark = pytest.mark.django_db


@pytest.fixture
def verified(dns_zone, platform):
    """A verified domain with every record published, and a sender on it."""
    owner = make_owner(full_name="Olga Owner")
    domain = sending_domain_create(owner=owner, domain="shop.example")
    dns_zone.publish_all(domain.dns_records())
    assert sending_domain_verify(sending_domain=domain)
    sender = sender_create(owner=owner, name="Shop", email="news@shop.example")
    return owner, domain, sender


def test_lost_dkim_holds_the_mailing_until_the_record_returns(
    dns_zone, verified, smtp_sink
):
    owner, domain, sender = verified
    mailing = make_mailing(owner=owner, clients=3, sender=sender)
    dkim = (domain.dkim_record_name, domain.dkim_record_value)

    dns_zone.remove("TXT", dkim[0])
    assert not sending_domain_verify(sending_domain=domain)
    send_due_mailings()
    mailing.refresh_from_db()
    assert mailing.held_at is not None
    assert "The sender's domain shop.example is not verified." in mailing.held_reason
    assert dkim[0] in mailing.held_reason  # the DNS check's own reason
    assert "Check now" in mailing.held_reason
    assert not Run.objects.filter(mailing=mailing).exists()
    assert smtp_sink.messages == []
    with pytest.raises(ValidationError, match="shop.example is not verified"):
        services.mailing_send_now(mailing=mailing)

    # Still missing a minute later: still held, nothing sent.
    send_due_mailings()
    assert smtp_sink.messages == []

    dns_zone.publish("TXT", *dkim)
    assert sending_domain_verify(sending_domain=domain, now=timezone.now())
    report = send_due_mailings()
    assert len(report.planned) == 1
    mailing.refresh_from_db()
    assert (mailing.held_at, mailing.held_reason) == (None, "")
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == sorted(
        mailing.clients.values_list("email", flat=True)
    )
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3


def test_a_verified_senders_mailing_passes_the_check(verified, settings):
    owner, _domain, sender = verified
    settings.SITE_URL = "https://mailsite.test"
    mailing = make_mailing(owner=owner, sender=sender)
    assert services.mailing_check(mailing=mailing) == []
