"""A visitor subscribes on the hosted form and confirms from the mail; the
customer sees them subscribed with the consent record."""

import re

import pytest
from django.core import mail

from audience.models import Subscription
from audience.tests.factories import MailingListFactory
from mailing.tests.factories import PASSWORD, UserFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_visitor_subscribes_confirms_and_the_customer_sees_the_consent(
    page, screenshot, live_server, settings
):
    settings.SITE_URL = live_server.url
    customer = UserFactory(email="casey@example.com")
    mailing_list = MailingListFactory(owner=customer, name="Weekly news")
    mail.outbox = []

    page.goto(mailing_list.get_form_url())
    page.fill("input[name=email]", "Visitor@Example.org")
    page.fill("input[name=full_name]", "Vi Sitor")
    box = page.locator("input[name=website]").bounding_box()
    assert box["x"] + box["width"] <= 0  # the honeypot is off screen
    screenshot("1-hosted-form")
    page.click("main form button[type=submit]")
    page.locator("#thanks").wait_for()

    assert len(mail.outbox) == 1
    link = re.search(r"http\S+/subscribe/confirm/\S+/", mail.outbox[0].body)[0]
    page.goto(link)
    page.click("main form button[type=submit]")
    page.locator("#confirmed").wait_for()
    screenshot("2-confirmed")

    page.goto("/accounts/login/")
    page.fill("input[name=login]", customer.email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(re.compile(r"/app/$"))
    page.goto(mailing_list.get_absolute_url())
    assert "1 subscribed, 0 waiting" in page.locator("#counts").inner_text()
    row = page.locator("#members tbody tr").first
    assert "visitor@example.org" in row.inner_text()
    assert "Sign-up form" in row.inner_text()
    assert "127.0.0.1" in row.inner_text()
    screenshot("3-members")
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.SUBSCRIBED
    assert subscription.confirmed_at is not None
