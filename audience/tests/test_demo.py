from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from audience.models import MailingList, Segment, Subscription
from mailing.models import Mailing
from mailing.selectors import RecipientEstimate, mailing_recipient_estimate

pytestmark = pytest.mark.django_db


def test_the_demo_customer_has_two_lists_a_segment_and_a_mailing_to_them(
    django_capture_on_commit_callbacks,
):
    """seed_demo gives the demo customer two lists with members (two
    sign-ups waiting for their confirmation, whose mails went out), a
    segment and a mailing to the lists; a second run doubles nothing."""
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ken@example.net",
        "margaret@example.net",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    assert len(mail.outbox) == 2
    lists = MailingList.objects.filter(owner__email="customer@example.com")
    assert sorted(lists.values_list("name", flat=True)) == [
        "Newsletter",
        "Product updates",
    ]
    newsletter = lists.get(name="Newsletter")
    members = Subscription.objects.filter(mailing_list=newsletter)
    subscribed = members.filter(status=Subscription.Status.SUBSCRIBED)
    assert subscribed.count() == newsletter.subscribed_count == 6
    waiting = members.filter(status=Subscription.Status.UNCONFIRMED)
    assert waiting.count() == newsletter.unconfirmed_count == 2
    assert {s.source for s in waiting} == {Subscription.Source.FORM}
    assert all(s.consent_ip and s.consent_at for s in waiting)
    assert f"/subscribe/{newsletter.public_id}/" in out.getvalue()

    segment = Segment.objects.get(owner=newsletter.owner)
    assert {"kind": "list", "op": "in", "list": newsletter.pk} in segment.conditions[
        "rules"
    ]
    mailing = Mailing.objects.get(name="Weekly letter to both lists")
    assert set(mailing.lists.all()) == set(lists)
    assert not mailing.clients.exists()
    # The second list's members are all on the first.
    assert mailing_recipient_estimate(mailing=mailing) == RecipientEstimate(6)
