"""`make run`'s seed gives the demo customer a verified demo domain (through
`demo_domain_verify`, the same check as any domain) and a mailing from its
sender that passes the pre-flight check."""

from io import StringIO

import pytest
from django.core.management import call_command

from deliverability.demo import CUSTOMER, DEMO_DOMAIN
from deliverability.models import Sender, SendingDomain
from mailing.engine.preflight import mailing_preflight
from mailing.models import Mailing

pytestmark = pytest.mark.django_db


def test_seed_demo_verifies_the_demo_domain_and_adds_a_mailing_from_it(platform):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    domain = SendingDomain.objects.get(owner__email=CUSTOMER, domain=DEMO_DOMAIN)
    assert domain.is_verified
    assert all(check["ok"] for check in domain.checks if check["required"])
    sender = Sender.objects.get(domain=domain)
    mailing = Mailing.objects.get(sender=sender)
    assert mailing.clients.count() > 0
    assert mailing.next_run_at == mailing.start_at
    assert not [f for f in mailing_preflight(mailing) if f.is_hard]
    assert f"Demo domain {DEMO_DOMAIN} verified" in out.getvalue()

    counts = [Mailing.objects.count(), Sender.objects.count()]
    call_command("seed_demo", stdout=StringIO())
    assert [Mailing.objects.count(), Sender.objects.count()] == counts
