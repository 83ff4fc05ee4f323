"""Reads of the deliverability app; every customer read is scoped to its
owner (another owner's row is a 404)."""

from django.conf import settings
from django.db.models import Count, F, FloatField, Q, QuerySet
from django.db.models.functions import Cast, Greatest
from django.shortcuts import get_object_or_404

from accounts.models import User
from deliverability.models import Sender, SendingDomain
from mailing.models import BounceClass, Delivery


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


def reputation_rates(*, since, owner_ids=None) -> QuerySet[User]:
    """Customers with their delivery figures since `since`: `attempted`
    (deliveries that reached a mail server's verdict: sent, failed, bounced,
    complained), `hard_bounces` (refused at SMTP or reported later as a dead
    address), `complaints`, and the two rates; worst first (the managers'
    report and the reputation guard read it)."""
    attempted = Q(
        mailings__runs__deliveries__status__in=[
            Delivery.Status.SENT,
            Delivery.Status.FAILED,
            Delivery.Status.BOUNCED,
            Delivery.Status.COMPLAINED,
        ],
        mailings__runs__deliveries__last_attempt_at__gte=since,
    )
    users = (
        User.objects.all()
        if owner_ids is None
        else User.objects.filter(pk__in=owner_ids)
    )
    return (
        users.annotate(
            attempted=Count("mailings__runs__deliveries", filter=attempted),
            hard_bounces=Count(
                "mailings__runs__deliveries",
                filter=attempted
                & Q(mailings__runs__deliveries__bounce_class=BounceClass.HARD_BOUNCE),
            ),
            complaints=Count(
                "mailings__runs__deliveries",
                filter=attempted
                & Q(mailings__runs__deliveries__status=Delivery.Status.COMPLAINED),
            ),
        )
        .filter(attempted__gt=0)
        .annotate(
            bounce_rate=Cast(F("hard_bounces"), FloatField()) / F("attempted"),
            complaint_rate=Cast(F("complaints"), FloatField()) / F("attempted"),
        )
        .annotate(
            # How far past its limit the worse of the two rates is.
            severity=Greatest(
                F("bounce_rate") / max(settings.REPUTATION_HARD_BOUNCE_RATE, 1e-9),
                F("complaint_rate") / max(settings.REPUTATION_COMPLAINT_RATE, 1e-9),
            )
        )
        .order_by("-severity", "email")
    )
