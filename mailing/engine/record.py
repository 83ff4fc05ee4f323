"""Storing what each delivery came to: statuses, attempts and run counters.

`settle()` turns one SMTP outcome into the delivery's new state (a
`Settled` record); `store_settled()` writes a group of them in one
transaction: only rows still carrying the claim's token are written, the
attempts of those rows are logged, and the run counters move by what those
rows went from (as claimed) and to, so that a dispatcher whose lease ran
out counts nothing twice. On PostgreSQL that is one statement, committed in
the same round trip; elsewhere the ORM in one transaction.

A failure is classified (`deliverability.classify`): a hard bounce (a dead
mailbox or domain, RFC 3463 `5.1.x`, `5.2.1` …) puts the address on the
owner's suppression list in the same write, and so does a soft bounce
(deferred until it failed) that is the SOFT_BOUNCE_LIMIT-th of that address
within SOFT_BOUNCE_DAYS; policy refusals (`5.7.x`) are only failed.
"""

import contextlib
import json
import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    connection,
    connections,
    transaction,
)
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from deliverability.classify import POLICY, SOFT, classify_reply
from mailing.models import Delivery, DeliveryAttempt, Mailing, Run, Suppression

from .claim import CHUNK
from .config import EngineConfig
from .send import pause_failing_runs
from .transport import Outcome

logger = logging.getLogger("mailing.engine")

# The report's name for deliveries handed back unattempted (the breaker).
RELEASED = "released"
# Attempts at one write before the writer gives up (the rows then stay
# `sending` and are reclaimed after their lease, as after a crash).
WRITE_TRIES = 3
# Group commit: a write stores whatever results arrived within this long
# after the first one, or this many, whichever comes first. Results are
# durable before (journal.py): this only sets how far the database lags.
GROUP_COMMIT_SECONDS = 0.1
GROUP_COMMIT_ROWS = 1000
_STOP = object()
# Soft bounces: an address whose deliveries failed after being deferred this
# many times within this many days is suppressed like a hard bounce.
SOFT_BOUNCE_LIMIT = 3
SOFT_BOUNCE_DAYS = 15
# The suppression entries' source (Suppression.source_display knows it).
SMTP_SOURCE = "SMTP reply"

_WRITE_FIELDS = [
    "status",
    "attempts",
    "last_attempt_at",
    "next_attempt_at",
    "server_response",
    "message_id",
    "bounce_class",
    "lease_expires_at",
    "claimed_by",
]


def counted_as(status: str, attempts: int) -> Delivery.Status:
    """Which of a run's counters a delivery is in: sent, failed, deferred
    (attempted at least once, not yet sent or failed) or pending."""
    if status in (Delivery.Status.SENT, Delivery.Status.FAILED):
        return Delivery.Status(status)
    return Delivery.Status.DEFERRED if attempts else Delivery.Status.PENDING


class Attempt(NamedTuple):
    """One row of the attempt log."""

    number: int
    attempted_at: datetime
    outcome: str
    reply_code: int | None
    server_response: str


class Settled(NamedTuple):
    """A delivery's new state after one outcome, ready to be written.

    The first nine fields and `bounce_class` are the columns of the write
    (`bounce_class` last, so that journal lines written before it existed
    still read); `was` is the run counter the row was in when claimed,
    `kind` the report's counter.
    """

    pk: int
    token: str
    status: str
    attempts: int
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    server_response: str
    message_id: str
    was: str
    run_id: int
    kind: str
    attempt: Attempt | None
    connection_failed: bool = False
    bounce_class: str = ""


def _bounce_class(outcome: Outcome, status: str) -> str:
    """The classification stored with a failure ("" for anything else)."""
    if status != Delivery.Status.FAILED:
        return ""
    if outcome.status == Delivery.Status.DEFERRED:
        return SOFT  # deferred until the attempts ran out
    return classify_reply(outcome.code, outcome.text).kind


def settle(row: dict, outcome: Outcome | None, *, now, config: EngineConfig) -> Settled:
    """The state a claimed row goes to after `outcome` (None: never attempted,
    because the breaker opened, so it goes back into the queue)."""
    status, tries = row["status"], row["attempts"]
    last_attempt_at, next_attempt_at = row["last_attempt_at"], row["next_attempt_at"]
    response, attempt, bounce_class = row["server_response"], None, ""
    if outcome is None:
        status = counted_as(Delivery.Status.PENDING, tries)
        kind = RELEASED
    elif outcome.status == Delivery.Status.FAILED and outcome.code is None:
        # Refused before any SMTP exchange: no attempt to log.
        status, response, next_attempt_at = outcome.status, outcome.text, None
        kind = status
    else:
        tries += 1
        last_attempt_at, response, status = now, outcome.text, outcome.status
        if status == Delivery.Status.DEFERRED and tries >= config.max_attempts:
            status = Delivery.Status.FAILED
        next_attempt_at = None
        if status == Delivery.Status.DEFERRED:
            next_attempt_at = retry_at(now, tries, config)
        attempt = Attempt(tries, now, status, outcome.code, outcome.text)
        kind = status
        bounce_class = _bounce_class(outcome, status)
    return Settled(
        row["pk"],
        row["token"],
        status,
        tries,
        last_attempt_at,
        next_attempt_at,
        response,
        row["message_id"],
        counted_as(row["status"], row["attempts"]),
        row["run_id"],
        kind,
        attempt,
        outcome is not None and outcome.connection_failed,
        bounce_class,
    )


def retry_at(now, attempts: int, config: EngineConfig) -> datetime:
    """When a delivery deferred `attempts` times is tried again."""
    delay = min(
        config.retry_base_seconds * 2 ** max(attempts - 1, 0),
        config.retry_max_seconds,
    )
    return now + timedelta(seconds=delay)


@dataclass
class DispatchReport:
    """What one dispatcher did; the command prints it."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    released: int = 0
    # Of the failed, those the server refused by policy (5.7.x): the
    # sender's problem, not the address's, so they are counted apart.
    policy: int = 0
    paused_runs: list[int] = field(default_factory=list)
    runs: set[int] = field(default_factory=set)
    processes: int = 1

    def count(self, kind: str) -> None:
        """One more delivery stored as `kind` (a status, or RELEASED)."""
        match kind:
            case Delivery.Status.SENT:
                self.sent += 1
            case Delivery.Status.DEFERRED:
                self.deferred += 1
            case Delivery.Status.FAILED:
                self.failed += 1
            case _:
                self.released += 1

    def merge(self, other: "DispatchReport") -> None:
        self.sent += other.sent
        self.deferred += other.deferred
        self.failed += other.failed
        self.released += other.released
        self.policy += other.policy
        self.paused_runs += [r for r in other.paused_runs if r not in self.paused_runs]
        self.runs |= other.runs
        self.processes += other.processes

    def __str__(self):
        text = (
            f"{self.sent} sent, {self.deferred} deferred, {self.failed} failed"
            f" in {len(self.runs)} run(s)"
        )
        if self.policy:
            text += f" ({self.policy} of the failed refused by policy)"
        if self.processes > 1:
            text += f" by {self.processes} processes"
        if self.paused_runs:
            text += (
                f"; the mail server kept failing, so run(s) "
                f"{', '.join(map(str, self.paused_runs))} pause with backoff"
            )
        return text


def store_settled(settled: list[Settled]) -> set[int]:
    """Write settled deliveries (the caller's transaction or its own); the
    ids actually written: those still `sending` under their claim's token."""
    if connection.vendor == "postgresql":
        return _write_postgresql(settled)
    return _write_generic(settled)


def _write_generic(settled: list[Settled]) -> set[int]:
    """Store results with the ORM (SQLite); the ids actually written.

    The transaction holds SQLite's write lock from its first statement, so
    the claim tokens read first cannot change before the update.
    """
    ids = [item.pk for item in settled]
    current = {}
    for start in range(0, len(ids), CHUNK):
        current.update(
            Delivery.objects.filter(
                pk__in=ids[start : start + CHUNK], status=Delivery.Status.SENDING
            ).values_list("pk", "claimed_by")
        )
    mine = [item for item in settled if current.get(item.pk) == item.token]
    Delivery.objects.bulk_update(
        [
            Delivery(
                pk=item.pk,
                status=item.status,
                attempts=item.attempts,
                last_attempt_at=item.last_attempt_at,
                next_attempt_at=item.next_attempt_at,
                server_response=item.server_response,
                message_id=item.message_id,
                bounce_class=item.bounce_class,
                lease_expires_at=None,
                claimed_by="",
            )
            for item in mine
        ],
        _WRITE_FIELDS,
        batch_size=CHUNK // len(_WRITE_FIELDS),
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(delivery_id=item.pk, **item.attempt._asdict())
        for item in mine
        if item.attempt is not None
    )
    _move_counters(mine)
    _suppress_bounced(mine)
    return {item.pk for item in mine}


def _suppress_bounced(written: list[Settled]) -> None:
    """Suppress the addresses of written hard bounces, and of soft bounces
    that are their address's SOFT_BOUNCE_LIMIT-th within SOFT_BOUNCE_DAYS
    (the ORM's version of the PostgreSQL statement's `suppressed` part)."""
    bounced = [i for i in written if i.bounce_class in ("hard_bounce", SOFT)]
    if not bounced:
        return
    rows = {
        pk: (email, owner_id, mailing_id, client_id)
        for pk, email, owner_id, mailing_id, client_id in Delivery.objects.filter(
            pk__in=[i.pk for i in bounced]
        ).values_list(
            "pk", "email", "run__mailing__owner_id", "run__mailing_id", "client_id"
        )
    }
    since = timezone.now() - timedelta(days=SOFT_BOUNCE_DAYS)
    entries = []
    for item in bounced:
        email, owner_id, mailing_id, client_id = rows[item.pk]
        if item.bounce_class == SOFT:
            repeated = Delivery.objects.filter(
                run__mailing__owner_id=owner_id,
                email=email,
                status=Delivery.Status.FAILED,
                bounce_class=SOFT,
                last_attempt_at__gte=since,
            ).count()
            if repeated < SOFT_BOUNCE_LIMIT:
                continue
        entries.append(
            Suppression(
                owner_id=owner_id,
                email=email,
                reason=Suppression.Reason.HARD_BOUNCE,
                source=f"{SMTP_SOURCE}, mailing #{mailing_id}, delivery #{item.pk}",
                client_id=client_id,
            )
        )
    Suppression.objects.bulk_create(entries, ignore_conflicts=True)


def _move_counters(written: list[Settled]) -> None:
    """Move each run's counters by what its written rows went from and to."""
    counters = (Delivery.Status.SENT, Delivery.Status.FAILED, Delivery.Status.DEFERRED)
    changes = defaultdict(lambda: dict.fromkeys([*counters, "last"]))
    for item in written:
        now_in = counted_as(item.status, item.attempts)
        if now_in == item.was:
            continue
        change = changes[item.run_id]
        change[item.was] = (change.get(item.was) or 0) - 1
        change[now_in] = (change.get(now_in) or 0) + 1
        if now_in == Delivery.Status.SENT:
            last = item.last_attempt_at
            change["last"] = max(change["last"] or last, last)
    for run_id in sorted(changes):
        change = changes[run_id]
        update = {
            "sent_count": F("sent_count") + (change[Delivery.Status.SENT] or 0),
            "failed_count": F("failed_count") + (change[Delivery.Status.FAILED] or 0),
            "deferred_count": Greatest(
                F("deferred_count") + (change[Delivery.Status.DEFERRED] or 0), 0
            ),
        }
        if change["last"] is not None:
            last = Value(change["last"])
            update["last_sent_at"] = Greatest(Coalesce(F("last_sent_at"), last), last)
        Run.objects.filter(pk=run_id).update(**update)


_POSTGRESQL_WRITE = """
    WITH v AS (
        SELECT (e->>0)::bigint AS id, e->>1 AS token, e->>2 AS status,
            (e->>3)::int AS attempts,
            (e->>4)::timestamptz AS last_attempt_at,
            (e->>5)::timestamptz AS next_attempt_at,
            e->>6 AS server_response, e->>7 AS message_id, e->>8 AS was,
            e->>9 AS bounce_class
        FROM json_array_elements(%s::json) AS e
    ), written AS (
        UPDATE {delivery} AS d SET
            status = v.status, attempts = v.attempts,
            last_attempt_at = v.last_attempt_at,
            next_attempt_at = v.next_attempt_at,
            server_response = v.server_response,
            message_id = v.message_id, bounce_class = v.bounce_class,
            lease_expires_at = NULL, claimed_by = ''
        FROM v
        WHERE d.id = v.id AND d.claimed_by = v.token AND d.status = 'sending'
        RETURNING d.id, d.run_id, d.last_attempt_at, v.was, d.email,
            d.client_id, d.bounce_class,
            CASE WHEN d.status IN ('sent', 'failed') THEN d.status
                 WHEN d.attempts > 0 THEN 'deferred'
                 ELSE 'pending' END AS now_in
    ), logged AS (
        INSERT INTO {attempt}
            (delivery_id, number, attempted_at, outcome, reply_code,
             server_response)
        SELECT (a->>0)::bigint, (a->>1)::int, (a->>2)::timestamptz, a->>3,
            (a->>4)::smallint, a->>5
        FROM json_array_elements(%s::json) AS a
        WHERE (a->>0)::bigint IN (SELECT id FROM written)
    ), changes AS (
        SELECT run_id,
            count(*) FILTER (WHERE now_in = 'sent')
                - count(*) FILTER (WHERE was = 'sent') AS sent,
            count(*) FILTER (WHERE now_in = 'failed')
                - count(*) FILTER (WHERE was = 'failed') AS failed,
            count(*) FILTER (WHERE now_in = 'deferred')
                - count(*) FILTER (WHERE was = 'deferred') AS deferred,
            max(last_attempt_at) FILTER (WHERE now_in = 'sent') AS last
        FROM written WHERE now_in <> was GROUP BY run_id
    ), counted AS (
        UPDATE {run} AS r SET
            sent_count = r.sent_count + c.sent,
            failed_count = r.failed_count + c.failed,
            deferred_count = GREATEST(r.deferred_count + c.deferred, 0),
            last_sent_at = GREATEST(r.last_sent_at, c.last)
        FROM changes c WHERE r.id = c.run_id
    ), suppressed AS (
        -- Hard bounces, and soft ones that make SOFT_BOUNCE_LIMIT within
        -- SOFT_BOUNCE_DAYS (this statement's own rows are not visible to
        -- the count, hence the one added). Empty unless a row bounced.
        INSERT INTO {suppression}
            (owner_id, email, reason, source, client_id, created_at)
        SELECT m.owner_id, w.email, 'hard_bounce',
            %s || ', mailing #' || m.id || ', delivery #' || w.id,
            w.client_id, now()
        FROM written w
        JOIN {run} r ON r.id = w.run_id
        JOIN {mailing} m ON m.id = r.mailing_id
        WHERE w.bounce_class = 'hard_bounce'
            OR (w.bounce_class = 'soft' AND 1 + (
                SELECT count(*) FROM {delivery} d2
                JOIN {run} r2 ON r2.id = d2.run_id
                JOIN {mailing} m2 ON m2.id = r2.mailing_id
                WHERE d2.email = w.email AND m2.owner_id = m.owner_id
                    AND d2.status = 'failed' AND d2.bounce_class = 'soft'
                    AND d2.id <> w.id
                    AND d2.last_attempt_at >= now() - %s * interval '1 day'
            ) >= %s)
        ON CONFLICT (owner_id, email) DO NOTHING
    )
    SELECT id FROM written
"""


def _write_postgresql(settled: list[Settled]) -> set[int]:
    """The same as `_write_generic`, as one statement; the ids written.

    The rows go as one JSON parameter, unpacked by json_array_elements()
    (Django's bulk_update would build a CASE per field and row in Python,
    and an array parameter per column costs the driver a Python call per
    value: both cost more than sending the batch), and data-modifying CTEs
    update the deliveries still ours, log their attempts, move their
    runs' counters and suppress the addresses that bounced. One statement
    in autocommit is one round trip with its commit; deltas are summed per
    run, one UPDATE of each.
    """
    sql = _POSTGRESQL_WRITE.format(
        delivery=Delivery._meta.db_table,
        attempt=DeliveryAttempt._meta.db_table,
        run=Run._meta.db_table,
        mailing=Mailing._meta.db_table,
        suppression=Suppression._meta.db_table,
    )
    rows = json.dumps(
        [(*item[:9], item.bounce_class) for item in settled],
        default=datetime.isoformat,
    )
    attempts = json.dumps(
        [(item.pk, *item.attempt) for item in settled if item.attempt],
        default=datetime.isoformat,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [rows, attempts, SMTP_SOURCE, SOFT_BOUNCE_DAYS, SOFT_BOUNCE_LIMIT],
        )
        return {pk for (pk,) in cursor.fetchall()}


class ResultWriter:
    """The writer thread: stores settled deliveries in groups.

    Items are `(seq, settled)` in journal order. Group commit: it blocks for
    one result, takes whatever arrives within GROUP_COMMIT_SECONDS (at most
    GROUP_COMMIT_ROWS), and writes them in one transaction; results that
    arrive during that write go into the next. It has a database connection
    of its own unless `shared_connection` is given (inside the caller's
    transaction, or an in-memory SQLite database). `on_stored(items)` runs
    after each group is stored (or given up: then `error` is set).
    """

    def __init__(
        self,
        *,
        config: EngineConfig,
        report: DispatchReport,
        breaker,
        db_lock,
        shared_connection,
        on_stored,
    ):
        self.config = config
        self.report = report
        self.breaker = breaker
        self.db_lock = db_lock
        self.shared_connection = shared_connection
        self.on_stored = on_stored
        self.error: BaseException | None = None
        self._results: queue.Queue = queue.Queue()
        self._failing_runs: set[int] = set()
        # The raw connection set to commit without waiting for the WAL flush.
        self._relaxed = None
        self._thread = threading.Thread(
            target=self._work, name="results-writer", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def put(self, item) -> None:
        self._results.put(item)

    def stop(self) -> None:
        """Store whatever is queued, then end the thread."""
        self._results.put(_STOP)
        self._thread.join()

    def _work(self) -> None:
        if self.shared_connection is not None:
            connections[DEFAULT_DB_ALIAS] = self.shared_connection
        try:
            stop = False
            while not stop:
                done, stop = self._gather()
                if done:
                    self._store(done)
                    self.on_stored(done)
        finally:
            if self.shared_connection is None:
                self._close_own_connection()

    def _gather(self) -> tuple[list, bool]:
        """The next group to commit, and whether the writer is told to stop.

        Blocks for one result, lets GROUP_COMMIT_SECONDS pass, then takes
        what has arrived meanwhile (at most GROUP_COMMIT_ROWS).
        """
        item = self._results.get()
        if item is _STOP:
            return [], True
        # Sleep rather than wait for each result: a thread woken per result
        # would take the GIL from the senders once per message.
        time.sleep(GROUP_COMMIT_SECONDS)
        done = [item]
        while len(done) < GROUP_COMMIT_ROWS:
            try:
                item = self._results.get_nowait()
            except queue.Empty:
                return done, False
            if item is _STOP:
                return done, True
            done.append(item)
        return done, False

    def _store(self, done) -> None:
        if self.error is not None:
            return  # given up: these rows are reclaimed after their lease
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                with self.db_lock:
                    self._write([settled for _, settled in done])
                return
            except Exception as exc:
                if attempt == WRITE_TRIES or not isinstance(exc, DatabaseError):
                    logger.exception("Storing results failed; giving up")
                    self.error = exc
                    return
                logger.warning("Storing results failed; trying again", exc_info=True)
                if self.shared_connection is None:
                    connection.close()  # a fresh connection for the next try
                time.sleep(0.1 * attempt)

    def _write(self, settled: list[Settled]) -> None:
        if self.shared_connection is None and connection.vendor == "postgresql":
            self._relax()
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # One statement is a transaction of its own.
            written = store_settled(settled)
        else:
            # Inside the caller's transaction a savepoint lets a failed
            # write be tried again.
            with transaction.atomic():
                written = store_settled(settled)
        for item in settled:
            if item.pk in written:
                self.report.count(item.kind)
                if item.bounce_class == POLICY:
                    self.report.policy += 1
        if len(written) < len(settled):
            logger.warning(
                "%s result(s) not stored: their lease ran out and another "
                "dispatcher took them",
                len(settled) - len(written),
            )
        self._failing_runs |= {
            item.run_id
            for item in settled
            if item.connection_failed and item.status == Delivery.Status.DEFERRED
        }
        if self.breaker.open.is_set() and self._failing_runs:
            pause_failing_runs(
                self._failing_runs,
                now=timezone.now(),
                config=self.config,
                paused=self.report.paused_runs,
            )
            self._failing_runs.clear()

    def _relax(self) -> None:
        """Let the writer's commits return before PostgreSQL flushes the WAL.

        What a dispatcher crash needs is a commit the server has accepted; a
        commit waiting for the disk as well made every write take a disk
        flush, and a run's writers queue on its counters row meanwhile. Only
        a crash of the database server itself can now lose the last fraction
        of a second of results (PostgreSQL's `wal_writer_delay`, three times
        over at most): those deliveries are sent again, nothing is lost or
        left inconsistent.
        """
        connection.ensure_connection()
        if connection.connection is not self._relaxed:
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
            self._relaxed = connection.connection

    def _close_own_connection(self) -> None:
        if self._relaxed is not None and connection.connection is self._relaxed:
            # Pooled connections keep session settings: put it back.
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        connection.close()
