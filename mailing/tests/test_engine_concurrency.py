"""Several dispatchers at once, and one killed mid-run, on real PostgreSQL.

The dispatchers are real `manage.py send_mailings` processes working on the
test database (transactional tests, so they see committed rows).
"""

import signal
import time
from collections import Counter

import pytest
from django.core.management import call_command

from mailing.models import Delivery, Run
from mailing.tests.engine_support import (
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
def test_a_killed_dispatcher_costs_at_most_what_it_had_in_flight(smtp_sink, settings):
    """kill -9 mid-run, then another run after the lease: every client gets
    the message, and only messages in flight at the kill can be duplicated."""
    settings.EMAIL_TIMEOUT = 2
    mailing = make_mailing(clients=600)
    victim = dispatcher(
        smtp_sink,
        MAILING_BATCH_SIZE=40,
        MAILING_RATE_LIMIT=300,
        MAILING_LEASE_SECONDS=2,
    )
    deadline = time.monotonic() + 60
    while len(smtp_sink.messages) < 150 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    in_flight = Delivery.objects.filter(run__mailing=mailing, status="sending").count()
    sent_before = Delivery.objects.filter(run__mailing=mailing, status="sent").count()
    assert 0 < sent_before < 600 and 0 < in_flight <= 2 * 40
    time.sleep(2.2)  # the victim's lease expires
    call_command("send_mailings")
    received = Counter(r for m in smtp_sink.messages for r in m.rcpt_tos)
    emails = set(
        Delivery.objects.filter(run__mailing=mailing).values_list("email", flat=True)
    )
    assert set(received) == emails
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= in_flight
    assert Delivery.objects.filter(run__mailing=mailing, status="sent").count() == 600
    print(f"in flight at the kill: {in_flight}, duplicates: {duplicates}")
