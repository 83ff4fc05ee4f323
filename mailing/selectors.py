"""Reads of mailing data. Every customer read is scoped to its owner.

Lists carry their statistics as annotations computed by the database (one
query for the page, never one per row).
"""

from datetime import timedelta

from django.db.models import (
    Count,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from mailing.figures import site_figures
from mailing.models import (
    Client,
    Delivery,
    Mailing,
    Message,
    Run,
    Suppression,
    normalize_email,
)

__all__ = [
    "site_figures",
    "client_list",
    "client_get",
    "clients_with_suppression",
    "suppression_list",
    "suppression_get",
    "suppression_for",
    "suppression_reasons",
    "message_list",
    "message_get",
    "mailing_list",
    "mailing_get",
    "mailing_runs",
    "mailing_progress",
    "delivery_log",
    "customer_figures",
    "customer_stats",
    "users_with_stats",
]

SENT = Delivery.Status.SENT
FAILED = Delivery.Status.FAILED
CLIENT_SORTS = {
    "email": "email",
    "-email": "-email",
    "name": "full_name",
    "-name": "-full_name",
    "created": "created_at",
    "-created": "-created_at",
}


def client_list(*, owner, search: str = "", sort: str = "") -> QuerySet[Client]:
    """The owner's clients, filtered by a text in address, name or comment."""
    clients = Client.objects.filter(owner=owner)
    if search:
        clients = clients.filter(
            Q(email__icontains=search)
            | Q(full_name__icontains=search)
            | Q(comment__icontains=search)
        )
    return clients.order_by(CLIENT_SORTS.get(sort, "email"), "pk")


def client_get(*, owner, pk: int) -> Client:
    """The owner's client, or Http404 (also for another user's client)."""
    return get_object_or_404(Client, owner=owner, pk=pk)


def clients_with_suppression(clients: QuerySet[Client]) -> QuerySet[Client]:
    """Adds `suppression_reason` to each client: the reason its address is
    on the owner's suppression list, or None. A subquery on the unique
    (owner, email) index, so a page of clients stays one query."""
    reason = Suppression.objects.filter(
        owner_id=OuterRef("owner_id"), email=OuterRef("email")
    ).values("reason")[:1]
    return clients.annotate(suppression_reason=Subquery(reason))


# Suppressions --------------------------------------------------------------

# An IN list of this many addresses stays under every backend's limit on
# query parameters (SQLite's is the lowest).
_IN_CHUNK = 900


def suppression_list(*, owner, search: str = "", reason: str = "") -> QuerySet:
    """The owner's suppression list, newest first, optionally filtered by a
    text in the address and by reason.

    Addresses are stored in lower case, so a case-sensitive LIKE on the
    lowered text finds what ILIKE would without upper-casing every row: a
    quarter of the time at 150,000 entries.
    """
    entries = Suppression.objects.filter(owner=owner)
    if reason in Suppression.Reason.values:
        entries = entries.filter(reason=reason)
    if search := normalize_email(search):
        entries = entries.filter(email__contains=search)
    return entries.order_by("-created_at", "-pk")


def suppression_get(*, owner, pk: int) -> Suppression:
    """The owner's entry, or Http404 (also for another user's entry)."""
    return get_object_or_404(Suppression, owner=owner, pk=pk)


def suppression_for(*, owner, email: str) -> Suppression | None:
    """The owner's entry for an address, or None when it is not suppressed."""
    return Suppression.objects.filter(owner=owner, email=normalize_email(email)).first()


def suppression_reasons(*, owner, emails) -> dict[str, str]:
    """{address: reason} for those of `emails` on the owner's list (the
    addresses given normalised), a query per 900 addresses."""
    emails = list(emails)
    found = {}
    for start in range(0, len(emails), _IN_CHUNK):
        found.update(
            Suppression.objects.filter(
                owner=owner, email__in=emails[start : start + _IN_CHUNK]
            ).values_list("email", "reason")
        )
    return found


def message_list(*, owner) -> QuerySet[Message]:
    # Meta.ordering does not apply to a GROUP BY query: order explicitly.
    return (
        Message.objects.filter(owner=owner)
        .annotate(mailing_count=Count("mailings"))
        .order_by("-created_at", "-pk")
    )


def message_get(*, owner, pk: int) -> Message:
    return get_object_or_404(Message, owner=owner, pk=pk)


def _mailing_stats(mailings: QuerySet[Mailing]) -> QuerySet[Mailing]:
    """Adds sent, failed, last_sent_at and client_count to each mailing."""
    clients = (
        Mailing.clients.through.objects.filter(mailing_id=OuterRef("pk"))
        .order_by()
        .values("mailing_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    return (
        mailings.select_related("message", "owner")
        .annotate(
            sent=Count("runs__deliveries", filter=Q(runs__deliveries__status=SENT)),
            failed=Count("runs__deliveries", filter=Q(runs__deliveries__status=FAILED)),
            last_sent_at=Max(
                "runs__deliveries__last_attempt_at",
                filter=Q(runs__deliveries__status=SENT),
            ),
            client_count=Coalesce(
                Subquery(clients, output_field=IntegerField()), Value(0)
            ),
        )
        .order_by("-created_at", "-pk")
    )


def mailing_list(*, owner, status: str = "") -> QuerySet[Mailing]:
    """The owner's mailings with their statistics."""
    mailings = Mailing.objects.filter(owner=owner)
    if status:
        mailings = mailings.filter(status=status)
    return _mailing_stats(mailings)


def mailing_list_all(*, owner_id=None) -> QuerySet[Mailing]:
    """Every mailing with statistics (managers only; callers check)."""
    mailings = Mailing.objects.all()
    if owner_id:
        mailings = mailings.filter(owner_id=owner_id)
    return _mailing_stats(mailings)


def mailing_get(*, owner, pk: int) -> Mailing:
    return get_object_or_404(_mailing_stats(Mailing.objects.filter(owner=owner)), pk=pk)


def mailing_runs(*, mailing: Mailing) -> QuerySet[Run]:
    """The mailing's runs, newest first, with a count per delivery status,
    all in one aggregate query."""
    counts = {
        status: Count("deliveries", filter=Q(deliveries__status=status))
        for status in Delivery.Status.values
    }
    return mailing.runs.annotate(total=Count("deliveries"), **counts)


def mailing_progress(*, mailing: Mailing) -> dict:
    """The state of the mailing's open runs, for the progress bar."""
    open_runs = mailing_runs(mailing=mailing).exclude(status=Run.Status.FINISHED)
    totals = {status: 0 for status in Delivery.Status.values}
    total = 0
    for run in open_runs:
        total += run.total
        for status in totals:
            totals[status] += getattr(run, status)
    done = totals[SENT] + totals[FAILED]
    return {
        "running": total > 0,
        "total": total,
        "done": done,
        "percent": round(100 * done / total) if total else 100,
        **totals,
    }


def delivery_log(
    *, mailing: Mailing, status: str = "", text: str = "", run_id=None
) -> QuerySet[Delivery]:
    """The delivery log of a mailing, newest run first, optionally filtered
    by status, by a text in the server's reply (or the address), by run."""
    deliveries = Delivery.objects.filter(run__mailing=mailing).select_related("run")
    if status in Delivery.Status.values:
        deliveries = deliveries.filter(status=status)
    if text:
        deliveries = deliveries.filter(
            Q(server_response__icontains=text) | Q(email__icontains=text)
        )
    if run_id:
        deliveries = deliveries.filter(run_id=run_id)
    return deliveries.order_by("-run__scheduled_for", "pk")


def customer_figures(*, owner, now=None) -> dict:
    """The dashboard: clients, mailings by status, deliveries of the last 30
    days (three queries, whatever the numbers)."""
    now = now or timezone.now()
    by_status = dict(
        Mailing.objects.filter(owner=owner)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    recent = Delivery.objects.filter(
        run__mailing__owner=owner, last_attempt_at__gte=now - timedelta(days=30)
    ).aggregate(
        sent=Count("pk", filter=Q(status=SENT)),
        failed=Count("pk", filter=Q(status=FAILED)),
    )
    return {
        "clients": Client.objects.filter(owner=owner).count(),
        "mailings": {
            status: by_status.get(status, 0) for status in Mailing.Status.values
        },
        "mailings_total": sum(by_status.values()),
        "sent_30d": recent["sent"],
        "failed_30d": recent["failed"],
    }


def customer_stats(*, owner) -> dict:
    """All-time sent, failed, success rate and last send of a customer."""
    stats = Delivery.objects.filter(run__mailing__owner=owner).aggregate(
        sent=Count("pk", filter=Q(status=SENT)),
        failed=Count("pk", filter=Q(status=FAILED)),
        last_sent_at=Max("last_attempt_at", filter=Q(status=SENT)),
    )
    stats["success_rate"] = success_rate(stats["sent"], stats["failed"])
    return stats


def users_with_stats() -> QuerySet:
    """Every user with their all-time sent, failed and last send, for the
    managers' user list (one query with the page)."""
    from django.contrib.auth import get_user_model

    path = "mailings__runs__deliveries"
    return (
        get_user_model()
        .objects.annotate(
            sent=Count(path, filter=Q(**{f"{path}__status": SENT})),
            failed=Count(path, filter=Q(**{f"{path}__status": FAILED})),
            last_sent_at=Max(
                f"{path}__last_attempt_at", filter=Q(**{f"{path}__status": SENT})
            ),
        )
        .order_by("email")
    )


def success_rate(sent: int, failed: int) -> float | None:
    """Sent out of sent + failed, in percent; None before anything ended."""
    done = (sent or 0) + (failed or 0)
    return round(100 * sent / done, 1) if done else None
