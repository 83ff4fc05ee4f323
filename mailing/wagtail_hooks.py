"""The managers' screens in the Wagtail admin: every mailing, every user and
the moderation log, read-only, with disable/enable and block/unblock.

Nobody creates, edits or deletes mailings or users here: the viewsets use a
read-only permission policy (customers change their own objects in the
customer area, superusers edit users in Wagtail's own Users screen). Every
action goes through a service that checks the permission again and records
a ModerationEvent.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from wagtail import hooks
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
            can_block=actor.has_perm("accounts.block_user")
            and user.pk != actor.pk
            and (actor.is_superuser or not user.is_superuser),
            stats=selectors.customer_stats(owner=user),
            events=user.moderation_events.select_related("actor")[:20],
        )
        return context


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
    ]
    list_filter = ["owner", "status", "is_active"]
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


# Actions: GET asks for confirmation, POST acts ---------------------------

_ACTIONS = {
    "disable": (
        Mailing,
        "mailing.disable_mailing",
        services.mailing_disable,
        gettext_lazy("Disable this mailing? It sends nothing until re-enabled."),
        gettext_lazy("Mailing disabled."),
    ),
    "enable": (
        Mailing,
        "mailing.disable_mailing",
        services.mailing_enable,
        gettext_lazy("Enable this mailing again? Its next due run starts."),
        gettext_lazy("Mailing enabled."),
    ),
    "block": (
        User,
        "accounts.block_user",
        services.user_block,
        gettext_lazy("Block this user? They cannot log in and their mailings stop."),
        gettext_lazy("User blocked."),
    ),
    "unblock": (
        User,
        "accounts.block_user",
        services.user_unblock,
        gettext_lazy("Unblock this user? They can log in again."),
        gettext_lazy("User unblocked."),
    ),
}


# The confirmation page's title and button.
_ACTION_TITLES = {
    "disable": gettext_lazy("Disable"),
    "enable": gettext_lazy("Enable"),
    "block": gettext_lazy("Block"),
    "unblock": gettext_lazy("Unblock"),
}
_ACTION_CONFIRMS = {
    "disable": gettext_lazy("Yes, disable"),
    "enable": gettext_lazy("Yes, enable"),
    "block": gettext_lazy("Yes, block"),
    "unblock": gettext_lazy("Yes, unblock"),
}


def _message_of(error: Exception) -> str:
    """The text of a service's refusal, without a ValidationError's list
    brackets."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


def _index_url(model) -> str:
    if model is Mailing:
        return reverse(MailingViewSet().get_url_name("list"))
    return reverse(UserViewSet().get_url_name("list"))


@require_http_methods(["GET", "POST"])
def moderation_action(request, action, pk):
    if action not in _ACTIONS:
        # Only those who moderate learn which actions exist.
        if not request.user.has_perm("mailing.disable_mailing") and not (
            request.user.has_perm("accounts.block_user")
        ):
            raise PermissionDenied
        raise Http404(f"There is no moderation action “{action}”.")
    model, permission, service, question, done = _ACTIONS[action]
    if not request.user.has_perm(permission):
        raise PermissionDenied
    target = get_object_or_404(model, pk=pk)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()[:1000]
        kwargs = {"mailing": target} if model is Mailing else {"user": target}
        try:
            service(actor=request.user, reason=reason, **kwargs)
        except (PermissionDenied, ValidationError) as error:
            messages.error(request, _message_of(error) or _("Not allowed."))
        else:
            messages.success(request, done)
        return redirect(next_url or _index_url(model))
    return TemplateResponse(
        request,
        "mailing/admin/confirm_action.html",
        {
            "target": target,
            "question": question,
            "action": action,
            "title": _ACTION_TITLES[action],
            "confirm": _ACTION_CONFIRMS[action],
            "next": next_url,
            "cancel_url": next_url or _index_url(model),
        },
    )


@hooks.register("register_admin_urls")
def _moderation_urls():
    return [
        path(
            "moderation/<str:action>/<int:pk>/",
            moderation_action,
            name="mailing_moderation_action",
        ),
    ]


def action_url(action: str, pk: int, next_url: str = "") -> str:
    url = reverse("mailing_moderation_action", args=[action, pk])
    return f"{url}?next={next_url}" if next_url else url


@hooks.register("register_snippet_listing_buttons")
def _moderation_buttons(snippet, user, next_url=None):
    if isinstance(snippet, Mailing) and user.has_perm("mailing.disable_mailing"):
        action = "enable" if not snippet.is_active else "disable"
        yield ListingButton(
            _ACTION_TITLES[action],
            url=action_url(action, snippet.pk, next_url or ""),
            icon_name="cog",
            priority=5,
        )
    if isinstance(snippet, User) and user.has_perm("accounts.block_user"):
        if snippet.pk == user.pk or (snippet.is_superuser and not user.is_superuser):
            return  # the service refuses these; no button that cannot work
        action = "unblock" if not snippet.is_active else "block"
        yield ListingButton(
            _ACTION_TITLES[action],
            url=action_url(action, snippet.pk, next_url or ""),
            icon_name="lock" if action == "block" else "lock-open",
            priority=5,
        )


@hooks.register("construct_main_menu")
def _managers_see_moderation_only(request, menu_items):
    """A manager who is not also an editor sees only the moderation menu."""
    user = request.user
    if user.is_superuser or roles.is_content_manager(user):
        return
    if roles.is_manager(user):
        menu_items[:] = [item for item in menu_items if item.name == "moderation"]
