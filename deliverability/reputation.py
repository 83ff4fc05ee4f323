"""The reputation guard: a customer whose list has gone bad is paused before
the platform's sending reputation suffers.

Over the last REPUTATION_WINDOW_DAYS (counted from the last time a manager
lifted a pause, if that is later), a hard-bounce rate above
REPUTATION_HARD_BOUNCE_RATE (once at least REPUTATION_HARD_BOUNCE_MIN
deliveries are in the window) or a complaint rate above
REPUTATION_COMPLAINT_RATE (at least REPUTATION_COMPLAINT_MIN) pauses all of
the customer's sending (`User.sending_paused_at`; the engine's claim and the
planner send nothing for a paused owner), records a ModerationEvent, and
e-mails the managers. The customer sees why on every page of their area; a
manager lifts the pause in the admin (`sending_resume`).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts import roles
from accounts.models import User
from deliverability.selectors import reputation_rates
from mailing.models import ModerationEvent

logger = logging.getLogger("deliverability.reputation")


def _window_start(owner_id: int, now):
    start = now - timedelta(days=settings.REPUTATION_WINDOW_DAYS)
    resumed = ModerationEvent.objects.filter(
        target_user_id=owner_id, action=ModerationEvent.Action.RESUME_SENDING
    ).aggregate(last=Max("created_at"))["last"]
    return max(start, resumed) if resumed else start


def pause_reason(row) -> str:
    """Why a customer's figures pass a limit (English, for the record and
    the managers), or "" when they do not."""
    if (
        row.attempted >= settings.REPUTATION_HARD_BOUNCE_MIN
        and row.bounce_rate > settings.REPUTATION_HARD_BOUNCE_RATE
    ):
        return (
            f"{row.hard_bounces} of {row.attempted} deliveries in the last "
            f"{settings.REPUTATION_WINDOW_DAYS} days were hard bounces "
            f"({row.bounce_rate:.1%}; the limit is "
            f"{settings.REPUTATION_HARD_BOUNCE_RATE:.1%})."
        )
    if (
        row.attempted >= settings.REPUTATION_COMPLAINT_MIN
        and row.complaint_rate > settings.REPUTATION_COMPLAINT_RATE
    ):
        return (
            f"{row.complaints} of {row.attempted} deliveries in the last "
            f"{settings.REPUTATION_WINDOW_DAYS} days drew a spam complaint "
            f"({row.complaint_rate:.2%}; the limit is "
            f"{settings.REPUTATION_COMPLAINT_RATE:.2%})."
        )
    return ""


def reputation_check(*, owner_ids=None, now=None) -> list[User]:
    """Pause every active, not yet paused customer (of `owner_ids`, or all)
    whose figures pass a limit; the customers paused now."""
    now = now or timezone.now()
    candidates = User.objects.filter(
        is_active=True, sending_paused_at__isnull=True, mailings__isnull=False
    )
    if owner_ids is not None:
        candidates = candidates.filter(pk__in=owner_ids)
    paused = []
    for owner_id in candidates.values_list("pk", flat=True).distinct():
        since = _window_start(owner_id, now)
        row = reputation_rates(since=since, owner_ids=[owner_id]).first()
        reason = pause_reason(row) if row is not None else ""
        if reason:
            paused.append(sending_pause(user=row, reason=reason, now=now))
    return paused


@transaction.atomic
def sending_pause(*, user: User, reason: str, now=None) -> User:
    """Pause all of `user`'s sending for `reason`: the field the engine
    checks, a ModerationEvent (no actor: the guard did it), and an e-mail to
    the managers once the transaction commits."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.sending_paused_at = now or timezone.now()
    user.sending_paused_reason = reason
    user.save(update_fields=["sending_paused_at", "sending_paused_reason"])
    ModerationEvent.objects.create(
        actor=None,
        action=ModerationEvent.Action.PAUSE_SENDING,
        target_user=user,
        reason=reason,
    )
    transaction.on_commit(lambda: _tell_managers(user, reason))
    logger.warning("Paused the sending of %s: %s", user.email, reason)
    return user


def _tell_managers(user: User, reason: str) -> None:
    managers = list(
        User.objects.filter(groups__name=roles.MANAGERS, is_active=True)
        .values_list("email", flat=True)
        .distinct()
    )
    if not managers:
        return
    # The managers' mail is in English, as the moderation log is.
    send_mail(
        subject=f"Sending paused for {user.email} (bounces or complaints)",
        message=(
            f"Mailsite paused all sending of {user.email}.\n\n{reason}\n\n"
            "Their mailings stay paused until a manager lifts the pause "
            "(Users in the admin: Resume sending), once the customer has "
            "cleaned their list.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=managers,
        fail_silently=True,
    )


@transaction.atomic
def sending_resume(*, actor: User, user: User, reason: str = "") -> User:
    """A manager lifts the guard's pause: the customer's mailings send again,
    and the window starts anew from now (the old bounces do not pause them
    again at once). Raises PermissionDenied for anyone but a manager."""
    if not actor.has_perm(roles.BLOCK_USER):
        raise PermissionDenied
    user.sending_paused_at = None
    user.sending_paused_reason = ""
    user.save(update_fields=["sending_paused_at", "sending_paused_reason"])
    ModerationEvent.objects.create(
        actor=actor,
        action=ModerationEvent.Action.RESUME_SENDING,
        target_user=user,
        reason=reason,
    )
    return user
