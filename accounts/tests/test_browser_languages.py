"""A visitor whose browser speaks Russian and lives in New York signs up in
Russian, is mailed in Russian, and schedules a mailing in New York time."""

import os
import re
from datetime import UTC, datetime

import pytest

from accounts.models import User
from accounts.tests.test_browser_signup import PASSWORD, wait_for_mail
from conftest import ARTIFACTS
from mailing.models import Mailing
from mailing.tests.factories import ClientFactory, MessageFactory


@pytest.fixture
def russian_tab(browser, live_server, request):
    """A tab of a browser set to Russian, in the America/New_York zone."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        locale="ru-RU",
        timezone_id="America/New_York",
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    os.makedirs(ARTIFACTS, exist_ok=True)

    def shot(name):
        tab.screenshot(
            path=os.path.join(ARTIFACTS, f"{request.node.name}-{name}.png"),
            full_page=True,
        )

    yield tab, shot
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_russian_visitor_signs_up_and_schedules_in_their_zone(russian_tab, smtp_sink):
    tab, shot = russian_tab
    tab.goto("/")
    assert tab.locator("html").get_attribute("lang") == "ru"
    tab.get_by_role("link", name="Регистрация").first.click()
    tab.fill("input[name=email]", "novichok@example.com")
    tab.fill("input[name=password1]", PASSWORD)
    tab.fill("input[name=password2]", PASSWORD)
    # static/js/timezone.js has put the browser's zone in the hidden field.
    assert tab.input_value("input[name=time_zone]") == "America/New_York"
    shot("1-signup")
    tab.locator("main form button[type=submit]").click()
    tab.get_by_text("Проверьте почту").wait_for()
    shot("2-check-inbox")

    mail = wait_for_mail(smtp_sink, "novichok@example.com")
    # Folded as encoded words, the subject's value starts on a continuation
    # line; readers (and we) drop that leading blank.
    assert mail.subject.strip() == "[Mailsite] Подтвердите адрес электронной почты"
    assert "Ссылка действует 3 дня." in mail.text()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.text()).group()
    tab.goto(link)
    tab.wait_for_url(re.compile(r"/app/$"))
    user = User.objects.get(email="novichok@example.com")
    assert (user.language, user.time_zone) == ("ru", "America/New_York")

    message = MessageFactory(owner=user, subject="Новости")
    ClientFactory(owner=user, email="anna@example.ru")
    tab.goto("/app/mailings/new/")
    tab.select_option("select[name=message]", str(message.pk))
    tab.check("input[name=all_clients]")
    tab.fill("input[name=start_at]", "2027-01-15T09:00")
    tab.fill("input[name=end_at]", "2027-06-30T18:00")
    tab.select_option("select[name=periodicity]", "daily")
    shot("3-new-mailing")
    tab.locator("main form button[type=submit]").click()
    tab.wait_for_url(re.compile(r"/app/mailings/\d+/$"))
    tab.get_by_text("15.01.2027 09:00").first.wait_for()
    shot("4-mailing")
    mailing = Mailing.objects.get(owner=user)
    # 09:00 in New York in January is 14:00 UTC.
    assert mailing.start_at == datetime(2027, 1, 15, 14, tzinfo=UTC)
