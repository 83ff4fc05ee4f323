"""Writes to a user's own account settings."""

from django.db import transaction
from wagtail.users.models import UserProfile

from accounts.models import User


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
