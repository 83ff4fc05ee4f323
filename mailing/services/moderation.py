"""Blocking and unblocking users (to move to the accounts app)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from mailing.figures import site_figures_invalidate
from mailing.models import ModerationEvent
from mailing.services.mailings import require_permission as _require


@transaction.atomic
def user_block(*, actor: User, user: User, reason: str = "") -> User:
    """Block a user: they cannot log in and their mailings stop sending (the
    engine sends nothing for an inactive owner). Recorded as a
    ModerationEvent. Raises PermissionDenied (no permission, oneself, or a
    superuser by a non-superuser)."""
    _require(actor, "accounts.block_user")
    if user.pk == actor.pk:
        raise PermissionDenied(_("You cannot block yourself."))
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied(_("Only a superuser can block a superuser."))
    user.is_active = False
    user.blocked_at = timezone.now()
    user.save(update_fields=["is_active", "blocked_at"])
    ModerationEvent.objects.create(
        actor=actor,
        action=ModerationEvent.Action.BLOCK_USER,
        target_user=user,
        reason=reason,
    )
    site_figures_invalidate()
    return user


@transaction.atomic
def user_unblock(*, actor: User, user: User, reason: str = "") -> User:
    """Let a blocked user log in again; their mailings resume at their next
    occurrence. Recorded as a ModerationEvent. Raises PermissionDenied."""
    _require(actor, "accounts.block_user")
    user.is_active = True
    user.blocked_at = None
    user.save(update_fields=["is_active", "blocked_at"])
    ModerationEvent.objects.create(
        actor=actor,
        action=ModerationEvent.Action.UNBLOCK_USER,
        target_user=user,
        reason=reason,
    )
    site_figures_invalidate()
    return user
