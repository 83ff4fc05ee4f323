"""The unsubscribe footer of a sent mailing speaks its owner's language."""

import pytest
from django.core.management import call_command
from django.utils import translation

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


@pytest.mark.django_db
def test_a_russian_customers_mailing_carries_the_russian_footer(smtp_sink):
    """The recipient reads the unsubscribe text in the sender's language."""
    text, markup, link = _sent(smtp_sink, "ru")
    assert f"\n-- \nЧтобы больше не получать эти письма: {link}\n" in text
    assert f'<a href="{link}">Отписаться</a> от этих писем.' in markup
    assert "Unsubscribe" not in markup
    assert "To stop receiving" not in text


@pytest.mark.django_db
def test_an_english_customers_mailing_carries_the_english_footer(smtp_sink):
    text, markup, link = _sent(smtp_sink, "en")
    assert f"\n-- \nTo stop receiving these messages: {link}\n" in text
    assert f'<a href="{link}">Unsubscribe</a> from these messages.' in markup


@pytest.mark.django_db
def test_an_owner_without_a_language_gets_the_sites_default(smtp_sink, settings):
    """No saved language (follows the browser): LANGUAGE_CODE, not whatever
    language the sending process happens to be in."""
    with translation.override("ru"):
        text, markup, link = _sent(smtp_sink, "")
    assert f"To stop receiving these messages: {link}" in text
