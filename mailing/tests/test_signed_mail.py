"""Every mailing message that reaches the SMTP server is DKIM-signed and
addressed as deliverability says: verified with dkimpy against the key
published for the signing domain (real verification), the envelope sender a
VERP address naming its delivery, From / Reply-To / Message-ID at the
sending domain."""

import dkim
import pytest
from django.core.management import call_command
from django.utils import timezone

from deliverability.keys import KeyDecryptionError, generate_rsa_key
from deliverability.models import SendingDomain
from deliverability.services import sender_create, sending_domain_create
from deliverability.verp import delivery_id_from_verp
from mailing.models import Client, Delivery
from mailing.tests.engine_support import make_mailing, make_owner

PLATFORM_SELECTOR = "mailsite1"


@pytest.fixture(scope="module")
def platform_key():
    return generate_rsa_key()


@pytest.fixture
def platform(settings, platform_key):
    """The platform's names and its DKIM key, fixed for the tests."""
    settings.DEFAULT_FROM_EMAIL = "Mailsite <noreply@mailsite.test>"
    settings.MAILING_DOMAIN = "mailsite.test"
    settings.BOUNCE_DOMAIN = "bounces.mailsite.test"
    settings.DKIM_SELECTOR = PLATFORM_SELECTOR
    settings.DKIM_PRIVATE_KEY = platform_key[0]
    settings.SITE_URL = "https://mail.example.org"
    settings.EMAIL_TIMEOUT = 2
    return settings


def published(records: dict[str, str]):
    """A DNS lookup for dkimpy that knows only `records` (name → p= value)."""

    def dnsfunc(name, timeout=5):
        value = records.get(name.decode().rstrip("."))
        return f"v=DKIM1; k=rsa; p={value}".encode() if value else None

    return dnsfunc


def platform_dns(platform_key):
    return published({f"{PLATFORM_SELECTOR}._domainkey.mailsite.test": platform_key[1]})


def usable_sender(owner, *, domain="example.com", reply_to=""):
    sending_domain = sending_domain_create(owner=owner, domain=domain)
    SendingDomain.objects.filter(pk=sending_domain.pk).update(
        verified_at=timezone.now()
    )
    sending_domain.refresh_from_db()
    sender = sender_create(
        owner=owner, name="Example News", email=f"news@{domain}", reply_to=reply_to
    )
    return sender, sending_domain


def tampered(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


@pytest.mark.django_db
def test_platform_mail_is_signed_with_the_platform_key_and_verp_addressed(
    smtp_sink, platform, platform_key
):
    """Without a sender: "<customer> via Mailsite" at the platform address,
    Reply-To the customer, signed d=MAILING_DOMAIN; each envelope sender is
    the VERP address of its own delivery."""
    owner = make_owner(full_name="Olga Owner")
    mailing = make_mailing(
        owner=owner, clients=3, html_body="<html><body><p>Hi</p></body></html>"
    )
    call_command("send_mailings")
    assert len(smtp_sink.messages) == 3
    dns = platform_dns(platform_key)
    for mail in smtp_sink.messages:
        assert dkim.verify(mail.data, dnsfunc=dns), mail.data[:400]
        message = mail.message
        [sender] = message["From"].addresses
        assert sender.display_name == "Olga Owner via Mailsite"
        assert sender.addr_spec == "noreply@mailsite.test"
        assert message["Reply-To"].addresses[0].addr_spec == owner.email
        delivery = Delivery.objects.get(email=mail.rcpt_tos[0])
        assert mail.mail_from.startswith("b-")
        assert mail.mail_from.endswith("@bounces.mailsite.test")
        assert delivery_id_from_verp(mail.mail_from) == delivery.pk
        assert message["Message-ID"] == delivery.message_id
        assert delivery.message_id == (
            f"<run{delivery.run_id}.client{delivery.client_id}@mailsite.test>"
        )
        assert message["List-Id"] == (
            f"<mailing{mailing.pk}.customer{owner.pk}.mailsite.test>"
        )
        assert message["Feedback-ID"] == (
            f"mailing{mailing.pk}:customer{owner.pk}:mailsite"
        )
        signature = dkim.util.parse_tag_value(
            message["DKIM-Signature"].encode().replace(b"\r\n", b"")
        )
        assert signature[b"d"] == b"mailsite.test"
        signed_names = {n.strip().lower() for n in signature[b"h"].split(b":")}
        assert {
            b"from",
            b"to",
            b"subject",
            b"date",
            b"message-id",
            b"mime-version",
            b"content-type",
            b"list-unsubscribe",
            b"list-unsubscribe-post",
            b"list-id",
            b"feedback-id",
            b"reply-to",
        } <= signed_names
    assert len({mail.mail_from for mail in smtp_sink.messages}) == 3


@pytest.mark.django_db
def test_tampering_with_the_body_or_list_unsubscribe_breaks_the_signature(
    smtp_sink, platform, platform_key
):
    make_mailing(clients=1, html_body="<p>Hello {{ full_name }}</p>")
    call_command("send_mailings")
    [mail] = smtp_sink.messages
    dns = platform_dns(platform_key)
    assert dkim.verify(mail.data, dnsfunc=dns)
    assert not dkim.verify(tampered(mail.data, b"Dear", b"Deer"), dnsfunc=dns)
    assert not dkim.verify(
        tampered(
            mail.data, b"List-Unsubscribe: <https://", b"List-Unsubscribe: <http://"
        ),
        dnsfunc=dns,
    )
    # A header the signature lists as absent cannot be added either.
    assert not dkim.verify(b"Cc: someone@example.net\r\n" + mail.data, dnsfunc=dns)


@pytest.mark.django_db
def test_a_verified_senders_mail_is_signed_with_its_domains_key(
    smtp_sink, platform, platform_key
):
    """From the sender, Reply-To its reply-to, d= and Message-ID at its
    domain; the platform key does not verify it."""
    owner = make_owner()
    sender, domain = usable_sender(owner, reply_to="replies@example.com")
    make_mailing(owner=owner, clients=2, sender=sender)
    call_command("send_mailings")
    assert len(smtp_sink.messages) == 2
    dns = published(
        {f"{domain.dkim_selector}._domainkey.example.com": domain.dkim_public_key}
    )
    wrong_key = published(
        {f"{domain.dkim_selector}._domainkey.example.com": platform_key[1]}
    )
    for mail in smtp_sink.messages:
        assert dkim.verify(mail.data, dnsfunc=dns)
        assert not dkim.verify(mail.data, dnsfunc=wrong_key)
        message = mail.message
        [address] = message["From"].addresses
        assert (address.display_name, address.addr_spec) == (
            "Example News",
            "news@example.com",
        )
        assert message["Reply-To"].addresses[0].addr_spec == "replies@example.com"
        assert message["Message-ID"].endswith("@example.com>")
        delivery = Delivery.objects.get(email=mail.rcpt_tos[0])
        assert delivery_id_from_verp(mail.mail_from) == delivery.pk


@pytest.mark.django_db
def test_a_sender_without_reply_to_has_none(smtp_sink, platform):
    owner = make_owner()
    sender, _ = usable_sender(owner)
    make_mailing(owner=owner, clients=1, sender=sender)
    call_command("send_mailings")
    [mail] = smtp_sink.messages
    assert mail.message["Reply-To"] is None
    assert mail.message["From"].addresses[0].addr_spec == "news@example.com"


@pytest.mark.django_db
def test_without_a_platform_key_platform_mail_goes_unsigned(smtp_sink, platform):
    platform.DKIM_PRIVATE_KEY = ""
    make_mailing(clients=1)
    call_command("send_mailings")
    [mail] = smtp_sink.messages
    assert mail.message["DKIM-Signature"] is None
    assert delivery_id_from_verp(mail.mail_from) == Delivery.objects.get().pk


@pytest.mark.django_db
def test_an_smtputf8_message_is_signed_too(smtp_sink, platform, platform_key):
    """A UTF-8 local part makes the message SMTPUTF8; it still verifies."""
    mailing = make_mailing(clients=1, subject="Grüße, {{ full_name }}")
    Client.objects.filter(pk=mailing.clients.get().pk).update(
        email="josé@example.net", full_name="Zoë"
    )
    call_command("send_mailings")
    [mail] = smtp_sink.messages
    assert dkim.verify(mail.data, dnsfunc=platform_dns(platform_key))
    assert mail.message["Subject"] == "Grüße, Zoë"


@pytest.mark.django_db
def test_a_senders_key_that_cannot_be_read_falls_back_to_the_platform(
    smtp_sink, platform, platform_key, monkeypatch
):
    """DKIM_KEY_ENCRYPTION_KEY changed: the run still goes out, from the
    platform and signed with its key, never unsigned from the customer."""
    owner = make_owner()
    sender, _ = usable_sender(owner)

    def unreadable(self):
        raise KeyDecryptionError("changed")

    monkeypatch.setattr(SendingDomain, "private_key_pem", unreadable)
    make_mailing(owner=owner, clients=1, sender=sender)
    call_command("send_mailings")
    [mail] = smtp_sink.messages
    assert mail.message["From"].addresses[0].addr_spec == "noreply@mailsite.test"
    assert dkim.verify(mail.data, dnsfunc=platform_dns(platform_key))
