"""Fixtures shared by every app's tests."""

import os

import pytest

from mailsite.smtp_sink import SMTPSink


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
    from django.conf import settings

    return (
        f"database: {settings.DATABASES['default']['ENGINE']}, "
        f"cache: {settings.CACHES['default']['BACKEND']}, "
        f"CI={os.environ.get('CI', '')}"
    )


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.path.join(os.path.dirname(__file__), "test-artifacts")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


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
    from playwright.sync_api import sync_playwright

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
