"""The Wagtail account page sends staff to the site's own account pages;
managers block and unblock users from the admin's user listing.

The user listing itself (with each user's sending figures) is part of
mailing's Moderation menu; the actions and who may use them live here.
"""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks

from accounts import roles, services
from accounts.admin_actions import action_button, moderation_action, register_actions
from accounts.models import User


@hooks.register("register_account_menu_item")
def change_email_address(request):
    return {
        "url": reverse("account_email"),
        "label": _("Change e-mail address"),
        "help_text": _("A new address is used once you confirm it from its inbox."),
    }


@hooks.register("register_account_menu_item")
def change_password(request):
    return {
        "url": reverse("account_change_password"),
        "label": _("Change password"),
        "help_text": _("You are told by e-mail when your password changes."),
    }


# Moderation of users -------------------------------------------------------

_USER_LIST = "wagtailsnippets_accounts_user:list"

register_actions(
    model=User,
    target_arg="user",
    permission=roles.BLOCK_USER,
    index_url_name=_USER_LIST,
    block={
        "service": services.user_block,
        "title": _("Block"),
        "question": _("Block this user? They cannot log in and their mailings stop."),
        "confirm": _("Yes, block"),
        "done": _("User blocked."),
        "serious": True,
    },
    unblock={
        "service": services.user_unblock,
        "title": _("Unblock"),
        "question": _("Unblock this user? They can log in again."),
        "confirm": _("Yes, unblock"),
        "done": _("User unblocked."),
    },
)


@hooks.register("register_admin_urls")
def _moderation_urls():
    return [
        path(
            "moderation/<str:action>/<int:pk>/",
            moderation_action,
            name="moderation_action",
        ),
    ]


@hooks.register("register_snippet_listing_buttons")
def _block_buttons(snippet, user, next_url=None):
    if not isinstance(snippet, User) or not roles.may_moderate_user(user, snippet):
        return  # no button that cannot work
    action = "unblock" if not snippet.is_active else "block"
    icon = "lock" if action == "block" else "lock-open"
    yield action_button(action, snippet.pk, next_url, icon)
