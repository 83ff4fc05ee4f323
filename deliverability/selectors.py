"""Reads of the deliverability app; every customer read is scoped to its
owner (another owner's row is a 404)."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from deliverability.models import Sender, SendingDomain


def sending_domain_list(*, owner: User) -> QuerySet[SendingDomain]:
    return SendingDomain.objects.filter(owner=owner)


def sending_domain_get(*, owner: User, pk: int) -> SendingDomain:
    return get_object_or_404(SendingDomain, owner=owner, pk=pk)


def sending_domains_lost(*, owner: User) -> QuerySet[SendingDomain]:
    """Domains that were verified and lost it (the notice on the list)."""
    return (
        sending_domain_list(owner=owner)
        .filter(verified_at__isnull=True)
        .exclude(lost_reason="")
    )


def sender_list(*, owner: User) -> QuerySet[Sender]:
    return Sender.objects.filter(owner=owner).select_related("domain")


def sender_get(*, owner: User, pk: int) -> Sender:
    return get_object_or_404(Sender, owner=owner, pk=pk)


def senders_usable(*, owner: User) -> QuerySet[Sender]:
    """The senders a mailing of `owner` may choose: on a verified domain."""
    return sender_list(owner=owner).filter(domain__verified_at__isnull=False)
