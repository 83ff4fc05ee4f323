"""One dispatcher: claims deliveries in batches, sends them, records results.

The main thread claims (claim.py) and hands messages to the sender threads
(send.py), claiming the next batch while they send, and beats the heartbeat
that renews the leases of what it holds. As soon as a server's reply is
known, the sender thread settles the delivery (record.py) and appends it to
this dispatcher's journal (journal.py): one small write to a local file,
which survives a `kill -9` of this process, before the thread sends its
next message; so a crash leaves at most the message on the wire, one per
connection, without a known result. A writer thread with its own database
connection stores the journaled results in big groups (group commit every
GROUP_COMMIT_SECONDS). Before each claim the dispatcher replays the
journals of dead dispatchers on this machine, so their results are stored
before their expired leases can be claimed again. processes.py shares a big
run between several such dispatchers.
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
from .journal import Journal, JournalError, replay_dead_journals
from .message import PreparedMessage, date_header
from .record import DispatchReport, ResultWriter, settle
from .send import Breaker, SenderPool
from .transport import Outcome

# At most this many batches held (claimed, result not yet stored): when the
# database falls behind the senders, claims wait instead of memory growing.
_HELD_BATCHES = 4

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
        holdings = Holdings(low_water=_low_water(self._batch_size()))
        breaker = Breaker(self.config.breaker_threshold)
        writer = ResultWriter(
            config=self.config,
            report=self.report,
            breaker=breaker,
            db_lock=db_lock,
            shared_connection=shared_connection,
            on_stored=lambda done: self._stored(done, holdings, writer, journal),
        )
        journal = Journal(self.config.journal_dir, handoff=writer.put)
        senders = SenderPool(
            config=self.config,
            breaker=breaker,
            on_result=lambda row, outcome: self._result(
                row, outcome, journal, holdings, senders
            ),
        )
        writer.start()
        senders.start()
        try:
            self._claim_and_hand_out(senders, writer, holdings, db_lock)
        finally:
            senders.close()
            writer.stop()  # whatever the senders finished is still written
            # Everything journaled is stored, unless the writer gave up: then
            # the journal stays for the next dispatcher to replay.
            journal.close(remove=writer.error is None)
        if writer.error is not None:
            raise writer.error
        if journal.error is not None:
            raise JournalError(
                f"The journal in {self.config.journal_dir} could not be written"
            ) from journal.error

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
        max_held = batch_size * _HELD_BATCHES
        beat_every = self.config.lease_seconds / 3
        next_beat = time.monotonic() + beat_every
        exhausted = False
        while writer.error is None:
            if time.monotonic() >= next_beat:
                renew_leases(
                    holdings, lease_seconds=self.config.lease_seconds, db_lock=db_lock
                )
                next_beat = time.monotonic() + beat_every
            claiming = not (
                exhausted or senders.breaker.open.is_set() or senders.halt.is_set()
            )
            if claiming and _room_for_a_batch(holdings, batch_size, max_held):
                with db_lock:
                    # A dead dispatcher's results first, then its leases.
                    replay_dead_journals(self.config.journal_dir)
                    rows = self.claim(batch_size)
                exhausted = not rows
                self._hand_out(rows, senders, holdings, db_lock)
                continue
            if not claiming and not len(holdings):
                return
            holdings.wait(
                (lambda h: _room_for_a_batch(h, batch_size, max_held))
                if claiming
                else (lambda h: not len(h)),
                max(0.0, min(0.5, next_beat - time.monotonic())),
            )

    def _hand_out(self, rows, senders, holdings, db_lock) -> None:
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
                senders.on_result(row, Outcome(Delivery.Status.FAILED, reason))
            else:
                senders.put(row, self._prepared[row["run_id"]], date)

    def _prepare(self, run_id: int) -> PreparedMessage:
        if run_id not in self._prepared:
            run = Run.objects.select_related("mailing__message").get(pk=run_id)
            self._prepared[run_id] = PreparedMessage.for_run(run)
        return self._prepared[run_id]

    def _result(self, row, outcome, journal: Journal, holdings, senders) -> None:
        """A delivery's result is known: journal it (durable from here on)
        and hand it to the writer; a journal that cannot be written stops
        the sending."""
        settled = settle(row, outcome, now=timezone.now(), config=self.config)
        journal.record(settled)
        holdings.settled()
        if journal.error is not None:
            senders.halt.set()

    def _stored(self, done, holdings: Holdings, writer, journal: Journal) -> None:
        holdings.remove(settled.pk for _, settled in done)
        if writer.error is None:
            journal.stored_through(done[-1][0])


def _low_water(batch_size: int) -> int:
    """Unsent rows in hand below which the next batch is claimed: half a
    batch still covers a claim's round trips, and at the end of a run the
    dispatchers sharing it are left holding less, so they finish closer
    together."""
    return max(1, batch_size // 2)


def _room_for_a_batch(holdings: Holdings, batch_size: int, max_held: int) -> bool:
    """Whether to claim: the senders are running short of work, and not too
    many results wait for the writer."""
    return holdings.unsettled < _low_water(batch_size) and len(holdings) < max_held
