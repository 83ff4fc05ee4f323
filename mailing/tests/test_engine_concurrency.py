"""Several dispatchers at once, and one killed mid-run, on real PostgreSQL.

The dispatchers are real `manage.py send_mailings` processes working on the
test database (transactional tests, so they see committed rows).
"""

import signal
import time
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from mailing.engine.config import engine_config
from mailing.engine.dispatcher import Dispatcher
from mailing.engine.journal import replay_dead_journals
from mailing.models import Delivery, Run
from mailing.tests.engine_support import (
    assert_counters_match,
    dispatcher,
    make_mailing,
    require_postgresql,
)


@pytest.fixture(autouse=True)
def postgresql():
    require_postgresql()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_dispatchers_share_a_run_and_nobody_gets_it_twice(smtp_sink):
    """Two processes on one 2,000-client run: each client exactly once."""
    mailing = make_mailing(clients=2000)
    processes = [
        dispatcher(smtp_sink, MAILING_BATCH_SIZE=50, MAILING_CONNECTIONS=4)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    received = Counter(r for m in smtp_sink.messages for r in m.rcpt_tos)
    emails = set(
        Delivery.objects.filter(run__mailing=mailing).values_list("email", flat=True)
    )
    assert len(emails) == 2000
    assert set(received) == emails
    assert max(received.values()) == 1
    assert Delivery.objects.filter(run__mailing=mailing, status="sent").count() == 2000
    assert Run.objects.filter(mailing=mailing).count() == 1
    print(*outputs, sep="\n")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_big_run_is_shared_by_forked_dispatcher_processes(smtp_sink):
    """MAILING_PROCESSES=2 behind the connection pool, as in production: the
    forked process opens its own connection and each client gets one message."""
    mailing = make_mailing(clients=1000)
    process = dispatcher(
        smtp_sink, MAILING_PROCESSES=2, MAILING_BATCH_SIZE=50, MAILING_CONNECTIONS=4
    )
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 0, output
    assert "1000 sent, 0 deferred, 0 failed in 1 run(s) by 2 processes" in output
    received = Counter(r for m in smtp_sink.messages for r in m.rcpt_tos)
    assert len(received) == 1000 and max(received.values()) == 1
    assert Delivery.objects.filter(run__mailing=mailing, status="sent").count() == 1000


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_killed_dispatcher_resends_at_most_what_was_on_the_wire(smtp_sink):
    """kill -9 at full speed mid-run, then another dispatcher once the lease
    ran out: every client gets the message, and only messages whose reply
    was not yet journaled at the kill (at most one per connection: the one on
    the wire) can arrive twice; the run's counters match its deliveries at
    every step."""
    connections = 4
    mailing = make_mailing(clients=1500)
    victim = dispatcher(
        smtp_sink,
        MAILING_CONNECTIONS=connections,
        MAILING_BATCH_SIZE=100,
        MAILING_LEASE_SECONDS=2,
        MAILING_PROCESSES=1,
    )
    deadline = time.monotonic() + 60
    while len(smtp_sink.messages) < 500 and time.monotonic() < deadline:
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    arrived = len(smtp_sink.messages)
    run = Run.objects.get(mailing=mailing)
    assert_counters_match(run)
    # What the victim's writer had not stored yet is in its journal, which
    # the next dispatcher replays before claiming; here by hand, to look.
    replay_dead_journals(engine_config().journal_dir)
    assert_counters_match(run)
    sent_before = Delivery.objects.filter(run=run, status="sent").count()
    assert 0 < sent_before < 1500
    # Durable at once: what arrived is recorded, bar the messages on the wire.
    assert sent_before >= arrived - connections
    time.sleep(2.2)  # the victim's leases run out
    call_command("send_mailings")
    received = Counter(r for m in smtp_sink.messages for r in m.rcpt_tos)
    emails = set(Delivery.objects.filter(run=run).values_list("email", flat=True))
    lost = emails - set(received)
    duplicates = sum(count - 1 for count in received.values())
    print(
        f"arrived at the kill: {arrived}, recorded: {sent_before}, "
        f"lost: {len(lost)}, duplicates: {duplicates}"
    )
    assert lost == set()
    assert duplicates <= connections
    assert Delivery.objects.filter(run=run, status="sent").count() == 1500
    assert_counters_match(run)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_live_dispatchers_lease_is_renewed_while_a_slow_server_holds_it(
    smtp_sink,
):
    """The server takes longer than the lease to answer: the heartbeat keeps
    renewing it, so no other dispatcher takes the rows and nobody gets two."""
    mailing = make_mailing(clients=3)
    smtp_sink.mode = "stall"
    smtp_sink.stall_seconds = 4
    slow = dispatcher(
        smtp_sink, MAILING_LEASE_SECONDS=1.5, MAILING_CONNECTIONS=3, EMAIL_TIMEOUT=10
    )
    deliveries = Delivery.objects.filter(run__mailing=mailing)
    deadline = time.monotonic() + 30
    while len(smtp_sink.messages) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    first = dict(deliveries.values_list("pk", "lease_expires_at"))
    time.sleep(2.5)  # well past the lease the rows were claimed with
    assert set(deliveries.values_list("status", flat=True)) == {"sending"}
    for pk, expires in deliveries.values_list("pk", "lease_expires_at"):
        assert expires > first[pk]
        assert expires > timezone.now()
    # Another dispatcher finds nothing to take.
    assert Dispatcher(run_ids=[deliveries[0].run_id]).claim(10) == []
    output = slow.communicate(timeout=30)[0]
    assert slow.returncode == 0, output
    assert "3 sent" in output
    received = Counter(r for m in smtp_sink.messages for r in m.rcpt_tos)
    assert sorted(received.values()) == [1, 1, 1]
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    assert_counters_match(Run.objects.get(mailing=mailing))
