"""Confirm-then-act pages of the Wagtail admin: block a user, disable a
mailing.

GET asks for confirmation (and an optional reason for the moderation log),
POST calls the action's service. Each app registers its own actions here
(accounts: block and unblock; mailing: disable and enable), so one view and
one URL, /cms/moderation/<action>/<pk>/, serve them all and accounts never
imports mailing.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from wagtail.admin.widgets import ListingButton


@dataclass(frozen=True)
class AdminAction:
    """One moderation action: `service(actor=, reason=, <target_arg>=target)`
    on a `model` row, for holders of `permission`."""

    model: type
    target_arg: str
    permission: str
    service: Callable
    title: str  # the confirmation page's title and the listing button
    question: str
    confirm: str  # the confirm button
    done: str  # the message after success
    index_url_name: str  # where to go back to without a `next`
    serious: bool = False  # a red button: the action stops something


_ACTIONS: dict[str, AdminAction] = {}


def register_action(name: str, action: AdminAction) -> None:
    """Offer `action` at /cms/moderation/<name>/<pk>/ (from wagtail_hooks)."""
    _ACTIONS[name] = action


def register_actions(
    *, model: type, target_arg: str, permission: str, index_url_name: str, **actions
) -> None:
    """Register the actions on one `model` for holders of one `permission`
    (an action and its undoing): each keyword names an action and gives the
    rest of its AdminAction (service, texts, serious) as a dict."""
    for name, fields in actions.items():
        register_action(
            name,
            AdminAction(
                model=model,
                target_arg=target_arg,
                permission=permission,
                index_url_name=index_url_name,
                **fields,
            ),
        )


def action_button(name: str, pk: int, next_url: str, icon_name: str):
    """The admin listing's button that opens action `name` on row `pk`."""
    return ListingButton(
        action_title(name),
        url=action_url(name, pk, next_url or ""),
        icon_name=icon_name,
        priority=5,
    )


def action_title(name: str) -> str:
    return _ACTIONS[name].title


def action_url(name: str, pk: int, next_url: str = "") -> str:
    url = reverse("moderation_action", args=[name, pk])
    return f"{url}?next={next_url}" if next_url else url


def _message_of(error: Exception) -> str:
    """The text of a service's refusal, without a ValidationError's list
    brackets."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


def _safe_next(request) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        return ""
    return next_url


def _get_action(user, name: str) -> AdminAction:
    action = _ACTIONS.get(name)
    if action is None:
        # Only those who moderate learn which actions exist.
        if not any(user.has_perm(a.permission) for a in _ACTIONS.values()):
            raise PermissionDenied
        raise Http404(f"There is no moderation action “{name}”.")
    if not user.has_perm(action.permission):
        raise PermissionDenied
    return action


@require_http_methods(["GET", "POST"])
def moderation_action(request, action, pk):
    name, action = action, _get_action(request.user, action)
    target = get_object_or_404(action.model, pk=pk)
    next_url = _safe_next(request)
    back = next_url or reverse(action.index_url_name)
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()[:1000]
        try:
            action.service(
                actor=request.user, reason=reason, **{action.target_arg: target}
            )
        except (PermissionDenied, ValidationError) as error:
            messages.error(request, _message_of(error) or _("Not allowed."))
        else:
            messages.success(request, action.done)
        return redirect(back)
    return TemplateResponse(
        request,
        "accounts/admin/confirm_action.html",
        {
            "target": target,
            "question": action.question,
            "action": name,
            "title": action.title,
            "confirm": action.confirm,
            "serious": action.serious,
            "next": next_url,
            "cancel_url": back,
        },
    )
