"""smtp+tls: STARTTLS is required and the certificate is checked, against a
real aiosmtpd server with a self-signed certificate made in the test."""

import datetime
import ipaddress
import socket
import ssl

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.mail import EmailMessage, get_connection

from mailing.engine.transport import SMTPTransport
from mailing.models import Delivery
from tests.test_settings import load

MESSAGE = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: x\r\n\r\nHi\r\n"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Keep:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, session.ssl is not None))
        return "250 2.0.0 Ok: queued"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(certificate):
    """Start a server: `smtp_server(starttls=True)` -> (controller, handler)."""
    started = []

    def start(*, starttls: bool):
        handler = _Keep()
        tls = None
        if starttls:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(*map(str, certificate))
        controller = Controller(
            handler, hostname="127.0.0.1", port=_free_port(), tls_context=tls
        )
        controller.start()
        started.append(controller)
        return controller, handler

    yield start
    for controller in started:
        controller.stop()


def send(controller):
    transport = SMTPTransport(
        host="127.0.0.1", port=controller.port, timeout=5, use_tls=True
    )
    try:
        return transport.send("a@example.com", "b@example.net", MESSAGE)
    finally:
        transport.close()


def test_a_server_without_starttls_is_deferred_never_sent_in_plain_text(
    smtp_server, settings
):
    settings.EMAIL_TLS_VERIFY = False
    controller, handler = smtp_server(starttls=False)
    outcome = send(controller)
    assert outcome.status == Delivery.Status.DEFERRED
    assert "does not offer STARTTLS" in outcome.text
    assert "nothing was sent in plain text" in outcome.text
    assert handler.received == []


def test_a_self_signed_certificate_is_refused_by_default(smtp_server, settings):
    settings.EMAIL_TLS_VERIFY = True
    controller, handler = smtp_server(starttls=True)
    outcome = send(controller)
    assert outcome.status == Delivery.Status.DEFERRED
    assert "TLS certificate was refused" in outcome.text
    assert "self-signed certificate" in outcome.text
    assert "EMAIL_TLS_VERIFY=off" in outcome.text
    assert handler.received == []


def test_with_verification_off_a_self_signed_relay_gets_the_mail_encrypted(
    smtp_server, settings
):
    settings.EMAIL_TLS_VERIFY = False
    controller, handler = smtp_server(starttls=True)
    outcome = send(controller)
    assert outcome.status == Delivery.Status.SENT, outcome.text
    assert handler.received == [("a@example.com", True)]


def test_account_mail_follows_the_same_rule(smtp_server, settings):
    """Django's backend as the settings choose it with EMAIL_TLS_VERIFY=off."""
    controller, handler = smtp_server(starttls=True)
    connection = get_connection(
        "mailing.engine.tls.EmailBackend",
        host="127.0.0.1",
        port=controller.port,
        use_tls=True,
        timeout=5,
    )
    mail = EmailMessage("Hi", "Body", "a@example.com", ["b@example.net"])
    settings.EMAIL_TLS_VERIFY = True
    with pytest.raises(ssl.SSLCertVerificationError):
        connection.send_messages([mail])
    settings.EMAIL_TLS_VERIFY = False
    connection = get_connection(
        "mailing.engine.tls.EmailBackend",
        host="127.0.0.1",
        port=controller.port,
        use_tls=True,
        timeout=5,
    )
    assert connection.send_messages([mail]) == 1
    assert handler.received == [("a@example.com", True)]


@pytest.mark.parametrize(
    ("verify", "backend"),
    [
        ("", "django.core.mail.backends.smtp.EmailBackend"),
        ("on", "django.core.mail.backends.smtp.EmailBackend"),
        ("off", "mailing.engine.tls.EmailBackend"),
    ],
)
def test_email_tls_verify_off_switches_account_mail_to_the_same_policy(verify, backend):
    variables = {"EMAIL_URL": "smtp+tls://u:p@mx.example.com:587"}
    if verify:
        variables["EMAIL_TLS_VERIFY"] = verify
    s = load(**variables)
    assert s["EMAIL_USE_TLS"] is True
    assert s["EMAIL_BACKEND"] == backend
