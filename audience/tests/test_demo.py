from io import StringIO

import pytest
from django.core.management import call_command

from audience.models import MailingList, Subscription

pytestmark = pytest.mark.django_db


def test_the_demo_customer_has_two_lists_with_members_and_forms():
    """seed_demo gives the demo customer two lists; a second run doubles
    nothing."""
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())
    lists = MailingList.objects.filter(owner__email="customer@example.com")
    assert sorted(lists.values_list("name", flat=True)) == [
        "Newsletter",
        "Product updates",
    ]
    newsletter = lists.get(name="Newsletter")
    members = Subscription.objects.filter(mailing_list=newsletter)
    assert members.count() == newsletter.subscribed_count > 0
    assert f"/subscribe/{newsletter.public_id}/" in out.getvalue()
