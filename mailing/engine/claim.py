"""Claiming deliveries with a lease, and keeping the lease alive.

Work is claimed, never assumed. A claim is one transaction that selects due
rows with `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; other dispatchers
skip the locked rows instead of waiting for them) and marks them `sending`
with a lease and the claim's token (`claimed_by`). On SQLite the settings
open every transaction with `BEGIN IMMEDIATE`, so a claim holds the
database's write lock from its first read and two claims queue up instead of
overlapping; the update is also conditional and the rows actually won are
read back. A row still `sending` after its lease expired belongs to a dead
dispatcher and is claimed again; a live dispatcher renews the lease of every
row it holds (the heartbeat), so a slow server never lets its work be taken
twice.
"""

import logging
import threading
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from mailing.models import Delivery, Suppression

logger = logging.getLogger("mailing.engine")

# Ids per statement where a backend limits parameters (SQLite).
CHUNK = 500

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
    "client__attributes",
    "client__unsubscribed_at",
    "suppressed",
)


def claim_deliveries(
    *, limit: int, token: str, lease_seconds: float, run_ids=None
) -> list[dict]:
    """Take up to `limit` due deliveries; they are ours until the lease ends.

    Marks them `sending` with `claimed_by=token`. Each row returned carries
    `token` and `suppressed`: the reason its address is on the owner's
    suppression list, if it is.
    """
    now = timezone.now()
    qs = Delivery.objects.claimable(now)
    if run_ids is not None:
        qs = qs.filter(run_id__in=run_ids)
    qs = qs.annotate(
        # One probe of the unique (owner, email) index per row.
        suppressed=Subquery(
            Suppression.objects.filter(
                owner_id=OuterRef("run__mailing__owner_id"), email=OuterRef("email")
            ).values("reason")[:1]
        )
    )
    with transaction.atomic():
        rows = list(
            # No ORDER BY: any due rows will do, and the partial index of
            # open deliveries then serves the claim without walking past
            # every row already sent.
            qs.select_for_update(skip_locked=True, of=("self",))
            .order_by()
            .values(*_CLAIM_FIELDS)[:limit]
        )
        if rows:
            rows = _mark_claimed(
                rows, now=now, token=token, lease_seconds=lease_seconds
            )
    for row in rows:
        row["token"] = token
    return rows


def _mark_claimed(rows, *, now, token, lease_seconds) -> list[dict]:
    """Mark the selected rows ours; the rows actually won."""
    ids = [row["pk"] for row in rows]
    expires = now + timedelta(seconds=lease_seconds)
    if connection.vendor == "postgresql":
        # This transaction's SELECT ... FOR UPDATE locked the rows: nothing
        # changed them since, so the update goes by id alone (the primary
        # key). The ids as one array: as an IN list, the ORM and the driver
        # spent a Python call on each of a batch's 500 parameters (a third
        # of a claim's CPU).
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {Delivery._meta.db_table}
                    SET status = %s, claimed_by = %s, lease_expires_at = %s
                    WHERE id = ANY(%s::bigint[])""",
                [Delivery.Status.SENDING, token, expires, ids],
            )
            won = cursor.rowcount
    else:
        # SQLite holds its write lock from the first read; the update still
        # re-checks the row's own state, without the joins.
        own_state = Q(
            status__in=[Delivery.Status.PENDING, Delivery.Status.DEFERRED]
        ) | Q(status=Delivery.Status.SENDING, lease_expires_at__lt=now)
        won = (
            Delivery.objects.filter(own_state, pk__in=ids)
            .order_by()
            .update(
                status=Delivery.Status.SENDING,
                claimed_by=token,
                lease_expires_at=expires,
            )
        )
    if won == len(rows):
        return rows
    # Without row locks someone else may have taken a few first.
    mine = set(
        Delivery.objects.filter(pk__in=ids, claimed_by=token).values_list(
            "pk", flat=True
        )
    )
    return [row for row in rows if row["pk"] in mine]


def not_sendable(row: dict) -> str | None:
    """Why a claimed delivery must not be sent any more, or None."""
    if row["client_id"] is None:
        return "Not sent: the client was deleted."
    if row["client__unsubscribed_at"]:
        return "Not sent: the client unsubscribed."
    if row["suppressed"]:
        reason = Suppression.Reason(row["suppressed"]).label.lower()
        return f"Not sent: the address is suppressed ({reason})."
    return None


class Holdings:
    """The deliveries this dispatcher holds: claimed, result not yet stored.

    The main thread adds a claim, the senders mark each row settled (its
    result is known and journaled), the writer removes what it stored, and
    the heartbeat renews the lease of what is left.
    """

    def __init__(self, *, low_water: int):
        self._changed = threading.Condition()
        self._tokens: dict[int, str] = {}
        self._unsettled = 0
        # `settled()` wakes the main thread only when the senders' work runs
        # short (or out): once per message would cost a thread switch each.
        self._low_water = low_water

    def add(self, rows: list[dict]) -> None:
        with self._changed:
            for row in rows:
                self._tokens[row["pk"]] = row["token"]
            self._unsettled += len(rows)

    def settled(self) -> None:
        """One more row's result is known (and journaled)."""
        with self._changed:
            self._unsettled -= 1
            if self._unsettled in (self._low_water - 1, 0):
                self._changed.notify_all()

    def remove(self, pks) -> None:
        with self._changed:
            for pk in pks:
                self._tokens.pop(pk, None)
            self._changed.notify_all()

    def __len__(self) -> int:
        return len(self._tokens)

    @property
    def unsettled(self) -> int:
        """Rows claimed whose result is not known yet: the senders' work."""
        return self._unsettled

    def snapshot(self) -> tuple[list[int], set[str]]:
        with self._changed:
            return list(self._tokens), set(self._tokens.values())

    def wait(self, ready, timeout: float) -> None:
        """Until `ready(self)` is true, or `timeout` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: ready(self), timeout)


def renew_leases(holdings: Holdings, *, lease_seconds: float, db_lock) -> None:
    """The heartbeat: push back the lease of every row still held.

    Only rows still carrying one of our tokens: a row whose lease ran out
    and that another dispatcher took is not taken back.
    """
    ids, tokens = holdings.snapshot()
    if not ids:
        return
    expires = timezone.now() + timedelta(seconds=lease_seconds)
    try:
        with db_lock:
            for start in range(0, len(ids), CHUNK):
                Delivery.objects.filter(
                    pk__in=ids[start : start + CHUNK],
                    claimed_by__in=tokens,
                    status=Delivery.Status.SENDING,
                ).update(lease_expires_at=expires)
    except DatabaseError:
        # The lease has two more beats to go; try again at the next.
        logger.warning("Renewing the leases failed", exc_info=True)
