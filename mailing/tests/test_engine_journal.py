"""The journal: results known at a crash are stored by the next dispatcher.

A dispatcher appends every result to a journal file of its own before the
database has it; a dispatcher that finds the journal of a dead one replays
it before claiming anything.
"""

import signal
import time
from collections import Counter

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from mailing.engine.config import engine_config
from mailing.engine.dispatcher import Dispatcher
from mailing.engine.journal import (
    Journal,
    database_key,
    encode,
    replay_dead_journals,
)
from mailing.engine.planner import plan_mailing
from mailing.engine.record import settle
from mailing.engine.transport import Outcome
from mailing.models import Delivery, DeliveryAttempt, Run
from mailing.tests.engine_support import (
    assert_counters_match,
    dispatcher,
    make_mailing,
    require_postgresql,
)

REPLY = "250 2.0.0 Ok: queued as 4XyZ"


@pytest.fixture
def journal_dir(settings, tmp_path):
    settings.MAILING_JOURNAL_DIR = str(tmp_path)
    return tmp_path


def _claimed(count: int):
    mailing = make_mailing(clients=count)
    run = plan_mailing(mailing_id=mailing.pk, now=timezone.now())
    rows = Dispatcher(run_ids=[run.pk]).claim(count)
    assert len(rows) == count
    for row in rows:
        row["message_id"] = f"<run{run.pk}.client{row['client_id']}@example.com>"
    return run, rows


def _sent(row):
    return settle(
        row,
        Outcome(Delivery.Status.SENT, REPLY, 250),
        now=timezone.now(),
        config=engine_config(),
    )


@pytest.mark.django_db
def test_a_torn_last_line_is_ignored_and_the_rest_replayed(journal_dir):
    """The last line of a dead dispatcher's journal was cut short: the whole
    lines are stored with the server's reply, the torn one is ignored (its
    delivery stays claimed, for the lease to hand back), and the file goes."""
    run, rows = _claimed(3)
    lines = [encode(_sent(row)) for row in rows]
    path = journal_dir / f"{database_key()}-elsewhere-1-1.journal"
    path.write_bytes(lines[0] + lines[1] + lines[2][:-15])

    assert replay_dead_journals(journal_dir) == 2

    stored = {d.pk: d for d in Delivery.objects.filter(run=run)}
    for row in rows[:2]:
        delivery = stored[row["pk"]]
        assert delivery.status == Delivery.Status.SENT
        assert delivery.server_response == REPLY
        assert delivery.claimed_by == ""
        assert delivery.message_id == row["message_id"]
        attempt = DeliveryAttempt.objects.get(delivery=delivery)
        assert (attempt.number, attempt.reply_code) == (1, 250)
    torn = stored[rows[2]["pk"]]
    assert torn.status == Delivery.Status.SENDING and torn.attempts == 0
    assert not path.exists()
    assert_counters_match(run)


@pytest.mark.django_db
def test_a_live_dispatchers_journal_is_left_alone_and_replay_is_idempotent(
    journal_dir,
):
    """A journal whose dispatcher still holds its lock is not replayed; once
    released it is, and a second copy of the same results changes nothing."""
    run, rows = _claimed(2)
    handed = []
    journal = Journal(journal_dir, handoff=handed.append)
    for row in rows:
        journal.record(_sent(row))
    assert [seq for seq, _ in handed] == [1, 2]
    copy = journal.path.read_bytes()

    assert replay_dead_journals(journal_dir) == 0
    assert journal.path.exists()
    assert not Delivery.objects.filter(run=run, status="sent").exists()

    journal.close(remove=False)  # as the kernel does when its process dies
    assert replay_dead_journals(journal_dir) == 2
    (journal_dir / f"{database_key()}-elsewhere-2-1.journal").write_bytes(copy)
    assert replay_dead_journals(journal_dir) == 0
    assert list(journal_dir.iterdir()) == []
    assert Delivery.objects.filter(run=run, status="sent").count() == 2
    assert DeliveryAttempt.objects.filter(delivery__run=run).count() == 2
    assert_counters_match(run)


@pytest.mark.django_db
def test_a_journal_of_another_database_is_not_replayed(journal_dir):
    """Journals are named after their database: another one's stays."""
    run, rows = _claimed(1)
    path = journal_dir / "0123456789ab-elsewhere-1-1.journal"
    path.write_bytes(encode(_sent(rows[0])))
    assert replay_dead_journals(journal_dir) == 0
    assert path.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_killed_dispatchers_journal_is_replayed_and_nothing_resent(
    smtp_sink, journal_dir
):
    """The database cannot take the results (the run's row is locked), so a
    dispatcher has every reply only in its journal when it is killed. The
    next dispatcher stores them, with the server's replies, before claiming,
    and sends none of those messages again."""
    require_postgresql()
    mailing = make_mailing(clients=20)
    run = plan_mailing(mailing_id=mailing.pk, now=timezone.now())
    with _run_row_locked(run) as release:
        victim = dispatcher(
            smtp_sink,
            MAILING_CONNECTIONS=4,
            MAILING_LEASE_SECONDS=2,
            MAILING_PROCESSES=1,
            MAILING_JOURNAL_DIR=str(journal_dir),
        )
        deadline = time.monotonic() + 30
        while len(smtp_sink.messages) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # the last replies reach the journal
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        release()
    assert len(smtp_sink.messages) == 20
    deliveries = Delivery.objects.filter(run=run)
    assert set(deliveries.values_list("status", flat=True)) == {"sending"}
    assert len(list(journal_dir.glob("*.journal"))) == 1

    time.sleep(2.2)  # the victim's leases run out
    call_command("send_mailings")

    received = Counter(r for m in smtp_sink.messages for r in m.rcpt_tos)
    assert sorted(received.values()) == [1] * 20  # nothing sent twice
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    # The replies are the server's, as the victim received them.
    assert all(d.server_response.startswith("250 ") for d in deliveries)
    assert DeliveryAttempt.objects.filter(delivery__run=run).count() == 20
    assert list(journal_dir.glob("*.journal")) == []
    assert_counters_match(Run.objects.get(pk=run.pk))


class _run_row_locked:
    """Holds the run's row locked from another connection, so that no result
    write (which moves the run's counters) can finish; `release()` ends the
    writes waiting for it (their dispatcher is gone) and the lock."""

    def __init__(self, run):
        self.run = run

    def __enter__(self):
        db = connection.settings_dict
        self.conn = psycopg.connect(
            dbname=db["NAME"],
            user=db["USER"],
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            password=db["PASSWORD"] or None,
        )
        self.conn.execute(
            f"SELECT 1 FROM {Run._meta.db_table} WHERE id = %s FOR UPDATE",
            [self.run.pk],
        )
        return self.release

    def release(self):
        if self.conn.closed:
            return
        # The killed dispatcher's write is still waiting for the lock inside
        # the server: end it, as the server would on noticing the client gone.
        self.conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        self.conn.rollback()
        self.conn.close()

    def __exit__(self, *exc):
        self.release()
