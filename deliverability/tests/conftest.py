import pytest

from deliverability.localdns import LocalDNSServer
from mailing.tests.conftest import role_users  # noqa: F401 (shared fixture)


@pytest.fixture
def dns_zone(settings):
    """A real DNS server on a free loopback port, DNS_NAMESERVERS pointed at
    it; the test publishes and removes records in the returned zone."""
    with LocalDNSServer() as server:
        settings.DNS_NAMESERVERS = server.address
        settings.DNS_TIMEOUT = 1
        yield server.zone


@pytest.fixture
def platform(settings):
    """The platform's own names, fixed for the tests."""
    settings.DEFAULT_FROM_EMAIL = "Mailsite <noreply@mailsite.test>"
    settings.MAILING_DOMAIN = "mailsite.test"
    settings.BOUNCE_DOMAIN = "bounces.mailsite.test"
    settings.SPF_INCLUDE = ""
    return settings
