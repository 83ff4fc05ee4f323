"""The footer of a sent mailing (the unsubscribe link and the link to the
preference centre) speaks its owner's language."""

import html
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import translation

from audience.tests.factories import MailingListFactory, SubscriptionFactory
from mailing.models import Client
from mailing.tests.engine_support import make_mailing, make_owner


@pytest.fixture(autouse=True)
def short_timeout(settings):
    settings.EMAIL_TIMEOUT = 1
    settings.SITE_URL = "https://mail.example.org"


def _sent(sink, language):
    owner = make_owner(language=language)
    make_mailing(
        owner=owner,
        clients=1,
        html_body="<html><body><p>Hello {{ full_name }}</p></body></html>",
    )
    call_command("send_mailings")
    [mail] = sink.messages
    link = mail.message["List-Unsubscribe"].strip("<>")
    return mail.text().replace("\r\n", "\n"), mail.html(), link


def _preferences_link(unsubscribe_link: str) -> str:
    """The preference centre's link carries the unsubscribe link's token."""
    token = urlsplit(unsubscribe_link).path.rstrip("/").rpartition("/")[2]
    return f"https://mail.example.org/m/preferences/{token}/"


@pytest.mark.django_db
def test_a_russian_customers_mailing_carries_the_russian_footer(smtp_sink):
    """The recipient reads the unsubscribe text in the sender's language."""
    text, markup, link = _sent(smtp_sink, "ru")
    assert f"\n-- \nЧтобы больше не получать эти письма: {link}\n" in text
    assert f'<a href="{link}">Отписаться</a> от этих писем.' in markup
    preferences = _preferences_link(link)
    assert f"Чтобы выбрать, в каких списках остаться: {preferences}\n" in text
    assert f'<a href="{html.escape(preferences)}">Выбрать списки</a>.' in markup
    assert "Unsubscribe" not in markup and "Choose your lists" not in markup
    assert "To stop receiving" not in text and "To choose" not in text


@pytest.mark.django_db
def test_an_english_customers_mailing_carries_the_english_footer(smtp_sink):
    text, markup, link = _sent(smtp_sink, "en")
    preferences = _preferences_link(link)
    assert (
        f"\n-- \nTo stop receiving these messages: {link}\n"
        f"To choose the lists you are on: {preferences}\n"
    ) in text
    assert (
        f'<a href="{link}">Unsubscribe</a> from these messages. '
        f'<a href="{html.escape(preferences)}">Choose your lists</a>.'
    ) in markup


@pytest.mark.django_db
def test_an_owner_without_a_language_gets_the_sites_default(smtp_sink, settings):
    """No saved language (follows the browser): LANGUAGE_CODE, not whatever
    language the sending process happens to be in."""
    with translation.override("ru"):
        text, markup, link = _sent(smtp_sink, "")
    assert f"To stop receiving these messages: {link}" in text


@pytest.mark.django_db
def test_the_footers_preference_link_opens_that_clients_preference_centre(
    smtp_sink, client
):
    """The link in the mail shows the recipient their own lists and lets
    them leave one."""
    owner = make_owner(language="en")
    make_mailing(owner=owner, clients=2, html_body="<p>Hi</p>")
    first, second = Client.objects.filter(owner=owner).order_by("pk")
    news = MailingListFactory(owner=owner, name="News")
    subscription = SubscriptionFactory(mailing_list=news, client=first)
    SubscriptionFactory(mailing_list=MailingListFactory(owner=owner), client=second)
    call_command("send_mailings")
    mail = next(m for m in smtp_sink.messages if m.rcpt_tos == [first.email])
    link = _preferences_link(mail.message["List-Unsubscribe"].strip("<>"))
    assert link in mail.text()
    assert html.escape(link) in mail.html()

    path = urlsplit(link).path
    page = client.get(path)
    assert page.status_code == 200
    body = page.content.decode()
    assert first.email in body and second.email not in body
    assert "News" in body
    response = client.post(path, {"leave": subscription.pk})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == subscription.Status.UNSUBSCRIBED
