"""One dispatcher: claims deliveries in batches, sends them, stores results.

The main thread claims (claim.py) and hands messages to the sender threads
(send.py); the main thread claims the next batch while they send. A writer
thread with its own database connection stores results as they come
(record.py: group commit, a connection's worth of results or whatever
arrived within GROUP_COMMIT_SECONDS), so a reply is durable within
milliseconds; and a message may go out only while fewer than
UNSAVED_PER_CONNECTION per connection are sent and not yet stored, so a
`kill -9` re-sends at most that many. The main thread also beats the
heartbeat that renews the leases of what it holds. processes.py shares a
big run between several such dispatchers.
"""

import contextlib
import itertools
import os
import socket
import threading
import time

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from mailing.models import Delivery, Run

from .claim import Holdings, claim_deliveries, not_sendable, renew_leases
from .config import EngineConfig, engine_config
from .message import PreparedMessage, date_header
from .record import DispatchReport, ResultWriter, settle
from .send import Breaker, SenderPool
from .transport import Outcome

# Messages sent and not yet stored, per connection. One is the message on
# the wire; the other lets a connection send its next message while the
# writer stores the last one. A `kill -9` can duplicate no more than these.
UNSAVED_PER_CONNECTION = 2

_worker_seq = itertools.count(1)


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
        self._unsaved = threading.Semaphore(
            UNSAVED_PER_CONNECTION * self.config.connections
        )
        self.report = DispatchReport()

    def claim(self, limit: int) -> list[dict]:
        """Take up to `limit` due deliveries; they are ours until the lease ends."""
        return claim_deliveries(
            limit=limit,
            token=f"{self.worker}:{next(self._claims)}",
            lease_seconds=self.config.lease_seconds,
            run_ids=self.run_ids,
        )

    def drain(self) -> DispatchReport:
        """Claim, send and record until nothing is claimable; never raises
        for anything the mail server does."""
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
        try:
            self._drain(db_lock, own if shared else None)
        finally:
            if shared:
                own.dec_thread_sharing()
        return self.report

    def _drain(self, db_lock, shared_connection) -> None:
        holdings = Holdings()
        breaker = Breaker(self.config.breaker_threshold)
        writer = ResultWriter(
            config=self.config,
            report=self.report,
            breaker=breaker,
            db_lock=db_lock,
            shared_connection=shared_connection,
            on_stored=lambda done: self._stored(done, holdings),
        )
        senders = SenderPool(
            config=self.config,
            breaker=breaker,
            on_result=lambda row, outcome: self._result(writer, row, outcome),
            before_wire=self._before_wire,
        )
        writer.start()
        senders.start()
        try:
            self._claim_and_hand_out(senders, writer, holdings, db_lock)
        finally:
            senders.close()
            writer.stop()  # whatever the senders finished is still written
        if writer.error is not None:
            raise writer.error

    def _batch_size(self) -> int:
        config = self.config
        if not config.rate_limit:
            return config.batch_size
        # Claim no more than a fraction of a lease's worth at a time: other
        # dispatchers may share the run.
        return max(
            1, min(config.batch_size, int(config.rate_limit * config.lease_seconds / 4))
        )

    def _claim_and_hand_out(self, senders, writer, holdings, db_lock) -> None:
        """The main loop: keep about one batch waiting beyond the one in hand,
        beat the heartbeat, and return once everything held is stored."""
        batch_size = self._batch_size()
        beat_every = self.config.lease_seconds / 3
        next_beat = time.monotonic() + beat_every
        exhausted = False
        while writer.error is None:
            if time.monotonic() >= next_beat:
                renew_leases(
                    holdings, lease_seconds=self.config.lease_seconds, db_lock=db_lock
                )
                next_beat = time.monotonic() + beat_every
            claiming = not exhausted and not senders.breaker.open.is_set()
            if claiming and len(holdings) < batch_size:
                with db_lock:
                    rows = self.claim(batch_size)
                exhausted = not rows
                self._hand_out(rows, senders, writer, holdings, db_lock)
                continue
            if not claiming and not len(holdings):
                return
            holdings.wait_below(
                batch_size if claiming else 1,
                max(0.0, min(0.5, next_beat - time.monotonic())),
            )

    def _hand_out(self, rows, senders, writer, holdings, db_lock) -> None:
        if not rows:
            return
        holdings.add(rows)
        date = date_header(timezone.now())
        with db_lock:
            for run_id in {row["run_id"] for row in rows}:
                self._prepare(run_id)
        for row in rows:
            self.report.runs.add(row["run_id"])
            reason = not_sendable(row)
            if reason:
                self._result(writer, row, Outcome(Delivery.Status.FAILED, reason))
            else:
                senders.put(row, self._prepared[row["run_id"]], date)

    def _prepare(self, run_id: int) -> PreparedMessage:
        if run_id not in self._prepared:
            run = Run.objects.select_related("mailing__message").get(pk=run_id)
            self._prepared[run_id] = PreparedMessage.for_run(run)
        return self._prepared[run_id]

    def _before_wire(self, row: dict) -> None:
        # A message may reach the server only while fewer than the cap are
        # sent and not yet stored: that bounds what a crash can duplicate.
        self._unsaved.acquire()
        row["unsaved"] = True

    def _result(self, writer: ResultWriter, row: dict, outcome: Outcome | None):
        settled = settle(row, outcome, now=timezone.now(), config=self.config)
        writer.put((settled, row.pop("unsaved", False)))

    def _stored(self, done, holdings: Holdings) -> None:
        holdings.remove(settled.pk for settled, _ in done)
        for _, unsaved in done:
            if unsaved:
                self._unsaved.release()
