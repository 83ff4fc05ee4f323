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
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mailing.models import Delivery, DeliveryAttempt, Run

from .config import EngineConfig, engine_config
from .message import InvalidAddress, PreparedMessage, date_header
from .transport import DEFERRED, FAILED, SENT, Outcome, RateLimiter, open_transport

logger = logging.getLogger("mailing.engine")

OPEN_STATUSES = [
    Delivery.Status.PENDING,
    Delivery.Status.SENDING,
    Delivery.Status.DEFERRED,
]
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

    def __str__(self):
        text = (
            f"{self.sent} sent, {self.deferred} deferred, {self.failed} failed"
            f" in {len(self.runs)} run(s)"
        )
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
        self.report = DispatchReport()

    # -- claiming -----------------------------------------------------------

    def claim(self, limit: int) -> list[dict]:
        """Take up to `limit` due deliveries; they are ours until the lease ends."""
        now = timezone.now()
        condition = claimable(now)
        qs = Delivery.objects.filter(condition)
        if self.run_ids is not None:
            qs = qs.filter(run_id__in=self.run_ids)
        token = f"{self.worker}:{next(self._claims)}"
        with transaction.atomic():
            rows = list(
                qs.select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")
                .values(*_CLAIM_FIELDS)[:limit]
            )
            if not rows:
                return []
            ids = [row["pk"] for row in rows]
            won = (
                Delivery.objects.filter(condition, pk__in=ids)
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
        transport = open_transport(timeout=self.config.timeout)
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
                    message_id, data = prepared.build(
                        client_id=row["client_id"],
                        email=row["email"],
                        full_name=row["client__full_name"] or "",
                        date_header=date,
                    )
                except InvalidAddress as exc:
                    results.put((row, Outcome(FAILED, str(exc))))
                    continue
                row["message_id"] = message_id
                limiter.wait()
                try:
                    outcome = transport.send(prepared.envelope_from, row["email"], data)
                except Exception as exc:  # a bug must not lose the row
                    logger.exception("Unexpected error while sending")
                    outcome = Outcome(DEFERRED, f"Internal error: {exc}")
                breaker.record(outcome)
                results.put((row, outcome))
        finally:
            try:
                transport.close()
            except Exception:
                logger.debug("Closing the transport failed", exc_info=True)

    def run(self) -> DispatchReport:
        """Claim, send and record until nothing is claimable; never raises
        for anything the mail server does."""
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
                if len(done) >= batch_size or in_flight == 0:
                    self._write(done, breaker)
                    done = []
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
        deliveries, attempts = [], []
        failing_runs: dict[int, int] = {}
        for row, outcome in done:
            delivery = Delivery(
                pk=row["pk"],
                status=row["status"],
                attempts=row["attempts"],
                last_attempt_at=row["last_attempt_at"],
                next_attempt_at=row["next_attempt_at"],
                server_response=row["server_response"],
                message_id=row["message_id"],
                lease_expires_at=None,
                claimed_by="",
            )
            deliveries.append(delivery)
            if outcome is None:
                # Never attempted (the breaker opened): back in the queue.
                delivery.status = (
                    Delivery.Status.DEFERRED
                    if row["attempts"]
                    else Delivery.Status.PENDING
                )
                self.report.released += 1
                continue
            if outcome.status == FAILED and outcome.code is None:
                # Refused before any SMTP exchange: no attempt to log.
                delivery.status = Delivery.Status.FAILED
                delivery.server_response = outcome.text
                delivery.next_attempt_at = None
                self.report.failed += 1
                continue
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.server_response = outcome.text
            status = outcome.status
            if status == DEFERRED and delivery.attempts >= self.config.max_attempts:
                status = FAILED
            if status == DEFERRED:
                delivery.next_attempt_at = self._retry_at(now, delivery.attempts)
                if outcome.connection_failed:
                    failing_runs[row["run_id"]] = max(
                        failing_runs.get(row["run_id"], 0), delivery.attempts
                    )
            else:
                delivery.next_attempt_at = None
            delivery.status = {
                SENT: Delivery.Status.SENT,
                DEFERRED: Delivery.Status.DEFERRED,
                FAILED: Delivery.Status.FAILED,
            }[status]
            setattr(self.report, status, getattr(self.report, status) + 1)
            attempts.append(
                DeliveryAttempt(
                    delivery_id=row["pk"],
                    number=delivery.attempts,
                    attempted_at=now,
                    outcome=status,
                    reply_code=outcome.code,
                    server_response=outcome.text,
                )
            )
        with transaction.atomic():
            Delivery.objects.bulk_update(deliveries, _WRITE_FIELDS)
            if attempts:
                DeliveryAttempt.objects.bulk_create(attempts)
            if breaker.open.is_set() and failing_runs:
                self._pause(now, failing_runs)

    def _pause(self, now, failing_runs: dict[int, int]) -> None:
        """Open circuit: leave these runs alone for a while, longer each time."""
        for run_id, attempts in failing_runs.items():
            if run_id in self.report.paused_runs:
                continue
            pause = min(
                self.config.breaker_pause_seconds * 2 ** max(attempts - 1, 0),
                self.config.breaker_max_pause_seconds,
            )
            Run.objects.filter(pk=run_id).update(
                paused_until=now + timedelta(seconds=pause)
            )
            self.report.paused_runs.append(run_id)
            logger.warning(
                "Run %s paused for %ss: the mail server keeps failing", run_id, pause
            )
