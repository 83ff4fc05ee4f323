"""The managers' side of the reputation guard in the Wagtail admin: the
report of every customer's bounce and complaint rates, and the action that
lifts a customer's pause (accounts' confirm-then-act page)."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets import ListingButton

from accounts import roles
from accounts.admin_actions import (
    AdminAction,
    action_title,
    action_url,
    register_action,
)
from accounts.models import User
from deliverability.reputation import sending_resume
from deliverability.views import reputation_report

register_action(
    "resume_sending",
    AdminAction(
        model=User,
        target_arg="user",
        permission=roles.BLOCK_USER,
        service=sending_resume,
        title=gettext_lazy("Resume sending"),
        question=gettext_lazy(
            "Resume this customer's sending? Their mailings send again, and "
            "their bounce and complaint rates are counted afresh from now."
        ),
        confirm=gettext_lazy("Yes, resume"),
        done=gettext_lazy("Sending resumed."),
        index_url_name="wagtailsnippets_accounts_user:list",
    ),
)


@hooks.register("register_snippet_listing_buttons")
def _resume_button(snippet, user, next_url=None):
    if (
        isinstance(snippet, User)
        and snippet.sending_paused_at
        and user.has_perm(roles.BLOCK_USER)
    ):
        yield ListingButton(
            action_title("resume_sending"),
            url=action_url("resume_sending", snippet.pk, next_url or ""),
            icon_name="resubmit",
            priority=6,
        )


@hooks.register("register_admin_urls")
def _reputation_urls():
    return [path("reputation/", reputation_report, name="reputation_report")]


class _ManagersMenuItem(MenuItem):
    def is_shown(self, request):
        return roles.is_manager(request.user)


@hooks.register("register_admin_menu_item")
def _reputation_menu_item():
    return _ManagersMenuItem(
        gettext_lazy("Bounces and complaints"),
        reverse("reputation_report"),
        name="reputation",
        icon_name="warning",
        order=151,
    )
