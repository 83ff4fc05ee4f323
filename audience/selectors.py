"""Reads of lists and subscriptions, every customer read scoped to its owner.

This is the only module of audience that mailing may import (the mailing
form offers the owner's lists and segments, the client page shows a
client's lists, the planner selects the lists' subscribed members that the
mailing's segment selects).
"""

from collections.abc import Iterator

from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404

from audience.custom_fields import FieldSchema, rule_of
from audience.models import (
    ClientImport,
    CustomField,
    MailingList,
    Segment,
    Subscription,
)
from audience.segments import conditions_q, conditions_stale, rule_describe
from mailing.models import Client

__all__ = [
    "mailing_list_list",
    "mailing_list_get",
    "mailing_list_public",
    "list_members",
    "list_subscribed_client_ids",
    "client_subscriptions",
    "subscriptions_for_email",
    "custom_field_list",
    "custom_field_get",
    "custom_field_keys",
    "field_schema",
    "list_form_fields",
    "list_form_schema",
    "FieldSchema",
    "segment_list",
    "segment_get",
    "segment_clients",
    "segment_count",
    "segment_count_capped",
    "segment_sample",
    "segment_rules_described",
    "segment_export_rows",
    "segment_problems",
    "client_import_get",
    "client_import_list",
    "client_export_rows",
    "subscribed_members_by_list",
]


def mailing_list_list(*, owner) -> QuerySet[MailingList]:
    """The owner's lists by name, with their kept member counts."""
    return MailingList.objects.filter(owner=owner)


def mailing_list_get(*, owner, pk: int) -> MailingList:
    """One of the owner's lists; 404 for anyone else's."""
    return get_object_or_404(MailingList, owner=owner, pk=pk)


def mailing_list_public(*, public_id: str) -> MailingList:
    """The list behind a public sign-up form URL (404 when there is none,
    or when its owner is blocked)."""
    return get_object_or_404(
        MailingList.objects.select_related("owner"),
        public_id=public_id,
        owner__is_active=True,
    )


def list_members(*, mailing_list: MailingList, status: str = "") -> QuerySet:
    """A list's subscriptions with their clients, newest first (the members
    page; paged with mailing.paging's capped count)."""
    members = Subscription.objects.filter(mailing_list=mailing_list).select_related(
        "client"
    )
    if status:
        members = members.filter(status=status)
    return members.order_by("-created_at", "-id")


def list_subscribed_client_ids(*, list_ids, segment: Segment | None = None) -> QuerySet:
    """The client ids of the subscribed members of the given lists (not
    made distinct: the planner's UNION does that), as a QuerySet the planner
    compiles into its INSERT ... SELECT. With `segment`, only the members it
    selects: one probe of the client's primary key per member, whatever the
    statistics say."""
    members = Subscription.objects.filter(
        mailing_list_id__in=list_ids, status=Subscription.Status.SUBSCRIBED
    )
    if segment is not None:
        members = members.filter(
            Exists(segment_clients(segment=segment).filter(pk=OuterRef("client_id")))
        )
    return members.order_by().values("client_id")


def client_subscriptions(*, client) -> QuerySet[Subscription]:
    """A client's subscriptions with their lists (the client page)."""
    return (
        Subscription.objects.filter(client=client)
        .select_related("mailing_list")
        .order_by("mailing_list__name")
    )


def subscriptions_for_email(*, owner_id: int, email: str) -> QuerySet[Subscription]:
    """Every subscription of one owner's address, whichever client row holds
    it (the preference centre)."""
    return (
        Subscription.objects.filter(
            mailing_list__owner_id=owner_id, client__email=email
        )
        .select_related("mailing_list")
        .order_by("mailing_list__name")
    )


def custom_field_list(*, owner) -> QuerySet[CustomField]:
    """The owner's custom fields in their order."""
    return CustomField.objects.filter(owner=owner).order_by("position", "pk")


def custom_field_get(*, owner, pk: int) -> CustomField:
    """One of the owner's custom fields; 404 for anyone else's."""
    return get_object_or_404(CustomField, owner=owner, pk=pk)


def custom_field_keys(*, owner_id: int) -> list[str]:
    """The keys of the owner's custom fields (the placeholders they add)."""
    return list(
        CustomField.objects.filter(owner_id=owner_id).values_list("key", flat=True)
    )


def field_schema(*, owner=None, owner_id: int | None = None) -> FieldSchema:
    """The owner's custom fields as coercion and forms use them: one query,
    then `FieldSchema.coerce` converts any number of rows without another."""
    fields = CustomField.objects.filter(
        owner_id=owner_id if owner is None else owner.pk
    ).order_by("position", "pk")
    return FieldSchema(rule_of(custom_field) for custom_field in fields)


def list_form_fields(*, mailing_list: MailingList) -> QuerySet[CustomField]:
    """The custom fields a list's sign-up form asks, in the owner's order."""
    return mailing_list.form_fields.order_by("position", "pk")


def list_form_schema(*, mailing_list: MailingList) -> FieldSchema:
    """`list_form_fields` as the sign-up form coerces them."""
    fields = list_form_fields(mailing_list=mailing_list)
    return FieldSchema(rule_of(custom_field) for custom_field in fields)


def segment_list(*, owner) -> QuerySet[Segment]:
    """The owner's segments by name."""
    return Segment.objects.filter(owner=owner)


def segment_get(*, owner, pk: int) -> Segment:
    """One of the owner's segments; 404 for anyone else's."""
    return get_object_or_404(Segment, owner=owner, pk=pk)


def segment_clients(*, segment: Segment) -> QuerySet[Client]:
    """The owner's clients the segment selects (audience.segments says how
    each rule reads), unordered."""
    return Client.objects.filter(
        conditions_q(segment.conditions, owner=segment.owner),
        owner_id=segment.owner_id,
    ).order_by()


def segment_count(*, segment: Segment) -> int:
    """How many clients the segment selects now (exact; one query)."""
    return segment_clients(segment=segment).count()


def segment_problems(*, segment: Segment) -> list[str]:
    """Why the segment's stored rules no longer hold (a field or list
    deleted since); empty when they do."""
    return conditions_stale(segment.conditions, owner=segment.owner)


def segment_count_capped(*, segment: Segment, cap: int) -> tuple[int, bool]:
    """How many clients the segment selects, counting at most `cap` of them
    (a page's bounded read), and whether the count stopped there."""
    counted = segment_clients(segment=segment).values("pk")[: cap + 1].count()
    return min(counted, cap), counted > cap


def segment_sample(*, segment: Segment, size: int = 20) -> list[Client]:
    """Some of the segment's clients (whichever the database finds first,
    shown by address): a look at who is in it, not a listing."""
    sample = list(segment_clients(segment=segment)[:size])
    return sorted(sample, key=lambda client: client.email)


def segment_rules_described(*, segment: Segment) -> list[str]:
    """The segment's rules in words."""
    labels = dict(
        CustomField.objects.filter(owner_id=segment.owner_id).values_list(
            "key", "label"
        )
    )
    list_names = dict(
        MailingList.objects.filter(owner_id=segment.owner_id).values_list("pk", "name")
    )
    rules = (segment.conditions or {}).get("rules") or []
    return [rule_describe(rule, labels=labels, list_names=list_names) for rule in rules]


def segment_export_rows(*, segment: Segment) -> Iterator[list[str]]:
    """The rows of a CSV export of the segment's clients: a header of
    email, full name and each custom field's key, then a row per client by
    id, read `EXPORT_CHUNK` at a time (a million rows stream in flat
    memory), values written as `client_export_rows` writes them."""
    keys = list(
        CustomField.objects.filter(owner_id=segment.owner_id)
        .order_by("position", "pk")
        .values_list("key", flat=True)
    )
    yield ["email", "full name", *keys]
    rows = (
        segment_clients(segment=segment)
        .order_by("pk")
        .values_list("email", "full_name", "attributes")
    )
    for email, full_name, attributes in rows.iterator(chunk_size=EXPORT_CHUNK):
        values = attributes if isinstance(attributes, dict) else {}
        yield [email, full_name, *(_export_value(values.get(key)) for key in keys)]


def client_import_get(*, owner, pk: int) -> ClientImport:
    """One of the owner's imports; 404 for anyone else's."""
    return get_object_or_404(ClientImport, owner=owner, pk=pk)


def client_import_list(*, owner, limit: int = 10) -> QuerySet[ClientImport]:
    """The owner's latest imports, newest first."""
    return ClientImport.objects.filter(owner=owner).order_by("-created_at", "-pk")[
        :limit
    ]


EXPORT_CHUNK = 2000


def _export_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def client_export_rows(*, owner, mailing_list=None) -> Iterator[list[str]]:
    """The rows of a CSV export of the owner's clients (or of the
    subscribed members of one of their lists): a header of email, full
    name, comment and each custom field's key, then a row per client.

    Read `EXPORT_CHUNK` rows at a time from a server-side cursor: memory
    stays flat at a million clients. The header's names import back.
    """
    fields = list(CustomField.objects.filter(owner=owner).values_list("key", flat=True))
    yield ["email", "full name", "comment", *fields]
    clients = Client.objects.filter(owner=owner)
    if mailing_list is not None:
        clients = clients.filter(
            pk__in=Subscription.objects.filter(
                mailing_list=mailing_list, status=Subscription.Status.SUBSCRIBED
            ).values("client_id")
        )
    rows = clients.order_by("pk").values_list(
        "email", "full_name", "comment", "attributes"
    )
    for email, full_name, comment, attributes in rows.iterator(chunk_size=EXPORT_CHUNK):
        yield [
            email,
            full_name,
            comment,
            *(_export_value(attributes.get(key)) for key in fields),
        ]


def subscribed_members_by_list(*, list_ids) -> QuerySet:
    """(list id, client id) of each subscribed member of the given lists:
    an index-only read of each list's members (the exact recipient count
    of mailings whose lists are small, mailing.selectors)."""
    return (
        Subscription.objects.filter(
            mailing_list_id__in=list_ids, status=Subscription.Status.SUBSCRIBED
        )
        .order_by()
        .values_list("mailing_list_id", "client_id")
    )
