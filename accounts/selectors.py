"""Reads of account data other apps need."""

from accounts.models import User


def user_language(*, user_id: int) -> str:
    """The user's saved interface language; "" when they follow the browser
    (or no longer exist)."""
    return (
        User.objects.filter(pk=user_id).values_list("language", flat=True).first() or ""
    )
