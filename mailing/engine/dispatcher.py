"""Claims deliveries in batches and sends them over parallel SMTP connections.

Work is claimed, never assumed. A claim is one transaction that selects due
rows with `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; other dispatchers
skip the locked rows instead of waiting for them) and marks them `sending`
with a lease. On SQLite the settings open every transaction with `BEGIN
IMMEDIATE`, so a claim holds the database's write lock from its first read
and two claims queue up instead of overlapping; the update is also
conditional and the rows actually won are read back. A row still `sending`
after its lease expired belongs to a dead dispatcher and is claimed again;
a live dispatcher renews the lease of every row it holds (a heartbeat every
third of the lease), so a slow server never lets its work be taken twice.

Sender threads each own one connection (`MAILING_CONNECTIONS` of them) and
take messages from a shared queue; the main thread claims the next batch
while they send. A writer thread with its own database connection stores
results as they come (group commit: a connection's worth of results or
whatever arrived within GROUP_COMMIT_SECONDS), so a reply is durable within
milliseconds; and a message may go out only while fewer than
UNSAVED_PER_CONNECTION per connection are sent and not yet stored, so a
`kill -9` re-sends at most that many. On PostgreSQL one write is one
statement (deliveries, attempts and the run's counters), committed in the
same round trip. After
`MAILING_BREAKER_THRESHOLD` connection failures in a row the circuit breaker
opens: unsent messages go back unattempted, and the runs involved get
`paused_until` with a growing backoff.
"""

import contextlib
import itertools
import logging
import os
import queue
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    connection,
    connections,
    transaction,
)
from django.db.models import F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from mailing.models import (
    Delivery,
    DeliveryAttempt,
    Run,
    Suppression,
    delivery_claimable,
)

from .config import EngineConfig, engine_config
from .message import InvalidAddress, PreparedMessage, date_header
from .transport import DEFERRED, FAILED, SENT, Outcome, RateLimiter, open_transport

logger = logging.getLogger("mailing.engine")

OPEN_STATUSES = [
    Delivery.Status.PENDING,
    Delivery.Status.SENDING,
    Delivery.Status.DEFERRED,
]
PENDING = Delivery.Status.PENDING.value
# Attempts at one write before the writer gives up (the rows then stay
# `sending` and are reclaimed after their lease, as after a crash).
WRITE_TRIES = 3
# Messages sent and not yet stored, per connection. One is the message on
# the wire; the other lets a connection send its next message while the
# writer stores the last one. A `kill -9` can duplicate no more than these.
UNSAVED_PER_CONNECTION = 2
# The longest a result waits for its write to begin (group commit).
GROUP_COMMIT_SECONDS = 0.01
# Ids per statement where a backend limits parameters (SQLite).
_CHUNK = 500

_CLAIM_FIELDS = (
    "pk",
    "run_id",
    "client_id",
    "email",
    "attempts",
    "status",
    "last_attempt_at",
    "next_attempt_at",
    "server_response",
    "message_id",
    "client__full_name",
    "client__unsubscribed_at",
    "suppressed",
)
_WRITE_FIELDS = [
    "status",
    "attempts",
    "last_attempt_at",
    "next_attempt_at",
    "server_response",
    "message_id",
    "lease_expires_at",
    "claimed_by",
]
_STOP = object()
_no_block = contextlib.nullcontext()
_worker_seq = itertools.count(1)


def counted_as(status: str, attempts: int) -> str:
    """Which of a run's counters a delivery is in: sent, failed, deferred
    (attempted at least once, not yet sent or failed) or pending."""
    if status in (SENT, FAILED):
        return status
    return DEFERRED if attempts else PENDING


@dataclass
class DispatchReport:
    """What one dispatcher did; the command prints it."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    released: int = 0
    paused_runs: list[int] = field(default_factory=list)
    runs: set[int] = field(default_factory=set)
    queries: int = 0  # this process's dispatcher
    child_queries: int = 0  # forked dispatchers'
    processes: int = 1

    def merge(self, other: "DispatchReport") -> None:
        self.sent += other.sent
        self.deferred += other.deferred
        self.failed += other.failed
        self.released += other.released
        self.paused_runs += [r for r in other.paused_runs if r not in self.paused_runs]
        self.runs |= other.runs
        self.child_queries += other.queries + other.child_queries
        self.processes += other.processes

    def __str__(self):
        text = (
            f"{self.sent} sent, {self.deferred} deferred, {self.failed} failed"
            f" in {len(self.runs)} run(s)"
        )
        if self.processes > 1:
            text += f" by {self.processes} processes"
        if self.paused_runs:
            text += (
                f"; the mail server kept failing, so run(s) "
                f"{', '.join(map(str, self.paused_runs))} pause with backoff"
            )
        return text


class _Breaker:
    """Counts connection failures in a row across every sender thread."""

    def __init__(self, threshold: int):
        self.threshold = threshold
        self.failures = 0
        self.open = threading.Event()
        self._lock = threading.Lock()

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            if outcome.connection_failed:
                self.failures += 1
                if self.failures >= self.threshold:
                    self.open.set()
            else:
                self.failures = 0


class _Holdings:
    """The deliveries this dispatcher holds: claimed, result not yet stored.

    The main thread adds a claim, the writer removes what it stored, and the
    heartbeat renews the lease of what is left.
    """

    def __init__(self):
        self._changed = threading.Condition()
        self._tokens: dict[int, str] = {}

    def add(self, rows: list[dict]) -> None:
        with self._changed:
            for row in rows:
                self._tokens[row["pk"]] = row["token"]

    def remove(self, pks) -> None:
        with self._changed:
            for pk in pks:
                self._tokens.pop(pk, None)
            self._changed.notify_all()

    def __len__(self) -> int:
        return len(self._tokens)

    def snapshot(self) -> tuple[list[int], set[str]]:
        with self._changed:
            return list(self._tokens), set(self._tokens.values())

    def wait_below(self, count: int, timeout: float) -> None:
        """Until fewer than `count` are held, or `timeout` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._tokens) < count, timeout)


def claimable(now) -> Q:
    """Deliveries that a dispatcher may take right now."""
    return delivery_claimable(now)


def _not_sendable(row: dict) -> str | None:
    """Why a claimed delivery must not be sent any more, or None."""
    if row["client_id"] is None:
        return "Not sent: the client was deleted."
    if row["client__unsubscribed_at"]:
        return "Not sent: the client unsubscribed."
    if row["suppressed"]:
        reason = Suppression.Reason(row["suppressed"]).label.lower()
        return f"Not sent: the address is suppressed ({reason})."
    return None


class Dispatcher:
    """Sends every claimable delivery (of `run_ids`, or of any run) and stops.

    Deliveries deferred to a later time are left for a later dispatcher.
    """

    def __init__(self, *, run_ids=None, config: EngineConfig | None = None):
        self.run_ids = list(run_ids) if run_ids is not None else None
        self.config = config or engine_config()
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{next(_worker_seq)}"
        self._claims = itertools.count(1)
        self._prepared: dict[int, PreparedMessage] = {}
        # Runs whose deliveries hit connection failures: the runs the
        # breaker pauses if it opens.
        self._failing_runs: set[int] = set()
        self._writer_queries = 0
        # The writer's own PostgreSQL connection commits without waiting for
        # the WAL flush (see _relax); `_relaxed` is the raw connection set so.
        self._relax_commits = False
        self._relaxed = None
        self._unsaved = threading.Semaphore(
            UNSAVED_PER_CONNECTION * self.config.connections
        )
        self._writer_error: BaseException | None = None
        self.report = DispatchReport()

    # -- claiming -----------------------------------------------------------

    def claim(self, limit: int) -> list[dict]:
        """Take up to `limit` due deliveries; they are ours until the lease ends.

        Each row carries the claim's `token` (its `claimed_by`) and
        `suppressed`: the reason its address is on the owner's suppression
        list, if it is.
        """
        now = timezone.now()
        qs = Delivery.objects.filter(claimable(now))
        own_state = Q(
            status__in=[Delivery.Status.PENDING, Delivery.Status.DEFERRED]
        ) | Q(status=Delivery.Status.SENDING, lease_expires_at__lt=now)
        if self.run_ids is not None:
            qs = qs.filter(run_id__in=self.run_ids)
        qs = qs.annotate(
            # One probe of the unique (owner, email) index per row.
            suppressed=Subquery(
                Suppression.objects.filter(
                    owner_id=OuterRef("run__mailing__owner_id"), email=OuterRef("email")
                ).values("reason")[:1]
            )
        )
        token = f"{self.worker}:{next(self._claims)}"
        with transaction.atomic():
            rows = list(
                # No ORDER BY: any due rows will do, and the partial index
                # of open deliveries then serves the claim without walking
                # past every row already sent.
                qs.select_for_update(skip_locked=True, of=("self",))
                .order_by()
                .values(*_CLAIM_FIELDS)[:limit]
            )
            if not rows:
                return []
            ids = [row["pk"] for row in rows]
            # The rows are locked (or, on SQLite, the database is): the
            # update re-checks only the row's own state, without the joins.
            won = (
                Delivery.objects.filter(own_state, pk__in=ids)
                .order_by()
                .update(
                    status=Delivery.Status.SENDING,
                    claimed_by=token,
                    lease_expires_at=now + timedelta(seconds=self.config.lease_seconds),
                )
            )
            if won != len(rows):
                # Without row locks someone else may have taken a few first.
                mine = set(
                    Delivery.objects.filter(pk__in=ids, claimed_by=token).values_list(
                        "pk", flat=True
                    )
                )
                rows = [row for row in rows if row["pk"] in mine]
        for row in rows:
            row["token"] = token
        return rows

    def _renew(self, holdings: _Holdings, db_lock) -> None:
        """The heartbeat: push back the lease of every row still held.

        Only rows still carrying one of our tokens: a row whose lease ran
        out and that another dispatcher took is not taken back.
        """
        ids, tokens = holdings.snapshot()
        if not ids:
            return
        expires = timezone.now() + timedelta(seconds=self.config.lease_seconds)
        try:
            with db_lock:
                for start in range(0, len(ids), _CHUNK):
                    Delivery.objects.filter(
                        pk__in=ids[start : start + _CHUNK],
                        claimed_by__in=tokens,
                        status=Delivery.Status.SENDING,
                    ).update(lease_expires_at=expires)
        except DatabaseError:
            # The lease has two more beats to go; try again at the next.
            logger.warning("Renewing the leases failed", exc_info=True)

    def _prepare(self, run_id: int) -> PreparedMessage:
        if run_id not in self._prepared:
            run = Run.objects.select_related("mailing__message").get(pk=run_id)
            self._prepared[run_id] = PreparedMessage.for_run(run)
        return self._prepared[run_id]

    # -- sending ------------------------------------------------------------

    def _sender(self, work, results, breaker, limiter):
        """One thread, one connection: send queued messages until told to stop.

        Every item taken yields exactly one result, whatever happens, so the
        writer stores every row the main loop counts as held.
        """
        transport = None
        try:
            while True:
                item = work.get()
                if item is None:
                    return
                row, prepared, date = item
                if breaker.open.is_set():
                    results.put((row, None))
                    continue
                try:
                    if transport is None:
                        transport = open_transport(timeout=self.config.timeout)
                    outcome = self._send_one(transport, row, prepared, date, limiter)
                except Exception as exc:  # a bug must not lose the row
                    logger.exception("Unexpected error while sending")
                    outcome = Outcome(DEFERRED, f"Internal error: {exc}")
                if outcome.code is not None or outcome.connection_failed:
                    breaker.record(outcome)
                results.put((row, outcome))
        finally:
            if transport is not None:
                try:
                    transport.close()
                except Exception:
                    logger.debug("Closing the transport failed", exc_info=True)

    def _send_one(self, transport, row, prepared, date, limiter) -> Outcome:
        try:
            message_id, data = prepared.build(
                client_id=row["client_id"],
                email=row["email"],
                full_name=row["client__full_name"] or "",
                date_header=date,
            )
        except InvalidAddress as exc:
            return Outcome(FAILED, str(exc))
        row["message_id"] = message_id
        limiter.wait()
        # A message may reach the server only while fewer than the cap are
        # sent and not yet stored: that bounds what a crash can duplicate.
        self._unsaved.acquire()
        row["unsaved"] = True
        return transport.send(prepared.envelope_from, row["email"], data)

    def run(self) -> DispatchReport:
        """Claim, send and record until nothing is claimable; never raises
        for anything the mail server does."""
        with connection.execute_wrapper(self._count_query):
            self._run()
        self.report.queries += self._writer_queries
        return self.report

    def _count_query(self, execute, sql, params, many, context):
        self.report.queries += 1
        return execute(sql, params, many, context)

    def _count_writer_query(self, execute, sql, params, many, context):
        self._writer_queries += 1
        return execute(sql, params, many, context)

    def _run(self) -> None:
        config = self.config
        work: queue.Queue = queue.Queue()
        results: queue.Queue = queue.Queue()
        breaker = _Breaker(config.breaker_threshold)
        limiter = RateLimiter(config.rate_limit)
        holdings = _Holdings()
        batch_size = config.batch_size
        if config.rate_limit:
            # Claim no more than a fraction of a lease's worth at a time:
            # other dispatchers may share the run.
            batch_size = max(
                1, min(batch_size, int(config.rate_limit * config.lease_seconds / 4))
            )
        # The writer has a connection of its own, so that its commits never
        # wait for a claim, except where it cannot: inside the caller's
        # transaction (which the writer's rows must be part of) and on an
        # in-memory SQLite database. There, and on SQLite generally (one
        # writer at a time anyway), one lock takes turns.
        shared = connection.in_atomic_block or (
            connection.vendor == "sqlite" and connection.is_in_memory_db()
        )
        db_lock = (
            threading.RLock()
            if shared or connection.vendor == "sqlite"
            else contextlib.nullcontext()
        )
        own = connections[DEFAULT_DB_ALIAS]  # the wrapper, not the proxy
        if shared:
            own.inc_thread_sharing()
        writer = threading.Thread(
            target=self._writer,
            args=(results, breaker, holdings, db_lock, own if shared else None),
            name="results-writer",
            daemon=True,
        )
        senders = [
            threading.Thread(
                target=self._sender,
                args=(work, results, breaker, limiter),
                name=f"smtp-{n}",
                daemon=True,
            )
            for n in range(config.connections)
        ]
        writer.start()
        for thread in senders:
            thread.start()
        beat_every = config.lease_seconds / 3
        next_beat = time.monotonic() + beat_every
        exhausted = False
        try:
            while self._writer_error is None:
                if time.monotonic() >= next_beat:
                    self._renew(holdings, db_lock)
                    next_beat = time.monotonic() + beat_every
                # Keep at most about one batch waiting beyond the one in hand.
                if (
                    not exhausted
                    and not breaker.open.is_set()
                    and len(holdings) < batch_size
                ):
                    with db_lock:
                        rows = self.claim(batch_size)
                    if not rows:
                        exhausted = True
                        continue
                    holdings.add(rows)
                    date = date_header(timezone.now())
                    with db_lock:
                        for run_id in {row["run_id"] for row in rows}:
                            self._prepare(run_id)
                    for row in rows:
                        self.report.runs.add(row["run_id"])
                        reason = _not_sendable(row)
                        if reason:
                            results.put((row, Outcome(FAILED, reason)))
                        else:
                            work.put((row, self._prepared[row["run_id"]], date))
                    continue
                claiming = not exhausted and not breaker.open.is_set()
                if not claiming and not len(holdings):
                    break
                holdings.wait_below(
                    batch_size if claiming else 1,
                    max(0.0, min(0.5, next_beat - time.monotonic())),
                )
        finally:
            # Messages not yet taken by a sender go back unsent (normally
            # there are none left; after an error this stops quickly).
            while True:
                try:
                    row, _, _ = work.get_nowait()
                except queue.Empty:
                    break
                results.put((row, None))
            for _ in senders:
                work.put(None)
            for thread in senders:
                thread.join()
            # Whatever the senders finished is still written.
            results.put(_STOP)
            writer.join()
            if shared:
                own.dec_thread_sharing()
        if self._writer_error is not None:
            raise self._writer_error

    # -- recording ----------------------------------------------------------

    def _writer(self, results, breaker, holdings, db_lock, shared_connection):
        """The writer thread: store results as they come, until told to stop.

        Group commit: it blocks for one result, takes every other one that
        arrived meanwhile, and writes them in one transaction; results that
        arrive during that write go into the next.
        """
        if shared_connection is not None:
            connections[DEFAULT_DB_ALIAS] = shared_connection
            wrapper = contextlib.nullcontext()  # the main thread counts these
        else:
            wrapper = connection.execute_wrapper(self._count_writer_query)
            self._relax_commits = connection.vendor == "postgresql"
        try:
            with wrapper:
                stop = False
                while not stop:
                    done, stop = self._gather(results)
                    if done:
                        self._store(done, breaker, db_lock, shared_connection)
                        holdings.remove(row["pk"] for row, _ in done)
                        for row, _ in done:
                            if row.pop("unsaved", False):
                                self._unsaved.release()
        finally:
            if shared_connection is None:
                if self._relaxed is not None and connection.connection is self._relaxed:
                    # Pooled connections keep session settings: put it back.
                    with (
                        contextlib.suppress(DatabaseError),
                        connection.cursor() as cursor,
                    ):
                        cursor.execute("RESET synchronous_commit")
                connection.close()

    def _gather(self, results) -> tuple[list, bool]:
        """The next group to commit, and whether the writer is told to stop.

        Blocks for one result, then takes more until as many as there are
        connections are waiting (the senders never wait for the cap on
        unsaved messages) or GROUP_COMMIT_SECONDS have passed.
        """
        done = []
        item = results.get()
        deadline = time.monotonic() + GROUP_COMMIT_SECONDS
        while item is not _STOP:
            done.append(item)
            remaining = deadline - time.monotonic()
            try:
                if len(done) >= self.config.connections or remaining <= 0:
                    item = results.get_nowait()  # all that is there already
                else:
                    item = results.get(timeout=remaining)
            except queue.Empty:
                return done, False
        return done, True

    def _store(self, done, breaker, db_lock, shared_connection) -> None:
        if self._writer_error is not None:
            return  # given up: these rows are reclaimed after their lease
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                with db_lock:
                    self._write(done, breaker)
                return
            except Exception as exc:
                if attempt == WRITE_TRIES or not isinstance(exc, DatabaseError):
                    logger.exception("Storing results failed; giving up")
                    self._writer_error = exc
                    return
                logger.warning("Storing results failed; trying again", exc_info=True)
                if shared_connection is None:
                    connection.close()  # a fresh connection for the next try
                time.sleep(0.1 * attempt)

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

    def _retry_at(self, now, attempts: int):
        delay = min(
            self.config.retry_base_seconds * 2 ** max(attempts - 1, 0),
            self.config.retry_max_seconds,
        )
        return now + timedelta(seconds=delay)

    def _write(self, done, breaker) -> None:
        """Store the outcomes of some deliveries in one transaction.

        Only rows still carrying this dispatcher's claim token are written,
        and the run counters move by what those rows went from (as claimed)
        and to, so that a dispatcher whose lease ran out counts nothing twice.
        """
        now = timezone.now()
        rows, attempts, kinds = [], [], []
        failing_runs = set()
        for row, outcome in done:
            status = row["status"]
            tries = row["attempts"]
            last_attempt_at = row["last_attempt_at"]
            next_attempt_at = row["next_attempt_at"]
            response = row["server_response"]
            if outcome is None:
                # Never attempted (the breaker opened): back in the queue.
                status = DEFERRED if tries else PENDING
                kinds.append("released")
            elif outcome.status == FAILED and outcome.code is None:
                # Refused before any SMTP exchange: no attempt to log.
                status, response, next_attempt_at = FAILED, outcome.text, None
                kinds.append(FAILED)
            else:
                tries += 1
                last_attempt_at = now
                response = outcome.text
                status = outcome.status
                if status == DEFERRED and tries >= self.config.max_attempts:
                    status = FAILED
                next_attempt_at = None
                if status == DEFERRED:
                    next_attempt_at = self._retry_at(now, tries)
                    if outcome.connection_failed:
                        failing_runs.add(row["run_id"])
                attempts.append(
                    (row["pk"], tries, now, status, outcome.code, outcome.text)
                )
                kinds.append(status)
            rows.append(
                (
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
                )
            )
        if self._relax_commits:
            self._relax()
        if connection.vendor == "postgresql":
            # One statement is a transaction of its own; inside the caller's
            # transaction a savepoint lets a failed write be tried again.
            with transaction.atomic() if connection.in_atomic_block else _no_block:
                written = _write_postgresql(rows, attempts)
        else:
            with transaction.atomic():
                written = _write_generic(rows, attempts)
        report = self.report
        for row, kind in zip(rows, kinds, strict=True):
            if row[0] in written:
                setattr(report, kind, getattr(report, kind) + 1)
        if len(written) < len(rows):
            logger.warning(
                "%s result(s) not stored: their lease ran out and another "
                "dispatcher took them",
                len(rows) - len(written),
            )
        self._failing_runs |= failing_runs
        if breaker.open.is_set() and self._failing_runs:
            self._pause(now, self._failing_runs)
            self._failing_runs.clear()

    def _pause(self, now, failing_runs: set[int]) -> None:
        """Open circuit: leave these runs alone for a while, longer each time.

        "Each time" is counted from the run's deferred attempts: every
        threshold's worth of them doubles the pause, up to the maximum.
        """
        for run_id in failing_runs:
            if run_id in self.report.paused_runs:
                continue
            deferred = DeliveryAttempt.objects.filter(
                delivery__run_id=run_id, outcome=DEFERRED
            ).count()
            trips = max(deferred // self.config.breaker_threshold, 1)
            pause = min(
                self.config.breaker_pause_seconds * 2 ** min(trips - 1, 30),
                self.config.breaker_max_pause_seconds,
            )
            Run.objects.filter(pk=run_id).update(
                paused_until=now + timedelta(seconds=pause)
            )
            self.report.paused_runs.append(run_id)
            logger.warning(
                "Run %s paused for %ss: the mail server keeps failing", run_id, pause
            )


def _write_generic(rows, attempts) -> set[int]:
    """Store results with the ORM (SQLite); the ids actually written.

    The transaction holds SQLite's write lock from its first statement, so
    the claim tokens read first cannot change before the update.
    """
    ids = [row[0] for row in rows]
    current = {}
    for start in range(0, len(ids), _CHUNK):
        current.update(
            Delivery.objects.filter(pk__in=ids[start : start + _CHUNK]).values_list(
                "pk", "claimed_by"
            )
        )
    mine = [row for row in rows if current.get(row[0]) == row[1]]
    Delivery.objects.bulk_update(
        [
            Delivery(
                pk=pk,
                status=status,
                attempts=tries,
                last_attempt_at=last,
                next_attempt_at=next_at,
                server_response=response,
                message_id=message_id,
                lease_expires_at=None,
                claimed_by="",
            )
            for pk, _, status, tries, last, next_at, response, message_id, *_ in mine
        ],
        _WRITE_FIELDS,
        batch_size=_CHUNK // len(_WRITE_FIELDS),
    )
    written = {row[0] for row in mine}
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery_id=pk,
            number=number,
            attempted_at=at,
            outcome=outcome,
            reply_code=code,
            server_response=text,
        )
        for pk, number, at, outcome, code, text in attempts
        if pk in written
    )
    changes = defaultdict(lambda: {SENT: 0, FAILED: 0, DEFERRED: 0, "last": None})
    for _, _, status, tries, last, _, _, _, was, run_id in mine:
        now_in = counted_as(status, tries)
        if now_in == was:
            continue
        change = changes[run_id]
        change[was] = change.get(was, 0) - 1
        change[now_in] = change.get(now_in, 0) + 1
        if now_in == SENT and (change["last"] is None or last > change["last"]):
            change["last"] = last
    for run_id in sorted(changes):
        change = changes[run_id]
        update = {
            "sent_count": F("sent_count") + change[SENT],
            "failed_count": F("failed_count") + change[FAILED],
            "deferred_count": Greatest(F("deferred_count") + change[DEFERRED], 0),
        }
        if change["last"] is not None:
            last = Value(change["last"])
            update["last_sent_at"] = Greatest(Coalesce(F("last_sent_at"), last), last)
        Run.objects.filter(pk=run_id).update(**update)
    return written


def _columns(rows, count):
    return [list(column) for column in zip(*rows, strict=True)] or [[]] * count


def _write_postgresql(rows, attempts) -> set[int]:
    """The same as `_write_generic`, as one statement; the ids written.

    unnest() takes each column as one array parameter (Django's bulk_update
    would build a CASE per field and row in Python, which costs more than
    sending the batch), and data-modifying CTEs update the deliveries still
    ours, log their attempts and move their runs' counters. One statement
    in autocommit is one round trip with its commit, so results are durable
    as soon as it returns; deltas are summed per run, one UPDATE of each.
    """
    delivery_table = Delivery._meta.db_table
    attempt_table = DeliveryAttempt._meta.db_table
    run_table = Run._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH v AS (
                SELECT * FROM unnest(
                    %s::bigint[], %s::text[], %s::text[], %s::int[],
                    %s::timestamptz[], %s::timestamptz[], %s::text[], %s::text[],
                    %s::text[]
                ) AS v(id, token, status, attempts, last_attempt_at,
                       next_attempt_at, server_response, message_id, was)
            ), written AS (
                UPDATE {delivery_table} AS d SET
                    status = v.status, attempts = v.attempts,
                    last_attempt_at = v.last_attempt_at,
                    next_attempt_at = v.next_attempt_at,
                    server_response = v.server_response,
                    message_id = v.message_id,
                    lease_expires_at = NULL, claimed_by = ''
                FROM v
                WHERE d.id = v.id AND d.claimed_by = v.token
                RETURNING d.id, d.run_id, d.last_attempt_at, v.was,
                    CASE WHEN d.status IN ('sent', 'failed') THEN d.status
                         WHEN d.attempts > 0 THEN 'deferred'
                         ELSE 'pending' END AS now_in
            ), logged AS (
                INSERT INTO {attempt_table}
                    (delivery_id, number, attempted_at, outcome, reply_code,
                     server_response)
                SELECT a.* FROM unnest(
                    %s::bigint[], %s::int[], %s::timestamptz[], %s::text[],
                    %s::smallint[], %s::text[]
                ) AS a(delivery_id, number, attempted_at, outcome, reply_code,
                       server_response)
                WHERE a.delivery_id IN (SELECT id FROM written)
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
                UPDATE {run_table} AS r SET
                    sent_count = r.sent_count + c.sent,
                    failed_count = r.failed_count + c.failed,
                    deferred_count = GREATEST(r.deferred_count + c.deferred, 0),
                    last_sent_at = GREATEST(r.last_sent_at, c.last)
                FROM changes c WHERE r.id = c.run_id
            )
            SELECT id FROM written
            """,
            _columns([row[:9] for row in rows], 9) + _columns(attempts, 6),
        )
        return {pk for (pk,) in cursor.fetchall()}


def dispatch(*, run_ids=None) -> DispatchReport:
    """Deliver everything claimable, in `MAILING_PROCESSES` processes.

    One process is bound by Python's GIL to one core; extra processes are
    forked dispatchers sharing the work through the same claims, worth it
    only for big runs, so they start only when there is much to send.
    """
    config = engine_config()
    extra = config.processes - 1
    # Only on PostgreSQL (on SQLite the processes would queue for its one
    # write lock); never inside a transaction (forking closes this process's
    # connection, and the caller's transaction with it); never under a rate
    # limit (it is per dispatcher, and then the server sets the pace anyway).
    if (
        connection.vendor != "postgresql"
        or connection.in_atomic_block
        or config.rate_limit
    ):
        extra = 0
    if extra > 0:
        qs = Delivery.objects.filter(claimable(timezone.now()))
        if run_ids is not None:
            qs = qs.filter(run_id__in=run_ids)
        if qs[: 4 * config.batch_size].count() < 4 * config.batch_size:
            extra = 0
    if extra <= 0:
        return Dispatcher(run_ids=run_ids, config=config).run()
    import multiprocessing

    # Children must not share the parent's database sockets.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    children = [
        context.Process(target=_child, args=(run_ids, results), daemon=True)
        for _ in range(extra)
    ]
    for child in children:
        child.start()
    report = Dispatcher(run_ids=run_ids, config=config).run()
    for _ in children:
        try:
            other = results.get(timeout=config.timeout * 4 + 60)
        except queue.Empty:
            logger.error("A dispatcher process did not report back")
            continue
        if other is not None:
            report.merge(other)
    for child in children:
        child.join(timeout=10)
    return report


def _child(run_ids, results) -> None:
    # With a connection pool the parent's pooled connections came along with
    # the fork, sockets included: this process opens its own, unpooled, and
    # never touches (or closes) those. The settings lose the pool too, for
    # the connections that the writer thread opens.
    for alias in connections:
        settings_dict = connections.settings[alias]
        options = dict(settings_dict.get("OPTIONS", {}))
        options.pop("pool", None)
        connections.settings[alias] = {**settings_dict, "OPTIONS": options}
    for conn in connections.all(initialized_only=True):
        conn.connection = None
        options = dict(conn.settings_dict.get("OPTIONS", {}))
        options.pop("pool", None)
        conn.settings_dict = {**conn.settings_dict, "OPTIONS": options}
    report = None
    try:
        report = Dispatcher(run_ids=run_ids).run()
    except Exception:
        logger.exception("Dispatcher process failed")
    finally:
        results.put(report)
        results.close()
        results.join_thread()
        connections.close_all()  # its own: the pool option is gone here
        # Skip the parent's atexit handlers and test-runner state.
        os._exit(0)
