"""Writes to accounts: a user's own settings, and managers blocking and
unblocking users."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from wagtail.users.models import UserProfile

from accounts import roles
from accounts.models import User
from accounts.signals import user_moderated


@transaction.atomic
def user_set_preferences(
    *, user: User, language: str | None = None, time_zone: str | None = None
) -> User:
    """Save the user's interface language and/or time zone.

    `None` leaves a setting as it is; `""` as language means "follow the
    browser". A new zone is also given to the user's Wagtail profile, whose
    zone the admin uses (Wagtail's own language setting is left empty: the
    admin then follows ours). Raises ValidationError (and saves nothing) for a
    language not in LANGUAGES or an unknown zone name.
    """
    fields = []
    if language is not None:
        user.language = language
        fields.append("language")
    if time_zone is not None:
        user.time_zone = time_zone
        fields.append("time_zone")
    if not fields:
        return user
    user.full_clean(exclude=[f.name for f in User._meta.fields if f.name not in fields])
    user.save(update_fields=fields)
    if time_zone is not None:
        profile = UserProfile.get_for_user(user)
        if profile.current_time_zone != user.time_zone:
            profile.current_time_zone = user.time_zone
            profile.save(update_fields=["current_time_zone"])
    return user


@transaction.atomic
def user_block(*, actor: User, user: User, reason: str = "") -> User:
    """Block a user: they cannot log in and their mailings stop sending (the
    engine sends nothing for an inactive owner). Sends `user_moderated`, on
    which mailing records a ModerationEvent. Raises PermissionDenied when
    `roles.user_moderation_refusal` refuses."""
    return _user_set_blocked(actor=actor, user=user, reason=reason, blocked=True)


@transaction.atomic
def user_unblock(*, actor: User, user: User, reason: str = "") -> User:
    """Let a blocked user log in again; their mailings resume at their next
    occurrence. Sends `user_moderated` (mailing records it). Raises
    PermissionDenied when `roles.user_moderation_refusal` refuses."""
    return _user_set_blocked(actor=actor, user=user, reason=reason, blocked=False)


def _user_set_blocked(*, actor: User, user: User, reason: str, blocked: bool) -> User:
    refusal = roles.user_moderation_refusal(actor, user)
    if refusal:
        raise PermissionDenied(refusal)
    user.is_active = not blocked
    user.blocked_at = timezone.now() if blocked else None
    user.save(update_fields=["is_active", "blocked_at"])
    user_moderated.send(
        sender=User,
        actor=actor,
        user=user,
        action="block" if blocked else "unblock",
        reason=reason,
    )
    return user
