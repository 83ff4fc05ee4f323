"""The HTML part is sanitised to an e-mail allow-list when it is saved and
again before it is sent, and the preview says what was removed."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from mailing import services
from mailing.models import Message
from mailing.sanitize import sanitize_html
from mailing.tests.engine_support import make_mailing
from mailing.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOSTILE = (
    "<html><head><title>T</title><style>p{color:red}</style></head><body>"
    '<p onclick="steal()" style="color:#123456;background-image:url(x)">'
    "Hi {{ full_name }}</p>"
    "<script>alert(1)</script>"
    '<a href="javascript:alert(2)">bad</a>'
    '<a href="https://example.com/?who={{ email }}">good</a>'
    '<form action="https://evil.example"><input name="password"></form>'
    '<iframe src="https://evil.example"></iframe>'
    '<img src="x" onerror="alert(3)" alt="pic">'
    '<table cellpadding="4"><tr><td bgcolor="#eee" colspan="2">cell</td></tr>'
    "</table></body></html>"
)


def test_the_allow_list_removes_the_dangerous_and_keeps_e_mail_markup():
    clean = sanitize_html(HOSTILE)
    markup = clean.html
    for gone in ("<script", "alert(", "onclick", "onerror", "javascript:"):
        assert gone not in markup
    for gone in ("<form", "<input", "<iframe", "<style", "<title", "url(x)"):
        assert gone not in markup
    assert '<p style="color:#123456">Hi {{ full_name }}</p>' in markup
    assert '<a href="https://example.com/?who={{ email }}">good</a>' in markup
    assert '<table cellpadding="4">' in markup
    assert '<td bgcolor="#eee" colspan="2">cell</td>' in markup
    assert '<img src="x" alt="pic">' in markup
    assert markup.startswith("<html><body>") and markup.endswith("</body></html>")
    assert clean.removed == [
        "<title> element",
        "<style> element",
        "onclick attribute",
        "style property background-image",
        "<script> element",
        "javascript: URL",
        "<form> element",
        "<input> element",
        "<iframe> element",
        "onerror attribute",
    ]


def test_clean_markup_is_left_alone():
    markup = '<p>Hello <b>{{ full_name }}</b>, <a href="mailto:a@example.com">x</a></p>'
    clean = sanitize_html(markup)
    assert clean.html == markup
    assert clean.removed == []
    assert sanitize_html(clean.html).html == clean.html


def test_the_service_stores_the_sanitised_part_and_what_went():
    message = services.message_create(
        owner=UserFactory(), subject="s", body="b", html_body=HOSTILE
    )
    message.refresh_from_db()
    assert "<script" not in message.html_body
    assert message.html_removed.startswith("<title> element, <style> element")
    services.message_update(
        message=message, subject="s", body="b", html_body="<p>fine</p>"
    )
    message.refresh_from_db()
    assert (message.html_body, message.html_removed) == ("<p>fine</p>", "")


def test_saving_and_the_preview_say_what_was_removed(client):
    owner = UserFactory()
    client.force_login(owner)
    response = client.post(
        reverse("mailing:message_create"),
        {"subject": "Hi", "body": "Hi", "html_body": HOSTILE},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The HTML part was sanitised. Removed: &lt;title&gt; element" in page
    assert 'id="html-removed"' in page
    assert "onclick attribute" in page
    assert "&lt;script&gt; element" in page
    # The sandboxed preview frame holds the cleaned markup only.
    assert "steal()" not in page and "alert(" not in page


def test_the_engine_sanitises_again_before_sending(smtp_sink):
    """An HTML part that reached the database some other way (an old row,
    a manual edit) is cleaned before it goes out."""
    mailing = make_mailing(clients=1, html_body="<p>x</p>")
    Message.objects.filter(pk=mailing.message_id).update(
        html_body='<p onmouseover="x()">Hi {{ full_name }}</p><script>bad()</script>'
    )
    call_command("send_mailings")
    [mail] = smtp_sink.messages
    markup = mail.html()
    assert "<p>Hi Client 0</p>" in markup
    assert "onmouseover" not in markup and "bad()" not in markup
    assert "Unsubscribe" in markup
