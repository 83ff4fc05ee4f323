"""The demo speaks both languages: a Russian-speaking customer whose interface
is Russian and whose schedule is in Moscow time, a Russian message for the
English-speaking demo customer, and a Russian article in the blog."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from blog.models import BlogPage
from mailing.models import Client, Mailing, Message

pytestmark = pytest.mark.django_db


def _has_cyrillic(text: str) -> bool:
    return any("а" <= ch.lower() <= "я" for ch in text)


def test_seed_demo_gives_both_languages_and_doubles_nothing(client):
    call_command("seed_demo", stdout=StringIO())
    counts = [m.objects.count() for m in (User, Client, Message, Mailing, BlogPage)]
    call_command("seed_demo", stdout=StringIO())
    assert [
        m.objects.count() for m in (User, Client, Message, Mailing, BlogPage)
    ] == counts

    russian = User.objects.get(email="demo-ru@example.com")
    assert (russian.language, russian.time_zone) == ("ru", "Europe/Moscow")
    assert russian.check_password("demo-ru-pass")
    customer = User.objects.get(email="customer@example.com")
    assert any(
        _has_cyrillic(s)
        for s in Message.objects.filter(owner=customer).values_list(
            "subject", flat=True
        )
    )
    article = BlogPage.objects.live().get(slug="raspisanie-i-chasovye-poyasa")
    assert _has_cyrillic(article.title)

    # The Russian user's weekly mailing runs at 10:00 Moscow time.
    mailing = Mailing.objects.get(owner=russian)
    assert mailing.start_at.astimezone(russian.zone).hour == 10
    assert _has_cyrillic(mailing.message.subject)

    # Their interface is Russian whatever the browser asks for.
    client.force_login(russian)
    page = client.get("/app/mailings/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="ru">' in page.content.decode()
    assert "Рассылки" in page.content.decode()
    article_page = client.get(article.url)
    assert article_page.status_code == 200
