"""Sharing a big run between several dispatcher processes on one machine.

One process is bound by Python's GIL to one core; extra processes are
forked dispatchers sharing the work through the same claims, each with its
own database connections, and each reports back what it did.
"""

import contextlib
import gc
import logging
import multiprocessing
import os
import queue
import threading

from django.db import connection, connections
from django.utils import timezone

from mailing.models import Delivery

from .config import EngineConfig, engine_config
from .dispatcher import Dispatcher
from .message import unsubscribe_url_parts
from .record import DispatchReport

logger = logging.getLogger("mailing.engine")

# heap_frozen(): how many callers in this process are inside it.
_freeze_depth = 0
_freeze_lock = threading.Lock()


def deliver_claimable(*, run_ids=None) -> DispatchReport:
    """Deliver everything claimable (of `run_ids`, or of every run) in
    `MAILING_PROCESSES` dispatcher processes; returns their merged report.

    Extra processes start only when there is much to send.
    """
    config = engine_config()
    extra = _extra_processes(config, run_ids)
    with heap_frozen():
        if extra <= 0:
            return Dispatcher(run_ids=run_ids, config=config).drain()
        return _deliver_forked(config, run_ids, extra)


@contextlib.contextmanager
def heap_frozen():
    """Keep the garbage collector off what existed before the dispatch.

    Django, Wagtail and their imports are some 200,000 objects that live as
    long as the process; every full collection during a run walked all of
    them (0.14–0.26 s of CPU each, three in a 10,000-client run of two
    processes on the 2-core machine), and in a forked dispatcher that walk
    also wrote to every page it shares with its parent. `gc.freeze()` moves
    them out of the collector's sight for the dispatch, and `gc.unfreeze()`
    hands them back afterwards, so that a long-lived worker still collects
    whatever of them becomes garbage later. Objects made during the
    dispatch are collected as usual. Nested, each level freezes again (what
    planning imported joins the frozen heap) and the outermost unfreezes; a
    process that froze its heap itself (a pre-forking server) is left as it
    is.
    """
    global _freeze_depth
    with _freeze_lock:
        if gc.get_freeze_count() and not _freeze_depth:
            owner = False
        else:
            owner = True
            _freeze_depth += 1
            gc.freeze()
    try:
        yield
    finally:
        if owner:
            with _freeze_lock:
                _freeze_depth -= 1
                if not _freeze_depth:
                    gc.unfreeze()


def _deliver_forked(config: EngineConfig, run_ids, extra: int) -> DispatchReport:
    # What every dispatcher loads on first use is loaded once, here, and
    # shared with the children (copy on write) instead of loaded in each.
    unsubscribe_url_parts()
    # Children must not share this process's database sockets.
    _close_connections()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    children = [
        context.Process(target=_child, args=(run_ids, results), daemon=True)
        for _ in range(extra)
    ]
    for child in children:
        child.start()
    report = Dispatcher(run_ids=run_ids, config=config).drain()
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


def _extra_processes(config: EngineConfig, run_ids) -> int:
    """How many processes to fork besides this one.

    Only on PostgreSQL (on SQLite the processes would queue for its one
    write lock); never inside a transaction (forking closes this process's
    connection, and the caller's transaction with it); never under a rate
    limit (it is per dispatcher, and then the server sets the pace anyway);
    and only when at least four batches wait.
    """
    extra = config.processes - 1
    if (
        extra <= 0
        or connection.vendor != "postgresql"
        or connection.in_atomic_block
        or config.rate_limit
    ):
        return 0
    qs = Delivery.objects.claimable(timezone.now())
    if run_ids is not None:
        qs = qs.filter(run_id__in=run_ids)
    if qs[: 4 * config.batch_size].count() < 4 * config.batch_size:
        return 0
    return extra


def _close_connections() -> None:
    """Close this thread's database connections and this process's pools.

    Closing a pooled connection only returns it to the pool, whose open
    sockets (and worker threads' state) a fork would copy: the pool is
    closed too. Each process then opens its own; this one reopens its pool
    at its next query.
    """
    connections.close_all()
    for conn in connections.all(initialized_only=True):
        close_pool = getattr(conn, "close_pool", None)  # PostgreSQL's backend
        if close_pool is not None:
            close_pool()


def _child(run_ids, results) -> None:
    report = None
    try:
        report = Dispatcher(run_ids=run_ids).drain()
    except Exception:
        logger.exception("Dispatcher process failed")
    finally:
        results.put(report)
        results.close()
        results.join_thread()
        _close_connections()  # its own, and its own pool
        # Skip the parent's atexit handlers and test-runner state.
        os._exit(0)
