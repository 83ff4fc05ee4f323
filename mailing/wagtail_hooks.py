"""The managers' screens in the Wagtail admin: every mailing, every user and
the moderation log, read-only, with disable/enable and block/unblock.

Nobody creates, edits or deletes mailings or users here: the viewsets use a
read-only permission policy (customers change their own objects in the
customer area, superusers edit users in Wagtail's own Users screen). Every
action goes through a service that checks the permission again and records
a ModerationEvent; the confirm-then-act page, and blocking users, are
accounts' (accounts.admin_actions, accounts.wagtail_hooks).
"""

import django_filters
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn
from wagtail.admin.widgets import ListingButton
from wagtail.permission_policies.base import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import (
    InspectView,
    SnippetViewSet,
    SnippetViewSetGroup,
)

from accounts import roles
from accounts.admin_actions import (
    AdminAction,
    action_title,
    action_url,
    register_action,
)
from mailing import selectors, services
from mailing.models import Delivery, Mailing, ModerationEvent

User = get_user_model()
_WRITE_ACTIONS = {"add", "change", "delete", "copy", "lock", "unlock", "publish"}


class ReadOnlyPermissionPolicy(ModelPermissionPolicy):
    """Model permissions, minus every write: the admin only shows these."""

    def user_has_permission(self, user, action):
        if action in _WRITE_ACTIONS:
            return False
        return super().user_has_permission(user, action)

    def users_with_any_permission(self, actions):
        actions = [a for a in actions if a not in _WRITE_ACTIONS]
        if not actions:
            return User.objects.none()
        return super().users_with_any_permission(actions)


# Users keep Wagtail's model policy (superusers manage them in Users; managers
# hold only view_user and block_user).
register_permission_policy(Mailing, ReadOnlyPermissionPolicy(Mailing))
register_permission_policy(ModerationEvent, ReadOnlyPermissionPolicy(ModerationEvent))


class ReadableInspectView(InspectView):
    """Wagtail's inspect view, with yes/no and a dash in the manager's
    language where it would print Python's True, False and None."""

    def get_field_display_value(self, field_name, field):
        value = super().get_field_display_value(field_name, field)
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        return "—" if value is None else value


class YesNoColumn(BooleanColumn):
    """A boolean column whose icon is titled yes/no in the manager's
    language (Wagtail's titles it True/False)."""

    cell_template_name = "mailing/admin/boolean_cell.html"


class MailingInspectView(ReadableInspectView):
    """A mailing with its runs (counts per status) and its delivery log."""

    template_name = "mailing/admin/mailing_inspect.html"

    def get_object(self, queryset=None):
        mailing = get_object_or_404(selectors.mailing_list_all(), pk=self.pk)
        return selectors.with_client_counts([mailing])[0]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        mailing = self.object
        status = self.request.GET.get("status", "")
        text = self.request.GET.get("q", "").strip()
        log = selectors.delivery_log_page(
            mailing=mailing,
            status=status,
            text=text,
            after=self.request.GET.get("after", ""),
        )
        context.update(
            runs=selectors.mailing_runs(mailing=mailing)[:20],
            log=log,
            status=status,
            q=text,
            statuses=Delivery.Status.choices,
            success_rate=selectors.success_rate(mailing.sent, mailing.failed),
            can_disable=self.request.user.has_perm("mailing.disable_mailing"),
            events=mailing.moderation_events.select_related("actor")[:20],
        )
        return context


class UserInspectView(ReadableInspectView):
    """A user with block/unblock and the moderation events about them."""

    template_name = "mailing/admin/user_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, actor = self.object, self.request.user
        context.update(
            can_block=roles.may_moderate_user(actor, user),
            stats=selectors.customer_stats(owner=user),
            events=user.moderation_events.select_related("actor")[:20],
        )
        return context


class MailingFilterSet(WagtailFilterSet):
    # held_at set: the pre-flight check holds the mailing.
    held = django_filters.BooleanFilter(
        field_name="held_at",
        lookup_expr="isnull",
        exclude=True,
        label=gettext_lazy("Held by the pre-flight check"),
    )

    class Meta:
        model = Mailing
        fields = ["owner", "status", "is_active"]


class MailingViewSet(SnippetViewSet):
    model = Mailing
    url_prefix = "moderation/mailings"
    menu_label = gettext_lazy("Mailings")
    icon = "mail"
    inspect_view_enabled = True
    inspect_view_class = MailingInspectView
    inspect_view_fields = [
        "owner",
        "message",
        "periodicity",
        "start_at",
        "end_at",
        "status",
        "is_active",
        "is_paused",
        "next_run_at",
        "held_reason",
        "held_at",
        "created_at",
    ]
    list_display = [
        "__str__",
        "owner",
        Column("status", label=gettext_lazy("Status"), accessor="get_status_display"),
        YesNoColumn("is_active", label=gettext_lazy("Enabled")),
        DateColumn("next_run_at", label=gettext_lazy("Next run")),
        Column("sent", label=gettext_lazy("Sent")),
        Column("failed", label=gettext_lazy("Failed")),
        DateColumn("last_sent_at", label=gettext_lazy("Last send")),
        DateColumn("held_at", label=gettext_lazy("Held since")),
    ]
    filterset_class = MailingFilterSet
    search_fields = ["message__subject", "owner__email"]
    search_backend_name = None
    ordering = ["-created_at"]

    def get_queryset(self, request):
        return selectors.mailing_list_all()


class UserViewSet(SnippetViewSet):
    model = User
    url_prefix = "moderation/users"
    menu_label = gettext_lazy("Users")
    icon = "user"
    inspect_view_enabled = True
    inspect_view_class = UserInspectView
    inspect_view_fields = [
        "email",
        "full_name",
        "is_active",
        "blocked_at",
        "date_joined",
        "last_login",
    ]
    list_display = [
        "email",
        "full_name",
        YesNoColumn("is_active", label=gettext_lazy("Can log in")),
        DateColumn("blocked_at", label=gettext_lazy("Blocked")),
        DateColumn("date_joined", label=gettext_lazy("Joined")),
        Column("sent", label=gettext_lazy("Sent")),
        Column("failed", label=gettext_lazy("Failed")),
        DateColumn("last_sent_at", label=gettext_lazy("Last send")),
    ]
    list_filter = ["is_active"]
    search_fields = ["email", "full_name"]
    search_backend_name = None
    ordering = ["email"]

    def get_queryset(self, request):
        return selectors.users_with_stats()


class ModerationEventViewSet(SnippetViewSet):
    model = ModerationEvent
    url_prefix = "moderation/log"
    menu_label = gettext_lazy("Moderation log")
    icon = "history"
    inspect_view_enabled = True
    inspect_view_class = ReadableInspectView
    list_display = [
        DateColumn("created_at", label=gettext_lazy("When")),
        Column("actor", label=gettext_lazy("Who")),
        Column("action", label=gettext_lazy("What"), accessor="get_action_display"),
        Column("target_user", label=gettext_lazy("User")),
        Column("target_mailing", label=gettext_lazy("Mailing")),
        "reason",
    ]
    list_filter = ["action"]
    ordering = ["-created_at"]

    def get_queryset(self, request):
        return ModerationEvent.objects.select_related(
            "actor", "target_user", "target_mailing__message"
        )


class ModerationGroup(SnippetViewSetGroup):
    items = (MailingViewSet, UserViewSet, ModerationEventViewSet)
    menu_label = gettext_lazy("Moderation")
    menu_icon = "warning"
    menu_order = 150


register_snippet(ModerationGroup)


# Disable and enable: the confirm-then-act page is accounts' (it serves
# blocking users too).

_MAILING_LIST = "wagtailsnippets_mailing_mailing:list"

register_action(
    "disable",
    AdminAction(
        model=Mailing,
        target_arg="mailing",
        permission="mailing.disable_mailing",
        service=services.mailing_disable,
        title=gettext_lazy("Disable"),
        question=gettext_lazy(
            "Disable this mailing? It sends nothing until re-enabled."
        ),
        confirm=gettext_lazy("Yes, disable"),
        done=gettext_lazy("Mailing disabled."),
        index_url_name=_MAILING_LIST,
        serious=True,
    ),
)
register_action(
    "enable",
    AdminAction(
        model=Mailing,
        target_arg="mailing",
        permission="mailing.disable_mailing",
        service=services.mailing_enable,
        title=gettext_lazy("Enable"),
        question=gettext_lazy("Enable this mailing again? Its next due run starts."),
        confirm=gettext_lazy("Yes, enable"),
        done=gettext_lazy("Mailing enabled."),
        index_url_name=_MAILING_LIST,
    ),
)


@hooks.register("register_snippet_listing_buttons")
def _moderation_buttons(snippet, user, next_url=None):
    if isinstance(snippet, Mailing) and user.has_perm("mailing.disable_mailing"):
        action = "enable" if not snippet.is_active else "disable"
        yield ListingButton(
            action_title(action),
            url=action_url(action, snippet.pk, next_url or ""),
            icon_name="cog",
            priority=5,
        )


@hooks.register("construct_main_menu")
def _managers_see_moderation_only(request, menu_items):
    """A manager who is not also an editor sees only the moderation menu."""
    user = request.user
    if user.is_superuser or roles.is_content_manager(user):
        return
    if roles.is_manager(user):
        menu_items[:] = [
            item for item in menu_items if item.name in ("moderation", "reputation")
        ]
