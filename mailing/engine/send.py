"""Sender threads, the circuit breaker and the pause it puts on runs.

Sender threads each own one SMTP connection (`MAILING_CONNECTIONS` of them)
and take messages from a shared queue, honouring the rate limit. After
`MAILING_BREAKER_THRESHOLD` connection failures in a row the breaker opens:
messages not yet sent go back unattempted, and the runs involved get
`paused_until` with a growing backoff.
"""

import logging
import queue
import threading
from collections.abc import Callable
from datetime import timedelta

from mailing.models import Delivery, DeliveryAttempt, Run

from .config import EngineConfig
from .message import InvalidAddress, PreparedMessage
from .transport import Outcome, RateLimiter, open_transport

logger = logging.getLogger("mailing.engine")

# SenderPool._waiting: no item was waiting in the queue.
_NOTHING = object()


class Breaker:
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


class SenderPool:
    """The sender threads of one dispatcher.

    Every message handed over with `put()` yields exactly one call of
    `on_result(row, outcome)`, whatever happens (outcome None: never
    attempted, because the breaker opened, `halt` was set or the pool
    closed), so that every row the dispatcher holds gets a result. It is
    called in the sender's thread as soon as the server has answered and
    before that thread takes its next message: so what a crash can leave
    without a known result is one message per connection, the one on the
    wire.
    """

    def __init__(
        self,
        *,
        config: EngineConfig,
        breaker: Breaker,
        on_result: Callable[[dict, Outcome | None], None],
    ):
        self.config = config
        self.breaker = breaker
        self.limiter = RateLimiter(config.rate_limit)
        self.on_result = on_result
        self.halt = threading.Event()
        self._work: queue.Queue = queue.Queue()
        self._threads = [
            threading.Thread(target=self._sender, name=f"smtp-{n}", daemon=True)
            for n in range(config.connections)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def put(self, row: dict, prepared: PreparedMessage, date: str) -> None:
        self._work.put((row, prepared, date))

    def close(self) -> None:
        """Hand back what no sender took yet (normally nothing; after an
        error this stops quickly) and wait for the senders to finish."""
        while True:
            try:
                row, _, _ = self._work.get_nowait()
            except queue.Empty:
                break
            self.on_result(row, None)
        for _ in self._threads:
            self._work.put(None)
        for thread in self._threads:
            thread.join()

    def _sender(self) -> None:
        """One thread, one connection: send queued messages until told to stop.

        The message queued next, when one is waiting, is taken before this
        one goes, so that its envelope can travel behind this one's end
        (SMTPTransport.send's `then`); it is still sent, or handed back,
        before any other.
        """
        transport = None
        item = self._work.get()
        try:
            while item is not None:
                row, prepared, date = item
                if self.breaker.open.is_set() or self.halt.is_set():
                    self.on_result(row, None)
                    item = self._work.get()
                    continue
                following = self._waiting()
                try:
                    if transport is None:
                        transport = open_transport(timeout=self.config.timeout)
                    outcome = self._send_one(transport, row, prepared, date, following)
                except Exception as exc:  # a bug must not lose the row
                    logger.exception("Unexpected error while sending")
                    outcome = Outcome(
                        Delivery.Status.DEFERRED, f"Internal error: {exc}"
                    )
                if outcome.code is not None or outcome.connection_failed:
                    self.breaker.record(outcome)
                self.on_result(row, outcome)
                item = self._work.get() if following is _NOTHING else following
        finally:
            if transport is not None:
                try:
                    transport.close()
                except Exception:
                    logger.debug("Closing the transport failed", exc_info=True)

    def _waiting(self):
        """The next queued message if one waits, else _NOTHING.

        Only while more wait than there are connections: a short queue is
        spread over the connections rather than paired up on one (a slow
        server would make the second message wait for the first).
        """
        if self._work.qsize() <= self.config.connections:
            return _NOTHING
        try:
            item = self._work.get_nowait()
        except queue.Empty:
            return _NOTHING
        if item is None:
            # Each thread stops at a stop of its own: leave this one to it.
            self._work.put(None)
            return _NOTHING
        return item

    def _send_one(self, transport, row, prepared, date, following) -> Outcome:
        try:
            message_id, data = prepared.build(
                client_id=row["client_id"],
                email=row["email"],
                full_name=row["client__full_name"] or "",
                date_header=date,
                attributes=row["client__attributes"],
            )
        except InvalidAddress as exc:
            return Outcome(Delivery.Status.FAILED, str(exc))
        row["message_id"] = message_id
        self.limiter.wait()
        then = None
        if following is not _NOTHING:
            next_row, next_prepared, _ = following
            then = (_envelope_sender(next_row, next_prepared), next_row["email"])
        return transport.send(
            _envelope_sender(row, prepared), row["email"], data, then=then
        )


def _envelope_sender(row: dict, prepared: PreparedMessage):
    """The delivery's VERP address (a bounce to it names the delivery,
    deliverability.verp), made once though the row is sent to twice when
    its envelope goes ahead."""
    sender = row.get("envelope_sender")
    if sender is None:
        sender = row["envelope_sender"] = prepared.envelope_sender(row["pk"])
    return sender


def pause_failing_runs(
    run_ids, *, now, config: EngineConfig, paused: list[int]
) -> None:
    """Open circuit: leave these runs alone for a while, longer each time.

    "Each time" is counted from the run's deferred attempts: every
    threshold's worth of them doubles the pause, up to the maximum. Runs
    already in `paused` are left as they are; the others are added to it.
    """
    for run_id in sorted(set(run_ids) - set(paused)):
        deferred = DeliveryAttempt.objects.filter(
            delivery__run_id=run_id, outcome=Delivery.Status.DEFERRED
        ).count()
        trips = max(deferred // config.breaker_threshold, 1)
        pause = min(
            config.breaker_pause_seconds * 2 ** min(trips - 1, 30),
            config.breaker_max_pause_seconds,
        )
        Run.objects.filter(pk=run_id).update(
            paused_until=now + timedelta(seconds=pause)
        )
        paused.append(run_id)
        logger.warning(
            "Run %s paused for %ss: the mail server keeps failing", run_id, pause
        )
