"""The whole way of a subscriber, in headless Chromium, with real mail: a
visitor signs up on the hosted form and confirms from the mail that reached
the SMTP server; the customer sees the consent, sends a mailing to the
list, which reaches the visitor and not a sign-up left unconfirmed; the
visitor leaves the list from that mailing's footer, and the customer sees
it."""

import os
import re

import pytest

from audience.models import Subscription
from audience.tests.factories import MailingListFactory
from mailing.models import Client, Delivery, Mailing
from mailing.tests.factories import PASSWORD, MessageFactory, UserFactory

VISITOR = "visitor@example.org"
LURKER = "lurker@example.org"  # signs up and never confirms


def _mail_to(sink, address):
    return [mail for mail in sink.messages if mail.rcpt_tos == [address]]


def _sign_up(tab, form_url, email, full_name):
    tab.goto(form_url)
    tab.fill("input[name=email]", email)
    tab.fill("input[name=full_name]", full_name)
    tab.click("main form button[type=submit]")
    tab.locator("#thanks").wait_for()


@pytest.fixture
def customer_tab(browser, live_server):
    """A second browser, the customer's, beside the visitor's `page`."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _confirm_from_the_mail(tab, sink, screenshot) -> str:
    """Follow the confirmation link the visitor got; the screenshots' folder."""
    [confirmation] = _mail_to(sink, VISITOR)
    assert "Weekly news" in confirmation.subject
    link = re.search(r"http\S+/subscribe/confirm/\S+/", confirmation.text())[0]
    tab.goto(link)
    tab.click("main form button[type=submit]")
    tab.locator("#confirmed").wait_for()
    return os.path.dirname(screenshot("2-confirmed"))


def _log_in(tab, customer):
    tab.goto("/accounts/login/")
    tab.fill("input[name=login]", customer.email)
    tab.fill("input[name=password]", PASSWORD)
    tab.get_by_role("button", name="Sign In").click()
    tab.wait_for_url(re.compile(r"/app/$"))


def _membership(tab, client) -> str:
    tab.goto(client.get_absolute_url())
    return tab.locator("#subscriptions tbody tr", has_text="Weekly news").inner_text()


def _send_to_the_list(tab) -> Mailing:
    """Create a mailing to the list on the form and press "Send now" (the
    engine runs in-process, to the test SMTP server)."""
    tab.goto("/app/mailings/new/")
    tab.fill("input[name=name]", "Weekly news, week 1")
    tab.get_by_label("Weekly news", exact=True).check()
    tab.fill("input[name=start_at]", "2031-03-01T09:00")
    tab.fill("input[name=end_at]", "2031-12-31T09:00")
    tab.locator("main form button[type=submit]", has_text="Save").click()
    tab.get_by_text("Mailing created.").wait_for()
    assert tab.locator("#recipients").inner_text() == "1 recipient"
    tab.get_by_role("button", name="Send now").click()
    tab.locator("td", has_text=re.compile(r"^250 ")).first.wait_for()
    return Mailing.objects.get()


def _leave_from_the_footer(tab, news, screenshot):
    preferences = re.search(r"http\S+/m/preferences/\S+/", news.text())[0]
    assert preferences in news.html()
    tab.goto(preferences)
    lists = tab.locator("#subscriptions")
    assert "Weekly news" in lists.inner_text() and VISITOR in tab.content()
    screenshot("5-preference-centre")
    lists.locator("li", has_text="Weekly news").locator(
        "form button[type=submit]"
    ).click()
    tab.get_by_text("Your choice is saved.").wait_for()
    assert "Unsubscribed" in tab.locator("#subscriptions").inner_text()
    screenshot("6-left-the-list")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_subscriber_signs_up_confirms_is_mailed_and_leaves(
    page, customer_tab, screenshot, smtp_sink, live_server, settings, request
):
    settings.SITE_URL = live_server.url
    customer = UserFactory(email="casey@example.com", language="en")
    weekly = MailingListFactory(owner=customer, name="Weekly news")
    MessageFactory(
        owner=customer,
        subject="This week for {{ full_name }}",
        body="Hello {{ full_name }},\nthe news of the week.",
        html_body="<p>Hello {{ full_name }}, the news of the week.</p>",
    )

    # The visitor signs up; someone else signs up and never confirms.
    _sign_up(page, weekly.get_form_url(), VISITOR, "Vi Sitor")
    screenshot("1-check-your-inbox")
    _sign_up(page, weekly.get_form_url(), LURKER, "Lu Rker")
    assert len(_mail_to(smtp_sink, LURKER)) == 1
    shots = _confirm_from_the_mail(page, smtp_sink, screenshot)

    def customer_shot(name):
        customer_tab.screenshot(
            path=os.path.join(shots, f"{request.node.name}-{name}.png"),
            full_page=True,
        )

    # The customer sees the visitor subscribed, with the consent record.
    _log_in(customer_tab, customer)
    visitor = Client.objects.get(owner=customer, email=VISITOR)
    text = _membership(customer_tab, visitor)
    assert "Subscribed" in text and "Sign-up form" in text and "127.0.0.1" in text
    customer_shot("3-client-consent")
    customer_tab.goto(weekly.get_absolute_url())
    assert "1 subscribed, 1 waiting" in customer_tab.locator("#counts").inner_text()

    # A mailing to the list reaches the visitor, not the unconfirmed one.
    mailing = _send_to_the_list(customer_tab)
    customer_shot("4-mailing-sent")
    [delivery] = Delivery.objects.filter(run__mailing=mailing)
    assert (delivery.email, delivery.status) == (VISITOR, Delivery.Status.SENT)
    _confirmation, news = _mail_to(smtp_sink, VISITOR)
    assert news.subject == "This week for Vi Sitor"
    assert len(_mail_to(smtp_sink, LURKER)) == 1  # only its confirmation

    # The visitor leaves through the footer's preference-centre link.
    _leave_from_the_footer(page, news, screenshot)

    # The customer sees them unsubscribed.
    assert "Unsubscribed" in _membership(customer_tab, visitor)
    customer_shot("7-client-unsubscribed")
    customer_tab.goto(weekly.get_absolute_url())
    assert "0 subscribed, 1 waiting" in customer_tab.locator("#counts").inner_text()
    assert Subscription.objects.get(client=visitor).status == "unsubscribed"
