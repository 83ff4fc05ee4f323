"""Reads of lists and subscriptions, every customer read scoped to its owner.

This is the only module of audience that mailing may import (the mailing
form offers the owner's lists, the client page shows a client's lists, the
planner selects the lists' subscribed members).
"""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from audience.custom_fields import FieldSchema, rule_of
from audience.models import CustomField, MailingList, Subscription

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


def list_subscribed_client_ids(*, list_ids) -> QuerySet:
    """The client ids of the subscribed members of the given lists (not
    made distinct: the planner's UNION does that), as a QuerySet the planner
    compiles into its INSERT ... SELECT."""
    return (
        Subscription.objects.filter(
            mailing_list_id__in=list_ids, status=Subscription.Status.SUBSCRIBED
        )
        .order_by()
        .values("client_id")
    )


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
