"""The segment rule builder and the mailing form's recipient count, in a
browser (their static scripts)."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from audience.models import CustomField, Segment
from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing.tests.factories import PASSWORD, ClientFactory, UserFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_build_a_segment_and_see_the_recipients_of_a_mailing(page, screenshot):
    customer = UserFactory(email="casey@example.com")
    CustomField.objects.create(owner=customer, key="city", label="City")
    news = MailingListFactory(owner=customer, name="News")
    for number in range(3):
        SubscriptionFactory(
            mailing_list=news,
            client=ClientFactory(
                owner=customer,
                email=f"b{number}@example.org",
                attributes={"city": "Berlin" if number else "Rome"},
            ),
        )

    page.goto("/accounts/login/")
    page.fill("input[name=login]", customer.email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(re.compile(r"/app/$"))

    page.goto(reverse("audience:segment_create"))
    form = page.locator("main form#segment-form")
    assert form.locator("tr[data-rule-row]:visible").count() == 3
    form.locator("[data-add-rule]").click()
    assert form.locator("tr[data-rule-row]:visible").count() == 4
    form.locator("tr[data-rule-row] [data-remove-rule]").nth(3).click()
    assert form.locator("tr[data-rule-row]:visible").count() == 3
    form.locator("input[name=name]").fill("Berliners")
    form.locator("select[name=rules-0-kind]").select_option("field")
    form.locator("select[name=rules-0-key]").select_option("city")
    form.locator("select[name=rules-0-op]").select_option("eq")
    form.locator("input[name=rules-0-value]").fill("berlin")
    form.locator("[data-add-rule]").click()
    form.locator("select[name=rules-4-kind]").select_option("list")
    form.locator("select[name=rules-4-list]").select_option(str(news.pk))
    form.locator("select[name=rules-4-op]").select_option("in")
    screenshot("1-rules")
    form.locator("button[type=submit]").click()
    page.locator("#segment-count").wait_for()
    assert "2 clients match now." in page.locator("#segment-count").inner_text()
    segment = Segment.objects.get(owner=customer)
    assert len(segment.conditions["rules"]) == 2
    screenshot("2-segment")

    page.goto(reverse("mailing:mailing_create"))
    form = page.locator("main form#mailing-form")
    form.locator(f"input[name=lists][value='{news.pk}']").check()
    count = page.locator("#recipient-count")
    expect(count).to_have_text("3 recipients")
    form.locator("select[name=segment]").select_option(str(segment.pk))
    expect(count).to_have_text("2 recipients")
    screenshot("3-mailing-count")
