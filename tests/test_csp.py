"""Content-Security-Policy: every response carries it, our templates hold no
inline script, and the site and Wagtail's admin work under it in Chromium."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from mailing.tests.counters import run_counters_recompute_for_tests
from mailing.tests.factories import (
    ClientFactory,
    DeliveryFactory,
    MailingFactory,
    MessageFactory,
    RunFactory,
    UserFactory,
)
from tests.site_content import make_article

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# A <script> element without src (JSON data blocks are not run, so allowed),
# an on…= event handler attribute, or a javascript: URL.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>"
    r"|\son[a-z]+\s*=|javascript:",
    re.IGNORECASE,
)


def inline_scripts(html: str) -> list[str]:
    return INLINE_SCRIPT.findall(html)


def directives(policy: str) -> dict[str, str]:
    """`"a x; b y z"` as `{"a": "x", "b": "y z"}`."""
    return dict((part.split(" ", 1) + [""])[:2] for part in policy.split("; "))


def test_the_pattern_finds_inline_script():
    """The check below would see an inline script or handler."""
    assert inline_scripts("<script>alert(1)</script>")
    assert inline_scripts('<button onclick="go()">')
    assert inline_scripts('<a href="javascript:go()">')
    assert not inline_scripts('<script src="/static/js/a.js" defer></script>')
    assert not inline_scripts('<script type="application/json">{}</script>')


def test_our_templates_hold_no_inline_script():
    """Every template of ours loads its scripts from static files."""
    found = {
        str(path.relative_to(TEMPLATES)): inline_scripts(path.read_text())
        for path in TEMPLATES.rglob("*.html")
    }
    assert {name: hits for name, hits in found.items() if hits} == {}


@pytest.mark.django_db
def test_every_response_carries_the_policy(client, customer):
    """The site's pages and the customer area send the header: scripts only
    from our own origin, never inline."""
    client.force_login(customer, backend="django.contrib.auth.backends.ModelBackend")
    for path in ["/accounts/login/", "/app/", "/app/clients/"]:
        response = client.get(path)
        policy = directives(response.headers["Content-Security-Policy"])
        assert policy["script-src"] == "'self'", path
        assert policy["object-src"] == "'none'", path
        assert not inline_scripts(response.content.decode()), path


@pytest.mark.django_db
def test_only_the_wagtail_admin_may_run_inline_scripts(client, superuser):
    """Wagtail's admin gets its allowance under /cms/ only."""
    client.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    admin = directives(client.get("/cms/").headers["Content-Security-Policy"])
    assert admin["script-src"] == "'self' 'unsafe-inline'"
    assert admin["object-src"] == "'none'"
    site = directives(client.get("/app/").headers["Content-Security-Policy"])
    assert site["script-src"] == "'self'"


def test_production_settings_send_the_header():
    """A request under mailsite.settings.production gets the policy."""
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "from django.test.utils import setup_test_environment\n"
        "setup_test_environment()\n"
        "response = Client().get('/robots.txt', secure=True)\n"
        "print(response.status_code)\n"
        "print(response.headers.get('Content-Security-Policy'))\n"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mailsite.settings.production",
        "SECRET_KEY": "p" * 20 + "roduction-key-for-the-csp-test-0123456789",
        "ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    status, policy = result.stdout.strip().splitlines()[-2:]
    assert status == "200", result.stdout
    assert directives(policy)["default-src"] == "'self'"
    assert directives(policy)["script-src"] == "'self'"
    assert directives(policy)["object-src"] == "'none'"


def _watch_for_violations(page) -> list[str]:
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return violations


def _log_in(page, email):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", "correct-horse-battery-9")
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_site_runs_under_the_policy(page):
    """A visitor's and a customer's pages, scripts included (the progress
    bar polls), raise no policy violation in Chromium."""
    violations = _watch_for_violations(page)
    article = make_article("Under policy", image=False)
    owner = UserFactory(email="casey@example.com")
    message = MessageFactory(owner=owner, html_body="<p>Hi <b>{{ full_name }}</b></p>")
    mailing = MailingFactory(owner=owner, message=message, clients=0)
    run = RunFactory(mailing=mailing, status="running")
    DeliveryFactory(run=run, client=ClientFactory(owner=owner), status="pending")
    run_counters_recompute_for_tests(run)
    for path in [
        "/",
        "/blog/",
        article.url,
        "/blog/search/?q=policy",
        "/accounts/signup/",
    ]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    _log_in(page, owner.email)
    for path in [
        "/app/",
        "/app/clients/",
        "/app/clients/import/",
        f"/app/messages/{message.pk}/",
        "/app/mailings/new/",
        f"/app/mailings/{mailing.pk}/",
        "/accounts/email/",
    ]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    # The progress bar's script runs: it polls the JSON endpoint, fills the
    # bar and reloads the page when the run is over.
    page.goto(f"/app/mailings/{mailing.pk}/")
    page.locator("#run-progress").get_by_text("0 / 1").wait_for()
    run.deliveries.update(status="sent")
    run_counters_recompute_for_tests(run)
    page.locator("#run-progress").get_by_text("1 / 1").wait_for()
    assert violations == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_wagtail_admin_runs_under_the_policy(page, superuser):
    """The admin's dashboard, page editor (rich text, choosers), image
    library, moderation views and account page raise no violation."""
    violations = _watch_for_violations(page)
    article = make_article("Editable", image=False)
    _log_in(page, superuser.email)
    for path in [
        "/",
        "/cms/",
        "/cms/pages/",
        f"/cms/pages/{article.pk}/edit/",
        "/cms/images/",
        "/cms/images/add/",
        "/cms/moderation/mailings/",
        "/cms/moderation/users/",
        "/cms/account/",
        "/cms/reports/site-history/",
    ]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    page.goto(f"/cms/pages/{article.pk}/edit/")
    page.get_by_role("button", name="Toggle preview").click()
    page.frame_locator("iframe").first.get_by_text("Body of article").wait_for()
    page.reload()
    page.get_by_role("button", name="Choose an image").click()
    page.locator(".modal").get_by_role("tab", name="Upload").wait_for()
    assert violations == []
