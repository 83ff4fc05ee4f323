"""The mail links' URL configuration is the site's own, and enough alone."""

import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import resolve, reverse

MAIL_LINKS = [
    ("mailing_public:unsubscribe", ["3.17:sig"]),
    ("audience_public:preferences", ["3.17:sig"]),
    ("audience_public:confirm", ["tok"]),
    ("audience_public:subscribe", ["abc123"]),
]


@pytest.mark.parametrize(("name", "args"), MAIL_LINKS)
def test_a_mail_link_is_where_the_site_serves_it(name, args):
    path = reverse(name, args=args, urlconf=settings.MAIL_URLCONF)
    assert path == reverse(name, args=args)
    # The site's own resolver sends that path to the same view.
    assert resolve(path).view_name == name


def test_the_engine_builds_its_links_without_loading_the_whole_site():
    # In a fresh process: the links of a run are made, and neither the
    # site's URL configuration nor what only it imports was loaded.
    code = (
        "import django, sys; django.setup();"
        "from mailing.engine.message import unsubscribe_url_parts, "
        "_link_around_token;"
        "print(unsubscribe_url_parts());"
        "print(_link_around_token('audience_public:preferences'));"
        "print(sorted(m for m in ('mailsite.urls', 'wagtail.admin.urls', "
        "'anymail.urls') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "/m/unsubscribe/" in out[0]
    assert "/m/preferences/" in out[1]
    assert out[2] == "[]"
