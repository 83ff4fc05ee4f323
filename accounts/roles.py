"""The roles of Mailsite, as groups; migration 0002_roles creates them.

A customer is any verified user in neither group. The permissions each group
holds are listed here so that the migration, the demo data and the tests
share one source of truth.
"""

from django.utils.translation import gettext as _

MANAGERS = "Managers"
CONTENT_MANAGERS = "Content managers"
# The permission that lets a manager block and unblock users.
BLOCK_USER = "accounts.block_user"

# (app_label, codename) pairs held through Group.permissions.
MANAGER_PERMISSIONS = [
    ("wagtailadmin", "access_admin"),
    ("mailing", "view_all_mailings"),
    ("mailing", "disable_mailing"),
    ("accounts", "block_user"),
    ("accounts", "view_user"),
    ("mailing", "view_client"),
    ("mailing", "view_message"),
    ("mailing", "view_mailing"),
    ("mailing", "view_run"),
    ("mailing", "view_delivery"),
    ("mailing", "view_deliveryattempt"),
    ("mailing", "view_moderationevent"),
]

# Wagtail checks image and document permissions per collection, so these are
# granted on the root collection as well as on the group itself.
CONTENT_MANAGER_COLLECTION_PERMISSIONS = [
    ("wagtailimages", "add_image"),
    ("wagtailimages", "change_image"),
    ("wagtailimages", "choose_image"),
    ("wagtaildocs", "add_document"),
    ("wagtaildocs", "change_document"),
    ("wagtaildocs", "choose_document"),
]
CONTENT_MANAGER_PERMISSIONS = [
    ("wagtailadmin", "access_admin"),
    *CONTENT_MANAGER_COLLECTION_PERMISSIONS,
]


def is_manager(user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or user.groups.filter(name=MANAGERS).exists()
    )


def is_content_manager(user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or user.groups.filter(name=CONTENT_MANAGERS).exists()
    )


def can_access_cms(user) -> bool:
    """Whether the Wagtail admin at /cms/ is open to this user."""
    return user.is_authenticated and user.has_perm("wagtailadmin.access_admin")


def user_moderation_refusal(actor, user) -> str | None:
    """Why `actor` may not block or unblock `user`, or None when they may.

    The one home of "who may block whom": the services refuse with this
    text, the admin offers a block/unblock button only where it is None.
    Blocking needs BLOCK_USER; nobody blocks themselves (a manager
    could lock every manager out); only a superuser blocks a superuser. The
    same holds for unblocking: whoever may not block a user may not undo a
    block on them either.
    """
    if not actor.has_perm(BLOCK_USER):
        return _("You may not block or unblock users.")
    if user.pk == actor.pk:
        return _("You cannot block yourself.")
    if user.is_superuser and not actor.is_superuser:
        return _("Only a superuser can block a superuser.")
    return None


def may_moderate_user(actor, user) -> bool:
    """Whether `actor` may block or unblock `user` (see above)."""
    return user_moderation_refusal(actor, user) is None
