"""The whole way in headless Chromium: a customer adds a domain, publishes
its records in the (real, loopback) DNS, checks it, picks its sender for a
mailing, runs the pre-flight check and sends a test that reaches the SMTP
sink."""

import re

import pytest

from deliverability.models import SendingDomain
from mailing.models import Delivery, Mailing, MailingTestSend, Run
from mailing.tests.factories import ClientFactory, MessageFactory, UserFactory
from mailing.tests.test_browser_mailing import log_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_verifies_a_domain_checks_a_mailing_and_sends_a_test(
    page, screenshot, dns_zone, platform, smtp_sink, settings
):
    settings.SITE_URL = "https://mailsite.test"
    owner = UserFactory(email="casey@example.com", full_name="Casey")
    ClientFactory(owner=owner, email="ada@example.net", full_name="Ada Lovelace")
    MessageFactory(
        owner=owner,
        subject="Spring news for {{ full_name }}",
        body="Hello {{ full_name }}, spring is here.",
    )
    log_in(page, owner.email)
    page.wait_for_url(re.compile(r"/app/$"))

    page.get_by_role("link", name="Domains").first.click()
    page.fill("input[name=domain]", "example.com")
    page.locator("main form button[type=submit]").click()
    page.get_by_text("example.com added: publish its DNS records").wait_for()
    screenshot("1-records")
    for row in page.locator("#dns-records tbody tr").all():
        cells = [cell.strip() for cell in row.locator("td").all_inner_texts()]
        dns_zone.replace(cells[0], cells[1], cells[2])
    page.get_by_role("button", name="Check now").click()
    page.get_by_text("example.com is verified: you can send from it.").wait_for()
    assert SendingDomain.objects.get(owner=owner).is_verified
    screenshot("2-verified")

    page.get_by_role("link", name="Senders").first.click()
    page.fill("input[name=name]", "Example News")
    page.fill("input[name=email]", "news@example.com")
    page.locator("main form button[type=submit]").click()
    page.get_by_text("Sender Example News <news@example.com> added.").wait_for()

    page.goto("/app/mailings/new/")
    page.check("input[name=all_clients]")
    page.fill("input[name=start_at]", "2031-03-01T09:00")
    page.fill("input[name=end_at]", "2031-12-31T09:00")
    page.select_option("select[name=sender]", label="Example News <news@example.com>")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Mailing created.").wait_for()
    mailing = Mailing.objects.get(owner=owner)
    assert mailing.sender.email == "news@example.com"

    page.locator("[data-check-button]").click()
    page.get_by_text("Checked just now.").wait_for()
    assert page.locator("[data-preflight-ok]").is_visible()
    assert page.locator("[data-finding]").count() == 0
    screenshot("3-check-passes")

    page.fill("#test input[name=addresses]", "me@example.org, boss@example.org")
    page.fill("#test input[name=client_email]", "ada@example.net")
    page.locator("[data-test-button]").click()
    page.get_by_text("A test to 2 addresses has been queued").wait_for()
    # The task ran on commit; the status line shows the server's replies
    # on the next look at the page.
    page.reload()
    status = page.locator("[data-test-status]")
    status.get_by_text("me@example.org: 250").wait_for()
    screenshot("4-test-sent")

    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == [
        "boss@example.org",
        "me@example.org",
    ]
    assert {m.subject for m in smtp_sink.messages} == {
        "[Test] Spring news for Ada Lovelace"
    }
    assert "Hello Ada Lovelace, spring is here." in smtp_sink.messages[0].text()
    assert MailingTestSend.objects.get().finished_at is not None
    assert not Run.objects.exists()
    assert not Delivery.objects.exists()
