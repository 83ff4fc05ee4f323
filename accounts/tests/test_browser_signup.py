"""A newcomer signs up in a real browser and confirms through real SMTP."""

import re
import time

import pytest

PASSWORD = "a-long-fresh-password-7"


def wait_for_mail(sink, address, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = sink.received_by(address)
        if mails:
            return mails[-1]
        time.sleep(0.1)
    raise AssertionError(f"no mail for {address} within {timeout}s")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sign_up_confirm_by_mail_and_land_logged_in(page, smtp_sink, screenshot):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.fill("input[name=email]", "newcomer@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    screenshot("1-signup")
    page.get_by_role("button", name="Sign Up").click()
    page.get_by_text("Check your inbox").wait_for()
    screenshot("2-check-inbox")

    mail = wait_for_mail(smtp_sink, "newcomer@example.com")
    assert mail.subject == "[Mailsite] Confirm your e-mail address"
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.text()).group()

    page.goto(link)
    page.wait_for_url(re.compile(r"/app/$"))
    page.get_by_text("newcomer@example.com").first.wait_for()
    assert page.get_by_role("button", name="newcomer@example.com").count() + (
        page.get_by_role("link", name="newcomer@example.com").count()
    )
    screenshot("3-logged-in")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_account_pages_work_on_a_phone(page, make_user, screenshot):
    make_user("customer@example.com")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "customer@example.com")
    page.fill("input[name=password]", "correct-horse-battery-9")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(re.compile(r"/app/$"))
    page.goto("/accounts/password/change/")
    page.get_by_role("heading", name="Change Password").wait_for()
    screenshot("password-change")
    # The menu folds into the toggler on a narrow screen.
    page.get_by_role("button", name="Toggle navigation").click()
    page.get_by_role("link", name="Dashboard").wait_for()
