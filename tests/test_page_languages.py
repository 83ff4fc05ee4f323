"""Every public page, every account page and the unsubscribe page speak one
language: with `Accept-Language: ru` the visible text is Russian (no English
words outside user data and a few names), in English it has no Cyrillic.
So does the customer area (/app/), walked by a signed-in customer with
clients, a message, a mailing with a run and its delivery log, a suppressed
address, an import preview and a flash message.

The page tree, the article and the customer's data are written in the
language under test, so what is checked is the site's own text."""

import re
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from blog.models import BlogPage
from home.tree import site_tree_ensure
from mailing.models import Run
from mailing.tests.factories import (
    ClientFactory,
    DeliveryFactory,
    MailingFactory,
    MessageFactory,
    RunFactory,
)
from mailing.unsubscribe import unsubscribe_token

# Names and abbreviations that stay Latin in Russian text.
ALLOWED_LATIN = {"Mailsite", "CSV", "HTML", "RSS", "IP", "E-mail"}
# The mailbox providers and the standards the pre-flight check names.
ALLOWED_LATIN |= {"Gmail", "Yahoo", "Outlook", "DKIM", "SPF", "DMARC", "https", "UTF"}
# Not words of a language: message placeholders ({{ full_name }}) and time
# zone names (Europe/Berlin), which are the user's own setting.
_CODE = re.compile(r"\{\{.*?\}\}|\b[A-Z][a-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?")
# Elements whose text is not the page's language: scripts, anything marked
# with its own lang (each language in the switcher names itself) and what is
# marked translate="no" (time zone names such as America/New_York).
_SKIPPED_TAGS = {"head", "script", "style", "noscript", "template"}
_VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "value")
_EMAIL_OR_URL = re.compile(r"\S+@\S+|\w+://\S+|/\S*")
_VOID = {"br", "hr", "img", "input", "link", "meta", "source", "area", "col", "wbr"}

CONTENT = {
    "en": {
        "hero": "Mailings that arrive",
        "blog": "Blog",
        "title": "Five rules for mailings",
        "intro": "Start small and keep a steady pace.",
        "query": "rules",
        "nothing": "zzzz",
        "text": "Schedule mailings and read every reply.",
        "name": "Alice Walker",
        "comment": "Met at the spring fair",
        "subject": "December news",
        "body": "Hello {{ full_name }}, here is our news.",
    },
    "ru": {
        "hero": "Рассылки, которые доходят",
        "blog": "Блог",
        "title": "Пять правил рассылок",
        "intro": "Начинайте с малого и держите ровный темп.",
        "query": "правил",
        "nothing": "яяяя",
        "text": "Планируйте рассылки и читайте каждый ответ сервера.",
        "name": "Алиса Петрова",
        "comment": "Познакомились на весенней ярмарке",
        "subject": "Новости декабря",
        "body": "Здравствуйте, {{ full_name }}! Вот наши новости.",
    },
}


class _VisibleText(HTMLParser):
    """Collects the text a reader sees or hears, outside elements in another
    language (lang="...") and outside scripts."""

    def __init__(self, language):
        super().__init__()
        self.language = language
        self.stack: list[bool] = []  # per open element: skipped?
        self.parts: list[str] = []

    @property
    def skipping(self) -> bool:
        return any(self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = attrs.get("lang")
        skip = (
            tag in _SKIPPED_TAGS
            or attrs.get("translate") == "no"
            or (lang is not None and tag != "html" and lang != self.language)
        )
        if not self.skipping and not skip and tag != "meta":
            for name in _VISIBLE_ATTRIBUTES:
                if name == "value" and not _is_button(tag, attrs):
                    continue
                if attrs.get(name):
                    self.parts.append(attrs[name])
        if tag not in _VOID:
            self.stack.append(skip)

    def handle_endtag(self, tag):
        if tag not in _VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def _is_button(tag, attrs) -> bool:
    return tag == "input" and attrs.get("type") in {"submit", "button", "reset"}


def visible_text(html: str, language: str) -> str:
    parser = _VisibleText(language)
    parser.feed(html)
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    return " ".join(([title.group(1)] if title else []) + parser.parts)


def english_words(text: str) -> list[str]:
    text = _EMAIL_OR_URL.sub(" ", _CODE.sub(" ", text))
    return [
        word
        for word in re.findall(r"[A-Za-z]+(?:['’-][A-Za-z]+)*", text)
        if word not in ALLOWED_LATIN
    ]


def cyrillic_words(text: str) -> list[str]:
    return re.findall(r"\w*[а-яА-ЯёЁ]\w*", text)


@pytest.fixture
def site(db, language):
    """The home page, the blog and one article, written in `language`."""
    words = CONTENT[language]
    home, blog = site_tree_ensure()
    home.title = "Mailsite"
    home.hero_title = words["hero"]
    home.hero_text = words["text"]
    home.seo_title = words["hero"]
    home.introduction = f"<p>{words['text']}</p>"
    home.cta_text = ""
    home.save_revision().publish()
    blog.title = words["blog"]
    blog.introduction = f"<p>{words['text']}</p>"
    blog.search_description = words["text"]
    blog.save_revision().publish()
    article = BlogPage(
        title=words["title"],
        slug="article",
        introduction=words["intro"],
        date_published=timezone.now(),
    )
    blog.add_child(instance=article)
    article.save_revision().publish()
    return {"blog": blog.url, "article": article.url, **words}


def pages(site, customer_client, anonymous_client):
    """(path, client) for every page of the public site and the account."""
    recipient = ClientFactory()
    token = unsubscribe_token(owner_id=recipient.owner_id, client_id=recipient.pk)
    public = [
        "/",
        site["blog"],
        f"{site['blog']}?page=1",
        site["article"],
        f"{site['blog']}search/?q={site['query']}",
        f"{site['blog']}search/?q={site['nothing']}",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/confirm-email/",
        "/accounts/inactive/",
        "/no-such-page/",
        f"/m/unsubscribe/{token}/",
        "/m/unsubscribe/broken/",
    ]
    account = [
        "/accounts/profile/",
        "/accounts/password/change/",
        "/accounts/email/",
        "/accounts/logout/",
    ]
    return [(path, anonymous_client) for path in public] + [
        (path, customer_client) for path in account
    ]


@pytest.fixture
def clients(client, customer, django_user_model):

    signed_in = Client()
    signed_in.force_login(customer)
    return signed_in, client


@pytest.mark.parametrize("language", ["ru", "en"])
def test_public_and_account_pages_speak_one_language(site, clients, language):
    """Russian pages hold no English word, English pages no Cyrillic one."""
    signed_in, anonymous = clients
    problems = []
    for path, client in pages(site, signed_in, anonymous):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code in {200, 404}, path
        html = response.content.decode()
        assert f'<html lang="{language}"' in html, path
        text = visible_text(html, language)
        found = english_words(text) if language == "ru" else cyrillic_words(text)
        if found:
            problems.append(f"{path}: {sorted(set(found))}")
    assert not problems, "\n".join(problems)


def test_the_checker_sees_a_stray_english_word():
    """The walk above cannot pass by reading nothing."""
    html = (
        '<html lang="ru"><body><p>Привет</p><button>Save</button>'
        '<option lang="en">English</option><script>var x;</script>'
        '<input placeholder="Search"></body></html>'
    )
    assert english_words(visible_text(html, "ru")) == ["Save", "Search"]
    assert cyrillic_words(
        visible_text(html.replace('lang="ru"', 'lang="en"'), "en")
    ) == ["Привет"]


@pytest.fixture
def customer_data(db, customer, language):
    """What a customer has after a while, written in `language`: two pages of
    clients (one unsubscribed and suppressed), a message, a mailing with a finished run
    whose deliveries were sent, deferred and failed."""
    words = CONTENT[language]
    clients = [
        ClientFactory(owner=customer, full_name=words["name"], comment=words["comment"])
        for _ in range(3)
    ]
    clients[2].unsubscribed_at = timezone.now()
    clients[2].save()
    # Enough more for the client list to have a second page.
    ClientFactory.create_batch(
        25, owner=customer, full_name=words["name"], comment=words["comment"]
    )
    message = MessageFactory(
        owner=customer, subject=words["subject"], body=words["body"]
    )
    mailing = MailingFactory(owner=customer, message=message, clients=clients)
    run = RunFactory(mailing=mailing, status=Run.Status.FINISHED)
    for client, status in zip(clients, ["sent", "deferred", "failed"], strict=True):
        # SMTP replies are the remote server's words: only the codes here.
        DeliveryFactory(run=run, client=client, status=status, server_response="250")
    return {"clients": clients, "message": message, "mailing": mailing}


def customer_pages(data, nothing):
    """Every page of the customer area, for the data above; `nothing` is a
    search that finds nothing."""
    client, message, mailing = data["clients"][0], data["message"], data["mailing"]
    return [
        "/app/",
        "/app/clients/",
        "/app/clients/?page=2",
        f"/app/clients/?q={nothing}",
        f"/app/clients/{client.pk}/",
        f"/app/clients/{data['clients'][2].pk}/",
        "/app/clients/new/",
        f"/app/clients/{client.pk}/edit/",
        f"/app/clients/{client.pk}/delete/",
        "/app/clients/import/",
        "/app/suppressed/",
        f"/app/suppressed/?q={nothing}",
        "/app/messages/",
        f"/app/messages/{message.pk}/",
        "/app/messages/new/",
        f"/app/messages/{message.pk}/edit/",
        f"/app/messages/{message.pk}/delete/",
        "/app/mailings/",
        "/app/mailings/?status=finished",
        f"/app/mailings/{mailing.pk}/",
        f"/app/mailings/{mailing.pk}/?status=failed&q={nothing}",
        "/app/mailings/new/",
        f"/app/mailings/{mailing.pk}/edit/",
        f"/app/mailings/{mailing.pk}/delete/",
    ]


def _problems(path, response, language):
    assert response.status_code == 200, path
    html = response.content.decode()
    assert f'<html lang="{language}"' in html, path
    text = visible_text(html, language)
    found = english_words(text) if language == "ru" else cyrillic_words(text)
    return [f"{path}: {sorted(set(found))}"] if found else []


@pytest.mark.parametrize("language", ["ru", "en"])
def test_customer_area_speaks_one_language(
    clients, customer_data, language, django_capture_on_commit_callbacks
):
    """Every page of the customer area, its import pages and its flash
    messages: Russian holds no English word, English no Cyrillic one."""
    signed_in, _ = clients
    signed_in.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    problems = []
    # The suppressed client and the list's entry come through the form.
    suppressed = customer_data["clients"][2].email
    response = signed_in.post("/app/suppressed/", {"emails": suppressed}, follow=True)
    problems += _problems("POST /app/suppressed/ (flash)", response, language)
    for path in customer_pages(customer_data, CONTENT[language]["nothing"]):
        problems += _problems(path, signed_in.get(path), language)
    # An import with a new, a suppressed, an existing and a bad row: its
    # column mapping page and its outcome.
    existing = customer_data["clients"][0].email
    csv = (
        f"new@example.org,{CONTENT[language]['name']},\n"
        f"{suppressed},,\n{existing},,\n{CONTENT[language]['nothing']},,\n"
    )
    upload = SimpleUploadedFile("clients.csv", csv.encode(), content_type="text/csv")
    response = signed_in.post("/app/clients/import/", {"file": upload}, follow=True)
    problems += _problems("POST /app/clients/import/ (columns)", response, language)
    columns = {"column_0": "email", "column_1": "full_name", "column_2": "comment"}
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(response.redirect_chain[-1][0], columns)
    response = signed_in.get(response.url)
    assert "import-outcome" in response.content.decode()
    problems += _problems("POST the import's columns (outcome)", response, language)
    # A flash message from a form and one from an action.
    response = signed_in.post(
        "/app/clients/new/",
        {"email": "added@example.org", "full_name": CONTENT[language]["name"]},
        follow=True,
    )
    assert response.redirect_chain, "the client form refused its input"
    problems += _problems("POST /app/clients/new/ (flash)", response, language)
    mailing = customer_data["mailing"]
    response = signed_in.post(f"/app/mailings/{mailing.pk}/pause/", follow=True)
    problems += _problems("POST pause (flash)", response, language)
    assert not problems, "\n".join(problems)
