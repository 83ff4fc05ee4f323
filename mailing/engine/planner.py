"""Turns due mailings into runs and closes what is done.

A run's deliveries are created by one `INSERT ... SELECT ... ON CONFLICT DO
NOTHING`: constant memory at any list size, and a replanned run adds no row
twice (unique run + client; a new run's big set, each client once by
construction, needs no ON CONFLICT). The recipients are the clients picked
directly and the subscribed members of the mailing's lists (those its
segment selects, when it has one), each once; unsubscribed clients and
addresses on the owner's suppression list get no row
(`mailing.selectors.mailing_recipients_sql`). A big set (the lists' kept
counters say so, PLAN_MANY_FROM) is gathered by walking the owner's clients
once with hash or merge joins, nested loops ruled out and more memory for
the statement; a small one by one probe of the clients' key per recipient.

Before a run is created the pre-flight check (mailing.engine.preflight)
looks at the mailing: a hard finding holds it (`held_reason`, `held_at`)
and no run starts. Its `next_run_at` stays due, so the clock checks it
again each minute and starts the run once the check passes.

The run's counters (`delivery_count`, `sent_count`, ...) change in the same
transaction as the deliveries they count, here and in the dispatcher's
result writes, so that pages can read them instead of counting rows.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Greatest
from django.utils import timezone, translation

from accounts.selectors import user_language
from mailing.figures import site_figures_invalidate
from mailing.models import Delivery, Mailing, Run
from mailing.scheduling import next_run_at_for
from mailing.selectors import mailing_recipient_bound, mailing_recipients_sql

from .preflight import held_reason, mailing_preflight

logger = logging.getLogger("mailing.engine")


def sendable_mailings():
    """Mailings that may send: enabled, not paused, owner not blocked."""
    return Mailing.objects.sendable()


# From this many recipients (the lists' kept counters plus the picked
# clients) a plan walks the owner's clients once with hash or merge joins;
# below it, each recipient probes the clients' primary key.
PLAN_MANY_FROM = 20_000
# Memory for those joins, for the planning statement only.
PLAN_MANY_WORK_MEM = "64MB"


def _create_deliveries(run: Run, *, mailing: Mailing, new_run: bool = False) -> int:
    """Insert the run's deliveries; returns how many were added. `new_run`:
    the run was created in this transaction (it has no delivery yet)."""
    many = mailing_recipient_bound(mailing=mailing) >= PLAN_MANY_FROM
    recipients, params = mailing_recipients_sql(mailing=mailing, many=many)
    # A new run has no delivery and the walk over the clients yields each
    # client once: nothing can conflict, and ON CONFLICT's speculative
    # insertion would cost a quarter of the insert. The unique (run,
    # client) still refuses a duplicate; replanning a run skips those.
    on_conflict = (
        "" if new_run and many else "ON CONFLICT (run_id, client_id) DO NOTHING"
    )
    sql = f"""
        INSERT INTO {Delivery._meta.db_table}
            (run_id, client_id, email, status, attempts, server_response,
             message_id, claimed_by)
        SELECT %s, r.id, r.email, %s, 0, '', '', ''
        FROM ({recipients}) r
        WHERE 1 = 1  -- else SQLite reads ON CONFLICT as the join's ON
        {on_conflict}
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One probe per recipient: compiling the segment's expressions
            # (JIT) took seconds and saved nothing. Until the end of the
            # planning transaction.
            cursor.execute("SET LOCAL jit = off")
            if many:
                # Stale statistics of a just-imported address book must not
                # make a nested loop over a million rows.
                cursor.execute("SET LOCAL enable_nestloop = off")
                cursor.execute(f"SET LOCAL work_mem = '{PLAN_MANY_WORK_MEM}'")
        cursor.execute(sql, [run.pk, Delivery.Status.PENDING, *params])
        count = cursor.rowcount
        if connection.vendor == "postgresql" and many:
            cursor.execute("SET LOCAL enable_nestloop = DEFAULT")
            cursor.execute("SET LOCAL work_mem = DEFAULT")
    if count:
        Run.objects.filter(pk=run.pk).update(delivery_count=F("delivery_count") + count)
    return count


def _passes_preflight(mailing: Mailing, now: datetime) -> bool:
    """Run the pre-flight check; hold the mailing (the reason in its owner's
    language) on a hard finding, release it when there is none."""
    language = user_language(user_id=mailing.owner_id) or settings.LANGUAGE_CODE
    with translation.override(language):
        reason = held_reason(mailing_preflight(mailing))
    if reason:
        if reason != mailing.held_reason or mailing.held_at is None:
            mailing.held_reason, mailing.held_at = reason, mailing.held_at or now
            mailing.save(update_fields=["held_reason", "held_at", "updated_at"])
            logger.warning("Mailing %s held by the pre-flight check", mailing.pk)
        return False
    if mailing.held_at is not None or mailing.held_reason:
        mailing.held_reason, mailing.held_at = "", None
        mailing.save(update_fields=["held_reason", "held_at", "updated_at"])
        logger.info("Mailing %s released by the pre-flight check", mailing.pk)
    return True


@transaction.atomic
def plan_mailing(*, mailing_id: int, now: datetime, force: bool = False) -> Run | None:
    """Create the due run of one mailing and advance its `next_run_at`.

    The mailing row is locked (PostgreSQL) or the write lock held (SQLite),
    so two planners never plan the same occurrence. Missed occurrences
    collapse into one run. With `force` ("send now"), a run is created for
    `now` even when no occurrence is due. Returns the run, or None when
    nothing was due, the mailing may not send or the pre-flight check
    holds it.
    """
    mailing = (
        sendable_mailings()
        .select_for_update(of=("self",))
        .filter(pk=mailing_id)
        .first()
    )
    if mailing is None:
        return None
    due = next_run_at_for(mailing, now=now)
    if due is not None and due <= now:
        scheduled_for = due
    elif force and now < mailing.end_at:
        scheduled_for = now
    else:
        if mailing.next_run_at != due:
            mailing.next_run_at = due
            mailing.save(update_fields=["next_run_at", "updated_at"])
        return None
    if not _passes_preflight(mailing, now):
        return None
    run, created = Run.objects.get_or_create(
        mailing=mailing,
        scheduled_for=scheduled_for,
        defaults={"status": Run.Status.RUNNING, "started_at": now},
    )
    if created:
        count = _create_deliveries(run, mailing=mailing, new_run=True)
        logger.info(
            "Planned run %s of mailing %s: %s deliveries", run.pk, mailing.pk, count
        )
    mailing.next_run_at = next_run_at_for(mailing, now=now, after=scheduled_for)
    mailing.status = Mailing.Status.RUNNING
    mailing.save(update_fields=["next_run_at", "status", "updated_at"])
    return run


def plan_due_runs(*, now: datetime | None = None) -> list[Run]:
    """Plan every mailing whose next occurrence has come."""
    now = now or timezone.now()
    due_ids = list(
        sendable_mailings()
        .filter(
            # A new mailing saved without next_run_at still gets planned.
            Q(next_run_at__lte=now)
            | Q(next_run_at__isnull=True, status=Mailing.Status.CREATED, end_at__gt=now)
        )
        .order_by("next_run_at")
        .values_list("pk", flat=True)
    )
    runs = []
    for mailing_id in due_ids:
        run = plan_mailing(mailing_id=mailing_id, now=now)
        if run is not None:
            runs.append(run)
    return runs


def _fail_past_end(now: datetime) -> None:
    """Fail the open deliveries of running runs whose mailing ended.

    One transaction per run, counters included. Rows attempted before count
    as deferred, the others as pending: two updates tell them apart without
    reading the rows, and each update's row count is exact even while
    dispatchers claim and write alongside.
    """
    expired = Delivery.objects.filter(
        status__in=[Delivery.Status.PENDING, Delivery.Status.DEFERRED],
        run__status=Run.Status.RUNNING,
        run__mailing__end_at__lte=now,
    )
    run_ids = set(expired.order_by().values_list("run_id", flat=True).distinct())
    changes = {
        "status": Delivery.Status.FAILED,
        "next_attempt_at": None,
        "server_response": "Not sent: the mailing's end time passed first.",
    }
    for run_id in sorted(run_ids):
        with transaction.atomic():
            of_run = expired.filter(run_id=run_id)
            tried = of_run.filter(attempts__gt=0).update(**changes)
            untried = of_run.filter(attempts=0).update(**changes)
            if tried or untried:
                Run.objects.filter(pk=run_id).update(
                    failed_count=F("failed_count") + tried + untried,
                    deferred_count=Greatest(F("deferred_count") - tried, 0),
                )


def close_finished(*, now: datetime | None = None) -> None:
    """Finish runs with nothing left to send and mailings with nothing left.

    Deliveries of a mailing whose end time passed are not sent any more
    (nothing is sent after `end_at`): they fail with a note saying so.
    """
    now = now or timezone.now()
    _fail_past_end(now)
    with transaction.atomic():
        open_deliveries = Delivery.objects.open().filter(run=OuterRef("pk"))
        Run.objects.filter(~Exists(open_deliveries), status=Run.Status.RUNNING).update(
            status=Run.Status.FINISHED, finished_at=now
        )
        Mailing.objects.filter(end_at__lte=now, next_run_at__isnull=False).update(
            next_run_at=None
        )
        open_runs = Run.objects.open().filter(mailing=OuterRef("pk"))
        finished = (
            Mailing.objects.filter(
                ~Exists(open_runs),
                Q(status=Mailing.Status.RUNNING, next_run_at__isnull=True)
                | Q(end_at__lte=now),
            )
            .exclude(status=Mailing.Status.FINISHED)
            .update(status=Mailing.Status.FINISHED, updated_at=now)
        )
        if finished:
            # update() sends no signals: the home page's active count changed.
            site_figures_invalidate()
