"""Mailing's part when the accounts app blocks or unblocks a user.

accounts cannot import mailing (mailing's models point at its User), so it
sends `accounts.signals.user_moderated` and mailing keeps its moderation log
and its cached figures here. The engine needs no call: it sends nothing for
a mailing whose owner is inactive.
"""

from accounts.signals import user_moderated
from mailing.figures import site_figures_invalidate
from mailing.models import ModerationEvent

_ACTIONS = {
    "block": ModerationEvent.Action.BLOCK_USER,
    "unblock": ModerationEvent.Action.UNBLOCK_USER,
}


def record_user_moderation(sender, *, actor, user, action, reason, **kwargs):
    """Log the block or unblock; drop the cached site figures, whose
    "active mailings" may depend on whether an owner can send."""
    ModerationEvent.objects.create(
        actor=actor, action=_ACTIONS[action], target_user=user, reason=reason
    )
    site_figures_invalidate()


def connect_receivers() -> None:
    """Connect to accounts' signals (called from MailingConfig.ready)."""
    user_moderated.connect(record_user_moderation, dispatch_uid="mailing_moderation")
