"""The mail server is unreliable; the service is not.

Every test sends over real SMTP to the aiosmtpd sink, switched into one of
its fault modes, and then checks the delivery log, that nothing was lost,
that the command returned within its timeouts, and that a later run after
the fault clears delivers what was deferred.
"""

import time
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from mailing.engine.message import PreparedMessage
from mailing.models import Delivery, DeliveryAttempt, Mailing, Run
from mailing.tests.engine_support import make_mailing

CLIENTS = 12
TIMEOUT = 0.5


@pytest.fixture
def engine_settings(settings):
    settings.EMAIL_TIMEOUT = TIMEOUT
    settings.MAILING_CONNECTIONS = 4
    settings.MAILING_BATCH_SIZE = 5
    settings.MAILING_MAX_ATTEMPTS = 5
    settings.MAILING_RETRY_BASE_SECONDS = 60
    settings.MAILING_BREAKER_THRESHOLD = 3
    settings.MAILING_BREAKER_PAUSE_SECONDS = 60
    return settings


def send() -> float:
    """Run the mailing script in this process; its duration in seconds."""
    started = time.monotonic()
    call_command("send_mailings")  # raises (exit != 0) on any error
    return time.monotonic() - started


def statuses(mailing) -> dict[str, int]:
    result: dict[str, int] = {}
    for status in Delivery.objects.filter(run__mailing=mailing).values_list(
        "status", flat=True
    ):
        result[status] = result.get(status, 0) + 1
    return result


def after_the_fault(sink, mailing, hours=2):
    """Clear the fault, come back later, run again: everything is sent."""
    sink.mode = "accept"
    sink.up()
    with time_machine.travel(timezone.now() + timedelta(hours=hours), tick=True):
        send()
    assert statuses(mailing) == {"sent": CLIENTS}
    for delivery in Delivery.objects.filter(run__mailing=mailing):
        assert delivery.server_response.startswith("250 2.0.0 Ok: queued as ")
        assert sink.received_by(delivery.email), delivery.email


@pytest.mark.django_db
def test_accepting_server_gets_every_message_once_with_its_reply(
    smtp_sink, engine_settings
):
    """Each client gets one message; the log holds the server's reply."""
    mailing = make_mailing(clients=CLIENTS)
    send()
    assert statuses(mailing) == {"sent": CLIENTS}
    for delivery in Delivery.objects.filter(run__mailing=mailing):
        assert len(smtp_sink.received_by(delivery.email)) == 1
        queue_id = delivery.server_response.rsplit(" ", 1)[1]
        assert delivery.server_response == f"250 2.0.0 Ok: queued as {queue_id}"
        assert delivery.attempts == 1 and delivery.last_attempt_at
        assert (
            delivery.message_id
            == f"<run{delivery.run_id}.client{delivery.client_id}@localhost>"
        )
    assert DeliveryAttempt.objects.filter(outcome="sent").count() == CLIENTS
    run = Run.objects.get(mailing=mailing)
    mailing.refresh_from_db()
    assert run.status == Run.Status.FINISHED and run.finished_at
    assert mailing.status == Mailing.Status.FINISHED and mailing.next_run_at is None


@pytest.mark.django_db
def test_451_defers_every_message_and_a_later_run_delivers(smtp_sink, engine_settings):
    """A 4xx reply to the message defers it with backoff; nothing is lost."""
    mailing = make_mailing(clients=CLIENTS)
    smtp_sink.mode = "451"
    assert send() < 5
    assert statuses(mailing) == {"deferred": CLIENTS}
    for delivery in Delivery.objects.filter(run__mailing=mailing):
        assert delivery.server_response.startswith("451 4.3.0 Error: queue file")
        assert delivery.attempts == 1
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=50)
    # The server answered properly, so the breaker stays closed.
    assert Run.objects.get(mailing=mailing).paused_until is None
    # Too early: nothing is retried yet.
    smtp_sink.mode = "accept"
    send()
    assert statuses(mailing) == {"deferred": CLIENTS}
    after_the_fault(smtp_sink, mailing)
    attempts = DeliveryAttempt.objects.filter(delivery__run__mailing=mailing)
    assert attempts.filter(outcome="deferred", reply_code=451).count() == CLIENTS
    assert attempts.filter(outcome="sent", reply_code=250).count() == CLIENTS


@pytest.mark.django_db
def test_4xx_until_the_attempt_limit_then_failed(smtp_sink, engine_settings):
    """Retries stop at MAILING_MAX_ATTEMPTS; the last reply stays on the row."""
    engine_settings.MAILING_MAX_ATTEMPTS = 2
    mailing = make_mailing(clients=3)
    smtp_sink.mode = "451"
    send()
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=True):
        send()
    assert statuses(mailing) == {"failed": 3}
    for delivery in Delivery.objects.filter(run__mailing=mailing):
        assert delivery.attempts == 2
        assert delivery.server_response.startswith("451 ")
        assert delivery.attempt_log.count() == 2
    assert Run.objects.get(mailing=mailing).status == Run.Status.FINISHED


@pytest.mark.django_db
def test_550_fails_at_once_with_the_reply(smtp_sink, engine_settings):
    """A 5xx reply is final: failed after one attempt, never retried."""
    mailing = make_mailing(clients=CLIENTS)
    smtp_sink.mode = "550"
    send()
    assert statuses(mailing) == {"failed": CLIENTS}
    delivery = Delivery.objects.filter(run__mailing=mailing).first()
    assert delivery.server_response == (
        f"550 5.1.1 <{delivery.email}>: Recipient address rejected: User unknown"
    )
    assert delivery.next_attempt_at is None
    smtp_sink.mode = "accept"
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=True):
        send()
    assert statuses(mailing) == {"failed": CLIENTS}
    assert smtp_sink.messages == []


CONNECTION_FAULTS = {
    # mode: text the deferred deliveries carry
    "421": "Connection: 421 4.3.2 Service not available",
    "garbage": "Unintelligible reply to DATA: ",
    "refuse": "Connection",
    "drop": "during DATA",
    "stall": "Timed out during DATA (the server may have accepted the message)",
    "down": "Connection: Connection refused",
}


@pytest.mark.django_db
@pytest.mark.parametrize("mode", list(CONNECTION_FAULTS))
def test_connection_faults_defer_then_pause_the_run(mode, smtp_sink, engine_settings):
    """Timeouts, refused, dropped or garbled connections defer the message;
    after three in a row the breaker pauses the run instead of burning
    through every recipient; a later run delivers everything."""
    mailing = make_mailing(clients=CLIENTS)
    if mode == "down":
        smtp_sink.down()
    else:
        smtp_sink.mode = mode
        smtp_sink.stall_seconds = 5
    duration = send()
    # At most a couple of timeouts per connection, never a hang.
    assert duration < 4 * TIMEOUT + 3
    counts = statuses(mailing)
    assert set(counts) <= {"deferred", "pending"}, counts
    assert sum(counts.values()) == CLIENTS
    deferred = list(Delivery.objects.filter(run__mailing=mailing, status="deferred"))
    assert 3 <= len(deferred) < CLIENTS
    for delivery in deferred:
        assert CONNECTION_FAULTS[mode] in delivery.server_response, (
            delivery.server_response
        )
        assert delivery.attempt_log.get().outcome == "deferred"
    run = Run.objects.get(mailing=mailing)
    assert run.paused_until > timezone.now() + timedelta(seconds=50)
    assert run.status == Run.Status.RUNNING
    taken_during_the_fault = len(smtp_sink.messages)
    after_the_fault(smtp_sink, mailing)
    if mode == "stall":
        # The stalled server did take the messages it never confirmed: the
        # retry duplicates them, and the shared Message-ID shows it.
        assert taken_during_the_fault >= 1
        for delivery in deferred:
            copies = smtp_sink.received_by(delivery.email)
            assert {str(m.message["Message-ID"]) for m in copies} == {
                delivery.message_id
            }
    else:
        assert taken_during_the_fault == 0
        assert len(smtp_sink.messages) == CLIENTS


@pytest.mark.django_db
def test_a_bug_while_building_one_message_loses_and_blocks_nothing(
    smtp_sink, engine_settings, monkeypatch
):
    """An unexpected error defers that delivery; the others go out."""
    build = PreparedMessage.build

    def flaky(self, **kwargs):
        if kwargs["email"].startswith("client3."):
            raise RuntimeError("boom")
        return build(self, **kwargs)

    monkeypatch.setattr(PreparedMessage, "build", flaky)
    mailing = make_mailing(clients=CLIENTS)
    assert send() < 5
    assert statuses(mailing) == {"sent": CLIENTS - 1, "deferred": 1}
    broken = Delivery.objects.get(run__mailing=mailing, status="deferred")
    assert broken.server_response == "Internal error: boom"


@pytest.mark.django_db
def test_the_rate_limit_spaces_messages_out(smtp_sink, engine_settings):
    """MAILING_RATE_LIMIT messages per second, across every connection."""
    engine_settings.MAILING_RATE_LIMIT = 20
    mailing = make_mailing(clients=11)
    duration = send()
    assert statuses(mailing) == {"sent": 11}
    assert duration >= 10 / 20


@pytest.mark.django_db
def test_the_breaker_pauses_longer_each_time_the_server_is_still_down(
    smtp_sink, engine_settings
):
    mailing = make_mailing(clients=CLIENTS)
    smtp_sink.down()
    send()
    run = Run.objects.get(mailing=mailing)
    first_pause = run.paused_until - timezone.now()
    assert Delivery.objects.filter(run=run, status="pending").exists()
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=True):
        send()
        run.refresh_from_db()
        second_pause = run.paused_until - timezone.now()
    assert second_pause > first_pause * 1.5
    assert not Delivery.objects.filter(run=run, status__in=["sent", "failed"]).exists()
    after_the_fault(smtp_sink, mailing, hours=5)
