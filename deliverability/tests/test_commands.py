"""The management commands: the demo domain and the re-check."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from deliverability.models import Sender, SendingDomain
from deliverability.services import sending_domain_create, sending_domain_verify
from mailing.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_demo_domain_is_verified_through_the_real_check(platform):
    owner = UserFactory(email="customer@example.com", full_name="Casey")
    out = StringIO()
    call_command("deliverability_demo_domain", stdout=out)
    domain = SendingDomain.objects.get(owner=owner)
    assert domain.domain == "example.com" and domain.verified_at
    assert all(c["ok"] for c in domain.checks if c["required"])
    assert "example.com is verified for customer@example.com" in out.getvalue()
    sender = Sender.objects.get(owner=owner)
    assert (sender.name, sender.email) == ("Casey News", "news@example.com")
    # Again: nothing new.
    call_command("deliverability_demo_domain", stdout=StringIO())
    assert SendingDomain.objects.count() == 1 and Sender.objects.count() == 1


def test_the_demo_command_needs_the_customer(platform):
    with pytest.raises(CommandError, match="No user nobody@example.com"):
        call_command("deliverability_demo_domain", email="nobody@example.com")


def test_the_recheck_command_reports_its_counts(platform, dns_zone):
    owner = UserFactory()
    domain = sending_domain_create(owner=owner, domain="example.org")
    dns_zone.publish_all(domain.dns_records())
    sending_domain_verify(sending_domain=domain, now=timezone.now() - timedelta(days=1))
    out = StringIO()
    call_command("recheck_sending_domains", stdout=out)
    assert out.getvalue().strip() == "1 checked, 1 still verified, 0 lost."
