"""`bounce_server`: DSNs and complaints sent over real SMTP to the bounce
domain's receiver turn the delivery they name bounced or complained and
suppress the address; a forged VERP token is refused."""

import smtplib

import pytest

from deliverability.bounces import message_apply
from deliverability.bounceserver import bounce_controller
from deliverability.reports import parse_report
from deliverability.tests.reports_support import arf_report, postfix_dsn
from deliverability.verp import verp_address
from mailing.devtools.smtp_sink import free_port
from mailing.models import Delivery, Run, Suppression
from mailing.tests.engine_support import manage_process
from mailing.tests.factories import DeliveryFactory

BOUNCE_DOMAIN = "bounces.mailsite.test"


@pytest.fixture
def bounce_server(settings):
    settings.BOUNCE_DOMAIN = BOUNCE_DOMAIN
    controller = bounce_controller("127.0.0.1", free_port())
    controller.start()
    yield controller
    controller.stop()


def _sent_delivery() -> Delivery:
    delivery = DeliveryFactory(message_id="<m1.2b3c@mailsite.test>")
    Run.objects.filter(pk=delivery.run_id).update(sent_count=1, delivery_count=1)
    return delivery


def _send(server, recipient: str, data: bytes):
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as smtp:
        return smtp.sendmail("", [recipient], data)


@pytest.mark.django_db(transaction=True)
def test_a_postfix_dsn_bounces_the_delivery_and_suppresses(bounce_server):
    delivery = _sent_delivery()
    verp = verp_address(delivery.pk, domain=BOUNCE_DOMAIN)
    _send(
        bounce_server,
        verp,
        postfix_dsn(verp=verp, recipient=delivery.email, message_id="<other@x>"),
    )
    delivery.refresh_from_db()
    assert delivery.status == "bounced"
    assert delivery.bounce_class == "hard_bounce"
    assert delivery.server_response.startswith("5.1.1 550 5.1.1")
    assert "User unknown" in delivery.server_response
    entry = Suppression.objects.get()
    assert (entry.owner_id, entry.email, entry.reason) == (
        delivery.run.mailing.owner_id,
        delivery.email,
        "hard_bounce",
    )
    assert entry.source.startswith("bounce report, mailing #")
    assert entry.source.endswith(f"delivery #{delivery.pk}")
    run = Run.objects.get(pk=delivery.run_id)
    assert (run.sent_count, run.bounced_count) == (1, 1)

    # A complaint about the same message outranks the bounce.
    _send(
        bounce_server,
        verp,
        arf_report(verp=verp, recipient=delivery.email, message_id="<x@y>"),
    )
    delivery.refresh_from_db()
    assert delivery.status == "complained"
    assert Suppression.objects.get().reason == "complaint"
    run.refresh_from_db()
    assert (run.sent_count, run.bounced_count, run.complained_count) == (1, 0, 1)


@pytest.mark.django_db(transaction=True)
def test_a_forged_token_is_refused_and_changes_nothing(bounce_server):
    delivery = _sent_delivery()
    genuine = verp_address(delivery.pk, domain=BOUNCE_DOMAIN)
    local, _at, domain = genuine.partition("@")
    forged = f"{local[:-2]}{'aa' if local[-2:] != 'aa' else 'bb'}@{domain}"
    dsn = postfix_dsn(verp=forged, recipient=delivery.email, message_id="<no@x>")
    for recipient in (
        forged,
        "postmaster@" + BOUNCE_DOMAIN,
        genuine.replace(BOUNCE_DOMAIN, "elsewhere.test"),
    ):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            _send(bounce_server, recipient, dsn)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert not Suppression.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_policy_bounce_or_a_mere_delay_does_not_suppress(bounce_server):
    delivery = _sent_delivery()
    verp = verp_address(delivery.pk, domain=BOUNCE_DOMAIN)
    dsn = postfix_dsn(
        verp=verp,
        recipient=delivery.email,
        message_id="<x@y>",
        status="5.7.1",
        diagnostic="550 5.7.1 Message rejected as spam",
    )
    _send(bounce_server, verp, dsn)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.bounce_class) == ("bounced", "policy")
    assert not Suppression.objects.exists()
    delayed = dsn.replace(b"Action: failed", b"Action: delayed")
    assert parse_report(delayed) == []


def test_a_dsn_found_by_message_id_without_verp(db):
    """A report forwarded from a mailbox may have lost the VERP address:
    the returned message's Message-ID finds the delivery."""
    delivery = _sent_delivery()
    dsn = postfix_dsn(
        verp="bounces@shop.example.com",
        recipient=delivery.email,
        message_id=delivery.message_id,
    )
    [applied] = message_apply(raw=dsn)
    assert applied.delivery_id == delivery.pk
    assert applied.suppressed


@pytest.mark.django_db(transaction=True)
def test_the_bounce_server_command_serves_the_bounce_domain(smtp_sink, settings):
    """`manage.py bounce_server --port N` as its own process: it refuses a
    stranger's address and bounces the delivery a DSN names."""
    settings.BOUNCE_DOMAIN = BOUNCE_DOMAIN
    delivery = _sent_delivery()
    verp = verp_address(delivery.pk, domain=BOUNCE_DOMAIN)
    port = free_port()
    process = manage_process(
        smtp_sink,
        "bounce_server",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        BOUNCE_DOMAIN=BOUNCE_DOMAIN,
    )
    try:
        assert "Receiving reports" in process.stdout.readline()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.mail("")
            assert smtp.rcpt(f"someone@{BOUNCE_DOMAIN}")[0] == 550
            assert smtp.rcpt(verp)[0] == 250
            code, _reply = smtp.data(
                postfix_dsn(verp=verp, recipient=delivery.email, message_id="<x@y>")
            )
            assert code == 250
    finally:
        process.terminate()
        process.wait(10)
    delivery.refresh_from_db()
    assert delivery.status == "bounced"
    assert Suppression.objects.get().email == delivery.email
