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
