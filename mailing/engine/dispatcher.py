"""Claims deliveries in batches and sends them over parallel SMTP connections.

Work is claimed, never assumed. A claim is one transaction that selects due
rows with `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; other dispatchers
skip the locked rows instead of waiting for them) and marks them `sending`
with a lease. On SQLite the settings open every transaction with `BEGIN
IMMEDIATE`, so a claim holds the database's write lock from its first read
and two claims queue up instead of overlapping; the update is also
conditional and the rows actually won are read back. A row still `sending`
after its lease expired belongs to a dead dispatcher and is claimed again.

Sender threads each own one connection (`MAILING_CONNECTIONS` of them) and
take messages from a shared queue; the main thread claims the next batch and
writes results in bulk (one `bulk_update` and one `bulk_create` per batch)
while they send. After `MAILING_BREAKER_THRESHOLD` connection failures in a
row the circuit breaker opens: unsent messages go back unattempted, and the
runs involved get `paused_until` with a growing backoff.
"""

import itertools
import logging
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from mailing.models import Delivery, DeliveryAttempt, Run

from .config import EngineConfig, engine_config
from .message import InvalidAddress, PreparedMessage, date_header
from .transport import DEFERRED, FAILED, Outcome, RateLimiter, open_transport

logger = logging.getLogger("mailing.engine")

OPEN_STATUSES = [
    Delivery.Status.PENDING,
    Delivery.Status.SENDING,
    Delivery.Status.DEFERRED,
]
# Results are written a batch at a time, and at least this often (seconds):
# a slow or rate-limited server still moves the progress bar, while at full
# speed a batch fills well before.
WRITE_EVERY = 1.0

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
_worker_seq = itertools.count(1)


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


def claimable(now) -> Q:
    """Deliveries that a dispatcher may take right now."""
    due = Q(status__in=[Delivery.Status.PENDING, Delivery.Status.DEFERRED]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=Delivery.Status.SENDING, lease_expires_at__lt=now)
    sendable_run = (
        Q(run__status=Run.Status.RUNNING)
        & (Q(run__paused_until__isnull=True) | Q(run__paused_until__lte=now))
        & Q(
            run__mailing__is_active=True,
            run__mailing__is_paused=False,
            run__mailing__owner__is_active=True,
            run__mailing__end_at__gt=now,
        )
    )
    return (due | abandoned) & sendable_run


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
        self.report = DispatchReport()

    # -- claiming -----------------------------------------------------------

    def claim(self, limit: int) -> list[dict]:
        """Take up to `limit` due deliveries; they are ours until the lease ends."""
        now = timezone.now()
        qs = Delivery.objects.filter(claimable(now))
        own_state = Q(
            status__in=[Delivery.Status.PENDING, Delivery.Status.DEFERRED]
        ) | Q(status=Delivery.Status.SENDING, lease_expires_at__lt=now)
        if self.run_ids is not None:
            qs = qs.filter(run_id__in=self.run_ids)
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
        return rows

    def _prepare(self, run_id: int) -> PreparedMessage:
        if run_id not in self._prepared:
            run = Run.objects.select_related("mailing__message").get(pk=run_id)
            self._prepared[run_id] = PreparedMessage.for_run(run)
        return self._prepared[run_id]

    # -- sending ------------------------------------------------------------

    def _sender(self, work, results, breaker, limiter):
        """One thread, one connection: send queued messages until told to stop.

        Every item taken yields exactly one result, whatever happens, so the
        main loop's count of messages in flight always drains.
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

    @staticmethod
    def _send_one(transport, row, prepared, date, limiter) -> Outcome:
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
        return transport.send(prepared.envelope_from, row["email"], data)

    def run(self) -> DispatchReport:
        """Claim, send and record until nothing is claimable; never raises
        for anything the mail server does."""
        with connection.execute_wrapper(self._count_query):
            return self._run()

    def _count_query(self, execute, sql, params, many, context):
        self.report.queries += 1
        return execute(sql, params, many, context)

    def _run(self) -> DispatchReport:
        config = self.config
        work: queue.Queue = queue.Queue()
        results: queue.Queue = queue.Queue()
        breaker = _Breaker(config.breaker_threshold)
        limiter = RateLimiter(config.rate_limit)
        batch_size = config.batch_size
        if config.rate_limit:
            # A batch must be sent well within its lease.
            batch_size = max(
                1, min(batch_size, int(config.rate_limit * config.lease_seconds / 4))
            )
        threads = [
            threading.Thread(
                target=self._sender,
                args=(work, results, breaker, limiter),
                name=f"smtp-{n}",
                daemon=True,
            )
            for n in range(config.connections)
        ]
        for thread in threads:
            thread.start()
        in_flight = 0
        exhausted = False
        done: list = []
        written_at = time.monotonic()
        try:
            while True:
                # Keep at most about one batch waiting beyond the one in hand.
                if (
                    not exhausted
                    and not breaker.open.is_set()
                    and in_flight < batch_size
                ):
                    rows = self.claim(batch_size)
                    if not rows:
                        exhausted = True
                    date = date_header(timezone.now())
                    for row in rows:
                        self.report.runs.add(row["run_id"])
                        if row["client_id"] is None or row["client__unsubscribed_at"]:
                            reason = (
                                "unsubscribed" if row["client_id"] else "was deleted"
                            )
                            done.append(
                                (
                                    row,
                                    Outcome(FAILED, f"Not sent: the client {reason}."),
                                )
                            )
                            continue
                        work.put((row, self._prepare(row["run_id"]), date))
                        in_flight += 1
                if in_flight == 0:
                    if done:
                        self._write(done, breaker)
                        done = []
                    if exhausted or breaker.open.is_set():
                        break
                    continue
                try:
                    done.append(results.get(timeout=0.5))
                    in_flight -= 1
                    while True:
                        done.append(results.get_nowait())
                        in_flight -= 1
                except queue.Empty:
                    pass
                if (
                    len(done) >= batch_size
                    or in_flight == 0
                    or (done and time.monotonic() - written_at >= WRITE_EVERY)
                ):
                    self._write(done, breaker)
                    done = []
                    written_at = time.monotonic()
        finally:
            for _ in threads:
                work.put(None)
            for thread in threads:
                thread.join()
            # Whatever the threads finished before we stopped is still written.
            while True:
                try:
                    done.append(results.get_nowait())
                except queue.Empty:
                    break
            if done:
                self._write(done, breaker)
        return self.report

    # -- recording ----------------------------------------------------------

    def _retry_at(self, now, attempts: int):
        delay = min(
            self.config.retry_base_seconds * 2 ** max(attempts - 1, 0),
            self.config.retry_max_seconds,
        )
        return now + timedelta(seconds=delay)

    def _write(self, done, breaker) -> None:
        """Store the outcomes of a batch: two queries however big it is."""
        now = timezone.now()
        rows, attempts = [], []
        failing_runs = self._failing_runs
        report = self.report
        for row, outcome in done:
            status = row["status"]
            tries = row["attempts"]
            last_attempt_at = row["last_attempt_at"]
            next_attempt_at = row["next_attempt_at"]
            response = row["server_response"]
            if outcome is None:
                # Never attempted (the breaker opened): back in the queue.
                status = DEFERRED if tries else Delivery.Status.PENDING
                report.released += 1
            elif outcome.status == FAILED and outcome.code is None:
                # Refused before any SMTP exchange: no attempt to log.
                status, response, next_attempt_at = FAILED, outcome.text, None
                report.failed += 1
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
                setattr(report, status, getattr(report, status) + 1)
                attempts.append(
                    (row["pk"], tries, now, status, outcome.code, outcome.text)
                )
            rows.append(
                (
                    row["pk"],
                    status,
                    tries,
                    last_attempt_at,
                    next_attempt_at,
                    response,
                    row["message_id"],
                )
            )
        with transaction.atomic():
            if connection.vendor == "postgresql":
                _write_postgresql(rows, attempts)
            else:
                _write_generic(rows, attempts)
            if breaker.open.is_set() and failing_runs:
                self._pause(now, failing_runs)
                failing_runs.clear()

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


def _write_generic(rows, attempts) -> None:
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
            for pk, status, tries, last, next_at, response, message_id in rows
        ],
        _WRITE_FIELDS,
    )
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
    )


def _columns(rows, count):
    return [list(column) for column in zip(*rows, strict=True)] or [[]] * count


def _write_postgresql(rows, attempts) -> None:
    """The same as bulk_update + bulk_create, as two array-parameter queries.

    Django's bulk_update builds a CASE per field and row in Python, which
    costs more than sending the batch; unnest() takes each column as one
    array parameter instead.
    """
    delivery_table = Delivery._meta.db_table
    attempt_table = DeliveryAttempt._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {delivery_table} AS d SET
                status = v.status, attempts = v.attempts,
                last_attempt_at = v.last_attempt_at,
                next_attempt_at = v.next_attempt_at,
                server_response = v.server_response, message_id = v.message_id,
                lease_expires_at = NULL, claimed_by = ''
            FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::timestamptz[],
                        %s::timestamptz[], %s::text[], %s::text[])
                AS v(id, status, attempts, last_attempt_at, next_attempt_at,
                     server_response, message_id)
            WHERE d.id = v.id
            """,
            _columns(rows, 7),
        )
        if attempts:
            cursor.execute(
                f"""
                INSERT INTO {attempt_table}
                    (delivery_id, number, attempted_at, outcome, reply_code,
                     server_response)
                SELECT * FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[],
                                     %s::text[], %s::smallint[], %s::text[])
                """,
                _columns(attempts, 6),
            )


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

    from django.db import connections

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
    from django.db import connections

    # With a connection pool the parent's pooled connections came along with
    # the fork, sockets included: this process opens its own, unpooled, and
    # never touches (or closes) those.
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
