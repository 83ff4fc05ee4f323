"""Reads of lists and subscriptions, every customer read scoped to its owner.

This is the only module of audience that mailing may import (the mailing
form offers the owner's lists, the client page shows a client's lists, the
planner selects the lists' subscribed members).
"""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from audience.models import MailingList, Subscription

__all__ = [
    "mailing_list_list",
    "mailing_list_get",
    "mailing_list_public",
    "list_members",
    "list_subscribed_client_ids",
    "client_subscriptions",
    "subscriptions_for_email",
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
