"""Refusals at the SMTP stage, classified by their enhanced status code: a
dead mailbox is suppressed and never mailed again, a policy refusal only
fails, soft bounces that repeat suppress too."""

import io

import pytest
from django.core.management import call_command

from deliverability.classify import classify_reply
from mailing.engine.record import SOFT_BOUNCE_LIMIT
from mailing.models import Delivery, Mailing, Suppression
from mailing.tests.engine_support import make_mailing

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "text", "kind"),
    [
        (
            550,
            "550 5.1.1 <a@b.c>: Recipient address rejected: User unknown",
            "hard_bounce",
        ),
        (550, "5.1.2 Bad destination system address", "hard_bounce"),
        (
            550,
            "550 5.2.1 The email account that you tried to reach is disabled",
            "hard_bounce",
        ),
        (552, "552 5.2.2 Mailbox full", "soft"),
        (550, "550 5.7.1 Message rejected as spam", "policy"),
        (554, "554 5.7.26 Unauthenticated email is not accepted", "policy"),
        (550, "550 Requested action not taken", "other"),
        (451, "451 4.3.0 Try again later", "soft"),
        (550, "550 4.1.1 contradicts the code", "other"),
    ],
)
def test_replies_are_classified_by_their_enhanced_status_code(code, text, kind):
    assert classify_reply(code, text).kind == kind


def test_a_dead_mailbox_is_suppressed_and_the_next_run_skips_it(smtp_sink):
    mailing = make_mailing(clients=3, periodicity=Mailing.Periodicity.DAILY)
    dead, refused, fine = mailing.clients.order_by("email")
    smtp_sink.replies[dead.email] = (
        f"550 5.1.1 <{dead.email}>: Recipient address rejected: User unknown"
    )
    smtp_sink.replies[refused.email] = "550 5.7.1 Message rejected by policy"
    out = io.StringIO()
    call_command("send_mailings", stdout=out)
    assert "1 sent, 0 deferred, 2 failed" in out.getvalue()
    assert "(1 of the failed refused by policy)" in out.getvalue()

    by_email = {d.email: d for d in Delivery.objects.all()}
    assert by_email[dead.email].status == "failed"
    assert by_email[dead.email].bounce_class == "hard_bounce"
    assert by_email[refused.email].status == "failed"
    assert by_email[refused.email].bounce_class == "policy"
    assert by_email[fine.email].status == "sent"
    assert by_email[fine.email].bounce_class == ""
    [entry] = Suppression.objects.all()
    assert (entry.owner_id, entry.email, entry.reason) == (
        mailing.owner_id,
        dead.email,
        "hard_bounce",
    )
    delivery = by_email[dead.email]
    assert entry.source == f"SMTP reply, mailing #{mailing.pk}, delivery #{delivery.pk}"
    assert f"delivery #{delivery.pk}" in entry.source_display

    # The next run of the same customer (another mailing here) skips it.
    smtp_sink.messages.clear()
    smtp_sink.replies.clear()
    other = make_mailing(owner=mailing.owner, clients=0)
    other.clients.set([dead, refused, fine])
    call_command("send_mailings")
    received = {rcpt for m in smtp_sink.messages for rcpt in m.rcpt_tos}
    assert received == {refused.email, fine.email}


def test_soft_bounces_that_repeat_suppress(smtp_sink, settings):
    """An address deferred until failure in SOFT_BOUNCE_LIMIT runs within the
    window is suppressed; fewer are not."""
    settings.MAILING_MAX_ATTEMPTS = 1
    first = make_mailing(clients=1)
    owner, client = first.owner, first.clients.get()
    smtp_sink.replies[client.email] = "452 4.2.2 Mailbox over quota, try later"
    for number in range(1, SOFT_BOUNCE_LIMIT + 1):
        if number > 1:
            mailing = make_mailing(owner=owner, clients=0)
            mailing.clients.set([client])
        call_command("send_mailings")
        last = Delivery.objects.order_by("-pk").first()
        assert (last.status, last.bounce_class) == ("failed", "soft")
        expected = 1 if number == SOFT_BOUNCE_LIMIT else 0
        assert Suppression.objects.filter(email=client.email).count() == expected
    assert Suppression.objects.get().reason == "hard_bounce"
