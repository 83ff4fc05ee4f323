"""`fetch_bounces` against a real IMAP server (dovecot on a free port):
a DSN and an ARF report are read and applied, every message is marked seen,
and a garbage message does not stop the pass."""

import io

import pytest
from django.core.management import CommandError, call_command

from deliverability.mailbox import parse_mailbox_url
from deliverability.tests.imap_support import DovecotServer
from deliverability.tests.reports_support import arf_report, postfix_dsn
from deliverability.verp import verp_address
from mailing.models import Delivery, Suppression
from mailing.tests.factories import DeliveryFactory


@pytest.fixture
def dovecot():
    with DovecotServer() as server:
        yield server


@pytest.mark.django_db
def test_fetch_bounces_reads_a_dsn_and_a_complaint_and_marks_them_seen(
    dovecot, settings
):
    settings.BOUNCE_DOMAIN = "bounces.mailsite.test"
    bounced = DeliveryFactory(message_id="<a.1@mailsite.test>")
    complained = DeliveryFactory(message_id="<b.2@mailsite.test>")
    dovecot.append(b"Subject: hello\r\n\r\nNot a report at all, just mail.\r\n")
    dovecot.append(
        postfix_dsn(
            verp=verp_address(bounced.pk),
            recipient=bounced.email,
            message_id=bounced.message_id,
        )
    )
    dovecot.append(b"\x00\xff garbage \r\n\r\n\x01")
    # Forwarded by a mailbox: the VERP address is gone, the Message-ID not.
    dovecot.append(
        arf_report(
            verp="postmaster@shop.example.com",
            recipient=complained.email,
            message_id=complained.message_id,
        )
    )
    assert dovecot.unseen() == 4
    settings.BOUNCE_MAILBOX_URL = dovecot.url

    out = io.StringIO()
    call_command("fetch_bounces", stdout=out)
    assert "4 message(s) read: 2 report(s) applied, 2 not a report" in out.getvalue()
    assert dovecot.unseen() == 0
    bounced.refresh_from_db()
    complained.refresh_from_db()
    assert bounced.status == Delivery.Status.BOUNCED
    assert complained.status == Delivery.Status.COMPLAINED
    reasons = dict(Suppression.objects.values_list("email", "reason"))
    assert reasons == {bounced.email: "hard_bounce", complained.email: "complaint"}

    # A second pass finds nothing new.
    out = io.StringIO()
    call_command("fetch_bounces", stdout=out)
    assert out.getvalue().startswith("0 message(s) read")


def test_a_bad_mailbox_url_is_a_clear_error(settings):
    with pytest.raises(ValueError, match="imaps://"):
        parse_mailbox_url("pop3://u:p@host/")
    settings.BOUNCE_MAILBOX_URL = ""
    with pytest.raises(CommandError, match="BOUNCE_MAILBOX_URL"):
        call_command("fetch_bounces")
    address = parse_mailbox_url("imaps://bo%40x:p%3Aw@mail.example.com/Bounces")
    assert (address.user, address.password, address.port, address.mailbox) == (
        "bo@x",
        "p:w",
        993,
        "Bounces",
    )
