"""Fixtures shared by every app's tests."""

import os
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import translation
from django_redis import get_redis_connection
from playwright.sync_api import sync_playwright

from accounts.roles import CONTENT_MANAGERS, MANAGERS
from mailing.devtools.smtp_sink import SMTPSink

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.path.join(os.path.dirname(__file__), "test-artifacts")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session", autouse=True)
def _real_services_in_ci(request):
    """In CI the suite runs against real PostgreSQL and Redis, or not at all.

    A developer without them gets SQLite and local memory; CI must never
    quietly fall back, so there a wrong engine or a silent service fails.
    """
    if not IN_CI:
        return

    engine = settings.DATABASES["default"]["ENGINE"]
    cache_backend = settings.CACHES["default"]["BACKEND"]
    assert engine == "django.db.backends.postgresql", f"CI database is {engine}"
    assert cache_backend == "django_redis.cache.RedisCache", (
        f"CI cache is {cache_backend}"
    )
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    with blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)

    assert get_redis_connection("default").ping(), "Redis does not answer"
    assert os.path.exists(CHROMIUM), f"Chromium is missing at {CHROMIUM}"


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations():
    """Tests read the Russian pages from the .mo files, which are not kept in
    the repository: compile them when missing or older than their .po."""

    for po in Path(settings.LOCALE_PATHS[0]).glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            call_command("compilemessages", verbosity=0)
            return


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's language: a request to a Russian page
    leaves Russian active in the thread (LocaleMiddleware does not undo it),
    and the next test's messages would come out in Russian."""

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and cached figures live in the cache; no test sees another's."""

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _content_types_match_the_database(request):
    """Django caches content types per process, by id. A transactional test's
    flush and reload can give them other ids, and a stale id breaks the next
    test's foreign keys (Wagtail's reference index writes them on every save).

    So after a transactional test's database is set up, the cache is refilled
    from it for every model at once: cleared but left empty, it would make the
    next reload create rows (Wagtail's Task.__init__ asks for its content type
    while the serialized rows are still being loaded).
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        yield
        return
    request.getfixturevalue("transactional_db")

    ContentType.objects.clear_cache()
    ContentType.objects.get_for_models(*apps.get_models(), for_concrete_models=False)
    yield


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on a free loopback port; the site's mail goes there."""
    with SMTPSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = sink.host
        settings.EMAIL_PORT = sink.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        yield sink


def pytest_report_header(config):

    return (
        f"database: {settings.DATABASES['default']['ENGINE']}, "
        f"cache: {settings.CACHES['default']['BACKEND']}, "
        f"CI={os.environ.get('CI', '')}"
    )


def missing(what: str):
    """Fail in CI, skip elsewhere: CI must never quietly skip a real check."""
    if IN_CI:
        pytest.fail(f"{what} is missing, and CI must not skip it.")
    pytest.skip(f"{what} is missing on this machine.")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    if not os.path.exists(CHROMIUM):
        missing(f"Chromium ({CHROMIUM})")

    # Playwright's sync API keeps an event loop running in this thread; the
    # ORM calls the tests make around it are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-quic",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser tab on the live server; a screenshot is kept at the end.

    `page.goto("/path")` is relative to the live server. Screenshots land in
    test-artifacts/ (ignored by git), named after the test.
    """
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    os.makedirs(ARTIFACTS, exist_ok=True)
    try:
        tab.screenshot(
            path=os.path.join(ARTIFACTS, f"{request.node.name}.png"), full_page=True
        )
    finally:
        context.close()


@pytest.fixture
def screenshot(page, request):
    """Save a named screenshot of the current page under test-artifacts/."""

    def take(name: str) -> str:
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, f"{request.node.name}-{name}.png")
        page.screenshot(path=path, full_page=True)
        return path

    return take


# Users, one per role. Their e-mail address is verified (allauth's
# EmailAddress), so they can log in through the real login page.
PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def make_user(db):
    """Create a user: `make_user("a@example.com", group=roles.MANAGERS)`."""

    def make(
        email="someone@example.com",
        *,
        password=PASSWORD,
        group=None,
        superuser=False,
        verified=True,
        is_active=True,
    ):
        User = get_user_model()
        if superuser:
            user = User.objects.create_superuser(email=email, password=password)
        else:
            user = User.objects.create_user(email=email, password=password)
        if not is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        if group:
            user.groups.add(Group.objects.get(name=group))
        EmailAddress.objects.create(
            user=user, email=user.email, verified=verified, primary=True
        )
        return user

    return make


@pytest.fixture
def customer(make_user):
    return make_user("customer@example.com")


@pytest.fixture
def manager(make_user):

    return make_user("manager@example.com", group=MANAGERS)


@pytest.fixture
def content_manager(make_user):

    return make_user("editor@example.com", group=CONTENT_MANAGERS)


@pytest.fixture
def superuser(make_user):
    return make_user("admin@example.com", superuser=True)
