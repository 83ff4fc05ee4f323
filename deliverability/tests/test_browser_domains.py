"""A customer adds a domain, publishes its records, checks them and creates
a sender, in headless Chromium against the real DNS check."""

import re

import pytest

from deliverability.models import Sender, SendingDomain
from mailing.tests.factories import MessageFactory, UserFactory
from mailing.tests.test_browser_mailing import log_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_adds_a_domain_verifies_it_and_creates_a_sender(
    page, screenshot, dns_zone, platform
):
    owner = UserFactory(email="casey@example.com", full_name="Casey")
    MessageFactory(owner=owner, subject="Spring news")
    log_in(page, owner.email)
    page.wait_for_url(re.compile(r"/app/$"))

    page.get_by_role("link", name="Domains").first.click()
    page.fill("input[name=domain]", "Example.com")
    page.locator("main form button[type=submit]").click()
    page.get_by_text("example.com added: publish its DNS records").wait_for()
    domain = SendingDomain.objects.get(owner=owner)
    names = page.locator("#dns-records [data-record-name]").all_inner_texts()
    values = page.locator("#dns-records [data-record-value]").all_inner_texts()
    assert names == [name for _, name, _ in domain.dns_records()]
    assert f"v=DKIM1; k=rsa; p={domain.dkim_public_key}" in values
    screenshot("1-records")

    # The customer copies what the page shows into their DNS.
    rows = page.locator("#dns-records tbody tr").all()
    for row in rows:
        cells = row.locator("td").all_inner_texts()
        dns_zone.replace(cells[0].strip(), cells[1].strip(), cells[2].strip())

    page.get_by_role("button", name="Check now").click()
    page.get_by_text("example.com is verified: you can send from it.").wait_for()
    assert page.locator("#domain-status").inner_text().strip() == "Verified"
    assert page.locator("#dns-records .text-danger").count() == 0
    screenshot("2-verified")

    page.get_by_role("link", name="Senders").first.click()
    page.fill("input[name=name]", "Example News")
    page.fill("input[name=email]", "news@example.com")
    page.fill("input[name=reply_to]", "help@example.com")
    page.locator("main form button[type=submit]").click()
    page.get_by_text("Sender Example News <news@example.com> added.").wait_for()
    sender = Sender.objects.get(owner=owner)
    assert sender.reply_to == "help@example.com"
    screenshot("3-sender")

    page.goto("/app/mailings/new/")
    options = page.locator("select[name=sender] option").all_inner_texts()
    assert options == [
        "Casey via Mailsite (the platform's address)",
        "Example News <news@example.com>",
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_lost_domain_shows_a_notice(page, dns_zone, platform):
    owner = UserFactory(email="casey@example.com")
    SendingDomain.objects.create(
        owner=owner,
        domain="example.com",
        dkim_selector="ms202612",
        dkim_public_key="x",
        dkim_private_key_encrypted="x",
        lost_reason="There is no DKIM record at ms202612._domainkey.example.com.",
    )
    log_in(page, owner.email)
    page.wait_for_url(re.compile(r"/app/$"))
    page.goto("/app/domains/")
    notice = page.locator(".alert-warning")
    notice.get_by_text("example.com is no longer verified.").wait_for()
    assert "There is no DKIM record" in notice.inner_text()
