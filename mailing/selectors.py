"""Reads of mailing data. Every customer read is scoped to its owner.

Lists carry their statistics as annotations computed by the database (one
query for the page, never one per row). Statistics come from the counters
that the engine keeps on each run (`Run.sent_count` and the others), never
from counting deliveries on a page view.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db import OperationalError, connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from audience.selectors import list_subscribed_client_ids, subscribed_members_by_list
from mailing.counts import client_count, mailing_client_counts
from mailing.figures import site_figures
from mailing.models import (
    Client,
    Delivery,
    Mailing,
    Message,
    Run,
    Suppression,
    grouped,
    normalize_email,
)

__all__ = [
    "site_figures",
    "mailing_recipients_sql",
    "recipient_count",
    "RecipientCount",
    "client_list",
    "client_get",
    "clients_with_suppression",
    "suppression_list",
    "suppression_get",
    "suppression_for",
    "suppression_reasons",
    "client_search",
    "client_matches",
    "message_list",
    "message_get",
    "mailing_list",
    "mailing_get",
    "with_client_counts",
    "RecipientEstimate",
    "mailing_recipient_estimate",
    "with_recipient_estimates",
    "mailing_runs",
    "mailing_progress",
    "delivery_log",
    "delivery_log_page",
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


# A search lists at most this many matches (40 pages) and says "1,000+" when
# there are more.
FEW_MATCHES = 1000
# How many clients, in the list's own order, a search reads first (the
# picker, which wants 21 matches, fewer). If they hold enough matches the
# search is over; if not, they tell how dense the matches are, which decides
# how to look further (see `_matching_ids`).
SEARCH_WINDOW = 500
PICKER_WINDOW = 200
# What a trigram index search costs before it yields a row, in rows read: a
# text made of trigrams that every client has ("customer 99" among a million
# "Customer <n>") walks a few thousand index pages.
_TRIGRAM_COST = 2000
_TRIGRAM_TEXT = re.compile(r"[^\W_]{3}")


def _text_match(text: str) -> Q:
    return (
        Q(email__icontains=text)
        | Q(full_name__icontains=text)
        | Q(comment__icontains=text)
    )


def _window_matches(clients, order, match, *, window: int, want: int) -> list[int]:
    """Ids of the matches among the first `window` clients in the list's order
    (at most `want`): one index scan that stops at `want` matches."""
    rows = (
        clients.order_by(*order)
        .annotate(matched=ExpressionWrapper(match, output_field=BooleanField()))
        .values_list("pk", "matched")[:window]
    )
    sql, params = rows.query.sql_with_params()
    # The outer query neither joins nor sorts, so it keeps the inner order.
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT w."pk" FROM ({sql}) w WHERE w."matched" LIMIT %s',
            [*params, want],
        )
        return [pk for (pk,) in cursor.fetchall()]


def _matching_ids(*, owner, text: str, order: list[str], want: int, window: int):
    """The ids of the first `want` of the owner's clients matching the text,
    in the given order.

    Two ways find them: an ordered scan of the owner's clients that filters
    each row (reads `want / density` rows: quick for a common text, a read of
    the whole address book for a rare one), or the trigram indexes, which
    fetch every match and sort them (quick for a rare text, slow for one in
    every other client). The planner cannot tell which from the text's
    statistics alone, so the first `window` clients in the list's order are
    read first: they either hold enough matches (the answer), or give the
    density, and the cheaper way is then forced on this one statement."""
    clients = Client.objects.filter(owner=owner)
    match = _text_match(text)
    found = _window_matches(clients, order, match, window=window, want=want)
    if len(found) >= want:
        return found
    total = client_count(owner=owner)  # cached
    if total <= window:
        return found
    density = len(found) / window
    ordered_rows = want / density if density else float("inf")
    matches = clients.filter(match).order_by(*order).values_list("pk", flat=True)[:want]
    if connection.vendor != "postgresql":
        return list(matches)
    if not _TRIGRAM_TEXT.search(text):
        # pg_trgm takes its trigrams from runs of three letters or digits;
        # for a text without one ("99") the index would return every client.
        # The planner knows that, and its statistics of such short texts
        # are better than a sample of a few hundred clients.
        return list(matches)
    # Each way is forced by taking the others away from the planner: it
    # would otherwise trust its estimate of how many clients match.
    if ordered_rows < _TRIGRAM_COST + density * total:
        plan = ("bitmapscan", "seqscan", "sort")
    else:
        plan = ("indexscan", "seqscan")
    in_callers_transaction = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT "
            + ", ".join(
                f"set_config('enable_{method}', 'off', true)" for method in plan
            )
        )
        ids = list(matches)
        if in_callers_transaction:
            # The settings last until the outermost transaction ends.
            for method in plan:
                cursor.execute(f"RESET enable_{method}")
    return ids


class ClientMatches(Sequence):
    """The matches of a client search in the list's order, for a paginator:
    their ids are known (at most FEW_MATCHES + 1, so its length is also the
    capped count), and a slice fetches only the clients of that page."""

    def __init__(self, clients: QuerySet[Client], ids: list[int]):
        self.clients = clients
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        ids = self.ids[index] if isinstance(index, slice) else [self.ids[index]]
        found = self.clients.in_bulk(ids)
        rows = [found[pk] for pk in ids if pk in found]
        return rows if isinstance(index, slice) else rows[0]


def _client_order(sort: str) -> list[str]:
    return [CLIENT_SORTS.get(sort, "email"), "pk"]


def client_list(*, owner, search: str = "", sort: str = "") -> QuerySet[Client]:
    """The owner's clients in the chosen order, filtered by a text in
    address, name or comment (at most the first FEW_MATCHES + 1 matches)."""
    clients = Client.objects.filter(owner=owner)
    if search:
        clients = clients.filter(
            pk__in=client_matches(owner=owner, search=search, sort=sort).ids
        )
    return clients.order_by(*_client_order(sort))


def client_matches(
    *, owner, search: str, sort: str = "", with_suppression: bool = False
) -> ClientMatches:
    """The first FEW_MATCHES + 1 of the owner's clients whose address, name
    or comment contains the text (case-insensitive), in the list's order,
    without counting further; with `with_suppression`, each fetched client
    carries `suppression_reason` (see `clients_with_suppression`)."""
    ids = _matching_ids(
        owner=owner,
        text=search,
        order=_client_order(sort),
        want=FEW_MATCHES + 1,
        window=SEARCH_WINDOW,
    )
    clients = Client.objects.filter(owner=owner)
    if with_suppression:
        clients = clients_with_suppression(clients)
    return ClientMatches(clients, ids)


def client_search(*, owner, text: str, limit: int = 20) -> tuple[list[Client], bool]:
    """The mailing form's picker: the first `limit` of the owner's clients
    by address whose address, name or comment contains the text, and whether
    more match (nothing is counted)."""
    text = text.strip()
    order = _client_order("email")
    if not text:
        clients = list(Client.objects.filter(owner=owner).order_by(*order)[: limit + 1])
        return clients[:limit], len(clients) > limit
    ids = _matching_ids(
        owner=owner, text=text, order=order, want=limit + 1, window=PICKER_WINDOW
    )
    found = Client.objects.filter(owner=owner).in_bulk(ids[:limit])
    return [found[pk] for pk in ids[:limit] if pk in found], len(ids) > limit


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


def _ids_sql(ids: QuerySet) -> tuple[str, list]:
    """The SQL of a QuerySet of ids; an empty set (`pk__in=[]`) as a SELECT
    of no row."""
    try:
        return ids.query.sql_with_params()
    except EmptyResultSet:
        return "SELECT CAST(NULL AS bigint) AS recipient WHERE 1 = 0", []


def recipients_sql(
    *, owner_id: int, picked, list_ids, segment=None, many: bool = False
) -> tuple:
    """One SQL set of the recipients (`id`, `email`): the `picked` client
    ids UNION the subscribed members of `list_ids` (those `segment`
    selects, when given), each once, without unsubscribed clients and the
    owner's suppressed addresses. `picked` and `list_ids` are QuerySets of
    ids (or a list of list ids); returns (sql, params).

    Each recipient id probes the clients' primary key (the LATERAL subquery
    with its LIMIT is never flattened into a join): the planner cannot pick
    a nested loop over the whole recipient set per client when the
    statistics of a just-imported address book say it is tiny. The NOT
    EXISTS is one probe of the unique (owner, email) index per client:
    whichever client row (or list) brings a suppressed address back, it is
    not planned.

    With `many` (a set near the size of the address book), the owner's
    clients are walked once instead and kept when their id is in the set:
    a semi-join, so each client comes once without de-duplicating the set,
    and a hash or merge join instead of one probe per recipient (the caller
    rules out nested loops for the statement, whatever the statistics say).
    """
    picked_sql, picked_params = _ids_sql(
        picked.order_by().values(recipient=F(picked.query.values_select[0]))
    )
    members_sql, members_params = _ids_sql(
        list_subscribed_client_ids(list_ids=list_ids, segment=segment).values(
            recipient=F("client_id")
        )
    )
    not_suppressed = f"""
        NOT EXISTS (
            SELECT 1 FROM {Suppression._meta.db_table} s
            WHERE s.owner_id = %s AND s.email = c.email
        )
    """
    if many:
        sql = f"""
            SELECT c.id, c.email FROM {Client._meta.db_table} c
            WHERE c.owner_id = %s AND c.unsubscribed_at IS NULL
            AND c.id IN ({picked_sql} UNION ALL {members_sql})
            AND {not_suppressed}
        """
        return sql, [owner_id, *picked_params, *members_params, owner_id]
    client = f"""
        SELECT c.id, c.email FROM {Client._meta.db_table} c
        WHERE c.id = r.recipient AND c.owner_id = %s AND c.unsubscribed_at IS NULL
    """
    if connection.vendor == "postgresql":
        client = f"CROSS JOIN LATERAL ({client} LIMIT 1) c"
    else:
        # SQLite has no LATERAL; its planner probes the key of a join anyway.
        client = (
            f"JOIN {Client._meta.db_table} c ON c.id = r.recipient "
            "AND c.owner_id = %s AND c.unsubscribed_at IS NULL"
        )
    sql = f"""
        SELECT c.id, c.email
        FROM ({picked_sql} UNION {members_sql}) r
        {client}
        WHERE {not_suppressed}
    """
    return sql, [*picked_params, *members_params, owner_id, owner_id]


def mailing_recipients_sql(*, mailing: Mailing, many: bool = False) -> tuple:
    """The recipients of a run of `mailing` (recipients_sql): its picked
    clients and its lists' subscribed members, narrowed by its segment.
    `many` as in recipients_sql."""
    return recipients_sql(
        owner_id=mailing.owner_id,
        picked=Mailing.clients.through.objects.filter(mailing_id=mailing.pk).values(
            "client_id"
        ),
        list_ids=Mailing.lists.through.objects.filter(mailing_id=mailing.pk).values(
            "mailinglist_id"
        ),
        segment=mailing.segment,
        many=many,
    )


def mailing_recipient_bound(*, mailing: Mailing) -> int:
    """At most how many a run of `mailing` reaches, from kept counters and
    no member read: its lists' subscribed members plus its picked
    clients."""
    members = mailing.lists.aggregate(total=Sum("subscribed_count"))["total"] or 0
    picked = Mailing.clients.through.objects.filter(mailing_id=mailing.pk).count()
    return members + picked


# A recipient count past this is shown as "more than …".
RECIPIENT_COUNT_CAP = 100_000
# The form's count waits this long for the exact figure (PostgreSQL), then
# shows the bound the lists' kept counts give.
RECIPIENT_COUNT_TIMEOUT_MS = 300


@dataclass(frozen=True)
class RecipientCount:
    """A mailing's recipient count before it is saved: `exact`, `more_than`
    (the count stopped at the cap) or `up_to` (counting took too long; the
    bound is the chosen lists' subscribed members plus the picked
    clients)."""

    count: int
    kind: str


def _counted(sql: str, params: list, cap: int) -> int | None:
    """COUNT of `sql`'s rows up to cap + 1; None when PostgreSQL gave up
    after RECIPIENT_COUNT_TIMEOUT_MS."""
    statement = f"SELECT COUNT(*) FROM ({sql} LIMIT %s) counted"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Short and bounded: JIT compiling alone would cost more.
                cursor.execute("SET LOCAL jit = off")
                cursor.execute(
                    "SET LOCAL statement_timeout = %s", [RECIPIENT_COUNT_TIMEOUT_MS]
                )
            cursor.execute(statement, [*params, cap + 1])
            count = cursor.fetchone()[0]
            if connection.vendor == "postgresql":
                # An enclosing transaction keeps SET LOCAL past this block.
                cursor.execute("SET LOCAL statement_timeout = DEFAULT")
                cursor.execute("SET LOCAL jit = DEFAULT")
            return count
    except OperationalError:
        return None


def recipient_count(
    *,
    owner,
    client_ids=(),
    all_clients=False,
    lists=(),
    segment=None,
    cap: int = RECIPIENT_COUNT_CAP,
) -> RecipientCount:
    """How many would receive a mailing with these recipients, as a run
    would plan them (recipients_sql): exact when the database finds it
    quickly, else a bound (RecipientCount says which). `lists` are the
    owner's MailingList objects."""
    lists = list(lists)
    client_ids = list(client_ids)
    list_ids = [mailing_list.pk for mailing_list in lists]
    if all_clients:
        bound = client_count(owner=owner)
    else:
        bound = sum(item.subscribed_count for item in lists) + len(client_ids)
    if bound <= cap:
        # Few enough to gather, drop the duplicates and count them all.
        clients = Client.objects.filter(owner=owner)
        if not all_clients:
            clients = clients.filter(pk__in=client_ids)
        sql, params = recipients_sql(
            owner_id=owner.pk,
            picked=clients.values("pk"),
            list_ids=list_ids,
            segment=segment,
        )
    else:
        # Many: walk the address book and stop at the cap.
        sql, params = _receiving_clients(
            owner, client_ids, all_clients, list_ids, segment
        ).query.sql_with_params()
    counted = _counted(sql, params, cap)
    if counted is None:
        return RecipientCount(bound, "up_to")
    if counted > cap:
        return RecipientCount(cap, "more_than")
    return RecipientCount(counted, "exact")


def _receiving_clients(owner, client_ids, all_clients, list_ids, segment):
    """The owner's clients a mailing with these recipients reaches, as one
    filter over the clients (recipients_sql gathers them instead)."""
    suppressed = Suppression.objects.filter(owner=owner, email=OuterRef("email"))
    clients = Client.objects.filter(owner=owner, unsubscribed_at__isnull=True).exclude(
        Exists(suppressed)
    )
    if all_clients:
        return clients.order_by().values("pk")
    members = Exists(
        list_subscribed_client_ids(list_ids=list_ids, segment=segment).filter(
            client_id=OuterRef("pk")
        )
    )
    return clients.filter(Q(pk__in=client_ids) | members).order_by().values("pk")


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
    """The mailings with their statistics (`MailingQuerySet.with_stats`),
    message and owner, newest first. `with_client_counts` adds
    client_count."""
    return (
        mailings.with_stats()
        .select_related("message", "owner")
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


def mailing_get(*, owner, pk: int, with_stats: bool = True) -> Mailing:
    """The owner's mailing (Http404 for another user's), with statistics
    unless `with_stats` is off."""
    mailings = Mailing.objects.filter(owner=owner)
    if not with_stats:
        return get_object_or_404(mailings, pk=pk)
    mailing = get_object_or_404(_mailing_stats(mailings), pk=pk)
    mailing_client_counts([mailing])
    return mailing


def with_client_counts(mailings) -> list[Mailing]:
    """The mailings as a list, each with `client_count` (cached counts)."""
    mailings = list(mailings)
    mailing_client_counts(mailings)
    return mailings


# An exact count of a mailing's recipients reads the rows of its picks and
# lists' members: done while they hold at most this many rows in all (per
# page view, over every mailing the page shows); past it, the page says
# "up to" the sum of the counts it keeps.
RECIPIENTS_EXACT_ROWS = 10_000


@dataclass(frozen=True)
class RecipientEstimate:
    """How many clients a mailing will reach: its picked clients and the
    subscribed members of its lists, each once (before the suppression
    list, which the planner applies when it sends).

    `count` is exact when `exact`; otherwise it is an upper bound (the sum
    of the picks and the lists' kept counts, a client on two lists counted
    twice), and `at_least` the largest of them. `narrowed`: a segment
    narrows the lists, which only a count of the segment can tell (the
    mailing form's live count).
    """

    count: int
    exact: bool = True
    at_least: int = 0
    narrowed: bool = False


def _estimate_from_counts(picked: int, lists: list[int], narrowed: bool):
    """The estimate from the kept counts alone, and whether an exact count
    would change it (None: the kept counts are the answer)."""
    total = picked + sum(lists)
    if narrowed:
        return RecipientEstimate(total, exact=False, narrowed=True), False
    largest = max([picked, *lists])
    if total == largest:  # one source holds every recipient
        return RecipientEstimate(total), False
    return RecipientEstimate(total, exact=False, at_least=largest), True


def _exact_recipient_counts(mailings: list[Mailing]) -> dict[int, int]:
    """The de-duplicated recipient count of each given mailing (its lists
    prefetched): its picks and its lists' members read by their indexes
    (two queries for all of them, at most RECIPIENTS_EXACT_ROWS rows) and
    each client counted once."""
    recipients: dict[int, set[int]] = {mailing.pk: set() for mailing in mailings}
    picked = (
        Mailing.clients.through.objects.filter(mailing_id__in=list(recipients))
        .order_by()
        .values_list("mailing_id", "client_id")
    )
    for mailing_id, client_id in picked:
        recipients[mailing_id].add(client_id)
    members: dict[int, list[int]] = {}
    list_ids = {each.pk for mailing in mailings for each in mailing.lists.all()}
    for list_id, client_id in subscribed_members_by_list(list_ids=list_ids):
        members.setdefault(list_id, []).append(client_id)
    for mailing in mailings:
        for each in mailing.lists.all():
            recipients[mailing.pk].update(members.get(each.pk, ()))
    return {pk: len(clients) for pk, clients in recipients.items()}


def with_recipient_estimates(mailings) -> list[Mailing]:
    """The mailings as a list, each with `client_count` (its picks) and
    `recipients` (a RecipientEstimate): the lists with their kept counts
    prefetched in one query (the pages show them too), and exact counts in
    two more for the mailings whose picks and lists hold at most
    RECIPIENTS_EXACT_ROWS rows in all."""
    mailings = with_client_counts(mailings)
    prefetch_related_objects(mailings, "lists")
    budget, to_count = RECIPIENTS_EXACT_ROWS, []
    by_pk = {mailing.pk: mailing for mailing in mailings}
    for mailing in mailings:
        estimate, countable = _estimate_from_counts(
            mailing.client_count,
            [each.subscribed_count for each in mailing.lists.all()],
            narrowed=mailing.segment_id is not None,
        )
        mailing.recipients = estimate
        if countable and estimate.count <= budget:
            budget -= estimate.count
            to_count.append(mailing)
    if to_count:
        for pk, count in _exact_recipient_counts(to_count).items():
            by_pk[pk].recipients = RecipientEstimate(count)
    return mailings


def mailing_recipient_estimate(*, mailing: Mailing) -> RecipientEstimate:
    """How many clients the mailing will reach (see RecipientEstimate):
    exact when a single source holds them (no lists; one list and no picks)
    or when they are few enough to count, else "up to" the kept counts."""
    return with_recipient_estimates([mailing])[0].recipients


def mailing_last_test_send(*, mailing: Mailing):
    """The mailing's latest "Send a test" (its outcome once sent), or None."""
    return mailing.test_sends.order_by("-created_at", "-pk").first()


def mailing_runs(*, mailing: Mailing) -> QuerySet[Run]:
    """The mailing's runs, newest first, with their counters under the names
    the pages use: total, pending (waiting or being sent), sent, deferred,
    failed, and of the sent ones bounced and complained."""
    return mailing.runs.annotate(
        total=F("delivery_count"),
        sent=F("sent_count"),
        failed=F("failed_count"),
        deferred=F("deferred_count"),
        bounced=F("bounced_count"),
        complained=F("complained_count"),
        pending=F("delivery_count")
        - F("sent_count")
        - F("failed_count")
        - F("deferred_count"),
    )


def mailing_progress(*, mailing: Mailing) -> dict:
    """The state of the mailing's open runs, for the progress bar: one
    aggregate over their counters."""
    totals = mailing.runs.open().aggregate(
        total=Coalesce(Sum("delivery_count"), 0),
        sent=Coalesce(Sum("sent_count"), 0),
        failed=Coalesce(Sum("failed_count"), 0),
        deferred=Coalesce(Sum("deferred_count"), 0),
    )
    total = totals["total"]
    done = totals["sent"] + totals["failed"]
    return {
        "running": total > 0,
        "done": done,
        "percent": round(100 * done / total) if total else 100,
        "pending": total - done - totals["deferred"],
        **totals,
    }


LOG_PER_PAGE = 50
# A text filter reads at most this many deliveries per page (newest first)
# and says where it stopped, so that a text found nowhere in ten million
# deliveries costs one window, not a scan of the whole log.
LOG_TEXT_WINDOW = 50_000


@dataclass(frozen=True)
class LogPage:
    """One page of the delivery log. `older` is the cursor of the next page
    (None on the last); `searched_to` is set when a text search stopped at
    the end of its window before filling the page: the cursor to go on
    searching from."""

    deliveries: list
    older: str | None = None
    searched_to: str | None = None
    is_first: bool = True

    @property
    def window(self) -> str:
        """How many deliveries a text search reads per page, for the page."""
        return grouped(LOG_TEXT_WINDOW)


def _log_cursor(delivery) -> str:
    return f"{delivery.run_id}.{delivery.pk}"


def _parse_cursor(value) -> tuple[int, int] | None:
    run_id, _, pk = str(value or "").partition(".")
    if run_id.isdigit() and pk.isdigit():
        return int(run_id), int(pk)
    return None


class _KeysetBound(Func):
    """(run_id, id) < (run, pk), or another comparison: one row comparison,
    which the (run, id) index answers as a range."""

    output_field = BooleanField()

    def __init__(self, cursor: tuple[int, int], operator: str = "<"):
        super().__init__(F("run_id"), F("pk"), Value(cursor[0]), Value(cursor[1]))
        self.operator = operator

    def as_sql(self, compiler, connection, **extra_context):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        left, right = f"({parts[0]}, {parts[1]})", f"({parts[2]}, {parts[3]})"
        return f"{left} {self.operator} {right}", params


def delivery_log(
    *,
    mailing: Mailing,
    status: str = "",
    text: str = "",
    run_id=None,
    before=None,
    since=None,
    runs=None,
) -> QuerySet[Delivery]:
    """The delivery log of a mailing, newest run first (runs are planned in
    the order of their occurrences), newest delivery first, optionally
    filtered by status, by a text in the server's reply (or the address), by
    run, and to the deliveries before the cursor `before` and from the
    cursor `since` (cursors are `(run_id, id)`). The run ids are read first,
    so the log is one ordered range scan over the (run, id) or (run, status,
    id) index whatever the size of the table. `runs`: the mailing's run
    ids, when the caller has them."""
    if runs is None:
        runs = list(mailing.runs.values_list("pk", flat=True))
    if run_id:
        runs = [pk for pk in runs if str(pk) == str(run_id)]
    # Runs outside the cursors are left out of the scan, not filtered.
    if before:
        runs = [pk for pk in runs if pk <= before[0]]
    if since:
        runs = [pk for pk in runs if pk >= since[0]]
    deliveries = Delivery.objects.filter(run_id__in=runs).select_related("run")
    for cursor, operator, lookup in ((before, "<", "lt"), (since, ">=", "gte")):
        if cursor:
            deliveries = deliveries.filter(_KeysetBound(cursor, operator))
            if runs == [cursor[0]]:
                # The same bound on the id alone: the planner estimates it
                # well, and the row comparison not at all.
                deliveries = deliveries.filter(**{f"pk__{lookup}": cursor[1]})
    if status in Delivery.Status.values:
        deliveries = deliveries.filter(status=status)
    if text:
        deliveries = deliveries.filter(
            Q(server_response__icontains=text) | Q(email__icontains=text)
        )
    return deliveries.order_by("-run_id", "-pk")


def delivery_log_page(
    *,
    mailing: Mailing,
    status: str = "",
    text: str = "",
    run_id=None,
    after: str = "",
    per_page: int = LOG_PER_PAGE,
) -> LogPage:
    """A page of `delivery_log` after the cursor `after` (keyset paging: no
    count, no offset, the same cost on the hundredth page as on the first).
    A text is looked for in the next LOG_TEXT_WINDOW deliveries only: the
    window's end is read from the index first, so the text filter runs over
    a bounded range."""
    cursor = _parse_cursor(after)
    filters = {
        "mailing": mailing,
        "status": status,
        "run_id": run_id,
        "runs": list(mailing.runs.values_list("pk", flat=True)),
    }
    log = delivery_log(**filters, before=cursor)
    window_end = None
    if text:
        ends = log.values_list("run_id", "pk")[LOG_TEXT_WINDOW - 1 : LOG_TEXT_WINDOW]
        window_end = next(iter(ends), None)
        log = delivery_log(**filters, text=text, before=cursor, since=window_end)
    rows = list(log[: per_page + 1])
    deliveries = rows[:per_page]
    if len(rows) > per_page:
        return LogPage(
            deliveries=deliveries,
            older=_log_cursor(deliveries[-1]),
            is_first=cursor is None,
        )
    return LogPage(
        deliveries=deliveries,
        searched_to=window_end and f"{window_end[0]}.{window_end[1]}",
        is_first=cursor is None,
    )


def customer_figures(*, owner, now=None) -> dict:
    """The dashboard: clients, mailings by status, and what the runs started
    in the last 30 days sent and failed (from the run counters; a run that
    started 31 days ago and is still sending is left out)."""
    now = now or timezone.now()
    by_status = dict(
        Mailing.objects.filter(owner=owner)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    recent = Run.objects.filter(
        mailing__owner=owner, started_at__gte=now - timedelta(days=30)
    ).aggregate(
        sent=Coalesce(Sum("sent_count"), 0), failed=Coalesce(Sum("failed_count"), 0)
    )
    return {
        "clients": client_count(owner=owner),
        "mailings": {
            status: by_status.get(status, 0) for status in Mailing.Status.values
        },
        "mailings_total": sum(by_status.values()),
        "sent_30d": recent["sent"],
        "failed_30d": recent["failed"],
    }


def customer_stats(*, owner) -> dict:
    """All-time sent, failed, success rate and last send of a customer: sums
    of the counters of their mailings' runs."""
    stats = Run.objects.filter(mailing__owner=owner).aggregate(
        sent=Coalesce(Sum("sent_count"), 0),
        failed=Coalesce(Sum("failed_count"), 0),
        last_sent_at=Max("last_sent_at"),
    )
    stats["success_rate"] = success_rate(stats["sent"], stats["failed"])
    return stats


def users_with_stats() -> QuerySet:
    """Every user with their all-time sent, failed and last send, for the
    managers' user list: subqueries over the run counters of each user's
    mailings."""

    def runs_of(field, aggregate):
        runs = (
            Run.objects.filter(mailing__owner_id=OuterRef("pk"))
            .order_by()
            .values("mailing__owner_id")
            .annotate(value=aggregate(field))
            .values("value")
        )
        return Subquery(runs)

    return (
        get_user_model()
        .objects.annotate(
            sent=Coalesce(runs_of("sent_count", Sum), 0),
            failed=Coalesce(runs_of("failed_count", Sum), 0),
            last_sent_at=runs_of("last_sent_at", Max),
        )
        .order_by("email")
    )


def success_rate(sent: int, failed: int) -> float | None:
    """Sent out of sent + failed, in percent; None before anything ended."""
    done = (sent or 0) + (failed or 0)
    return round(100 * sent / done, 1) if done else None
