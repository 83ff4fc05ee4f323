"""Who a mailing is from, and which key signs it; the header helpers."""

import dkim
import pytest

from deliverability.headers import feedback_id, list_id, message_id
from deliverability.identity import from_identity, sender_identity
from deliverability.keys import generate_rsa_key
from deliverability.models import SendingDomain
from deliverability.services import sender_create
from deliverability.signing import signed
from deliverability.tests.support import verified_domain
from mailing.tests.factories import MailingFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(email="olga@example.com", full_name="Olga Owner")


def test_without_a_sender_mail_comes_from_the_platform_in_the_customers_name(
    owner, platform
):
    identity = sender_identity(owner, None)
    assert identity.from_name == "Olga Owner via Mailsite"
    assert identity.from_address == "noreply@mailsite.test"
    assert identity.reply_to == "olga@example.com"
    assert identity.domain == "mailsite.test"
    assert identity.signing is None  # no platform key configured


def test_the_platform_key_signs_platform_mail_when_configured(
    owner, platform, tmp_path
):
    pem, public_value = generate_rsa_key()
    path = tmp_path / "dkim.pem"
    path.write_text(pem)
    platform.DKIM_PRIVATE_KEY = str(path)
    platform.DKIM_SELECTOR = "mailsite1"
    identity = sender_identity(owner, None)
    assert identity.signing.domain == "mailsite.test"
    assert identity.signing.selector == "mailsite1"
    assert identity.signing.private_key_pem == pem
    platform.DKIM_PRIVATE_KEY = pem  # PEM text works as well as a path
    assert sender_identity(owner, None).signing.private_key_pem == pem


def test_a_verified_sender_is_the_from_and_its_domain_signs(owner, platform):
    domain = verified_domain(owner)
    sender = sender_create(
        owner=owner, name="Example News", email="news@example.com", reply_to=""
    )
    identity = sender_identity(owner, sender)
    assert (identity.from_name, identity.from_address) == (
        "Example News",
        "news@example.com",
    )
    assert identity.domain == "example.com"
    assert identity.signing.selector == domain.dkim_selector
    data = signed(
        b"From: news@example.com\r\nTo: a@example.net\r\nSubject: x\r\n\r\nHi\r\n",
        domain=identity.signing.domain,
        selector=identity.signing.selector,
        private_key_pem=identity.signing.private_key_pem,
    )
    record = f"v=DKIM1; k=rsa; p={domain.dkim_public_key}".encode()
    assert dkim.verify(data, dnsfunc=lambda name, timeout=5: record)


def test_a_sender_whose_domain_lost_verification_falls_back_to_the_platform(
    owner, platform
):
    domain = verified_domain(owner)
    sender = sender_create(owner=owner, name="News", email="news@example.com")
    SendingDomain.objects.filter(pk=domain.pk).update(verified_at=None)
    sender.refresh_from_db()
    assert sender_identity(owner, sender).from_address == "noreply@mailsite.test"


def test_another_owners_sender_is_never_used(owner, platform):
    stranger = UserFactory()
    verified_domain(stranger, "stranger.example")
    sender = sender_create(owner=stranger, name="S", email="s@stranger.example")
    assert sender_identity(owner, sender).from_address == "noreply@mailsite.test"


def test_from_identity_reads_the_mailings_sender(owner, platform):
    verified_domain(owner)
    sender = sender_create(owner=owner, name="News", email="news@example.com")
    mailing = MailingFactory(owner=owner)
    assert from_identity(mailing).from_address == "noreply@mailsite.test"
    mailing.sender = sender
    assert from_identity(mailing).from_address == "news@example.com"


def test_header_helpers():
    assert message_id(run_id=3, client_id=9, domain="example.com") == (
        "<run3.client9@example.com>"
    )
    assert list_id(mailing_id=5, owner_id=2, domain="example.com") == (
        "<mailing5.customer2.example.com>"
    )
    assert list_id(
        mailing_id=5, owner_id=2, domain="example.com", name='The "News"'
    ) == ("\"The 'News'\" <mailing5.customer2.example.com>")
    assert list_id(
        mailing_id=5, owner_id=2, domain="x.test", name="Новости"
    ).startswith("=?utf-8?")
    assert feedback_id(mailing_id=5, owner_id=2) == "mailing5:customer2:mailsite"
