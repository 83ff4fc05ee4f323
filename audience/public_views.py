"""Public (logged-out) pages of audience. Each is shown in the language of
the list's owner, as the mailings themselves are."""

from allauth.account.adapter import get_adapter
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.selectors import user_language
from audience import selectors, services
from audience.confirmation import confirmation_subscription
from audience.forms import SignUpForm
from mailing.unsubscribe import unsubscribe_target

# Sign-ups one address (IP) may make in SIGNUP_WINDOW seconds, over all lists.
SIGNUP_LIMIT = 10
SIGNUP_WINDOW = 3600


def _owner_language(owner_id: int) -> str:
    return user_language(user_id=owner_id) or translation.get_language()


def _over_rate_limit(ip: str) -> bool:
    """Count one sign-up of `ip` in the cache; True past the limit."""
    key = f"audience:signup:{ip}"
    cache.add(key, 0, SIGNUP_WINDOW)
    try:
        return cache.incr(key) > SIGNUP_LIMIT
    except ValueError:  # expired between add and incr
        cache.set(key, 1, SIGNUP_WINDOW)
        return False


def _render(request, template, context, *, owner_id, status=200):
    language = _owner_language(owner_id)
    with translation.override(language):
        response = render(request, template, context, status=status)
        response.headers["Content-Language"] = language
    return response


# The form is meant to be embedded on the customer's own site (the snippet
# on the list page is a plain <form> posting here), where no CSRF token of
# ours can exist, so this one view is exempt. What CSRF would guard against
# does not apply: the POST changes no logged-in user's data. Abuse is kept
# out by the honeypot field, the per-IP rate limit, and double opt-in (no
# one is mailed until the address's owner follows the link).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def subscribe(request, public_id):
    """The hosted sign-up form; a sign-up shows "check your inbox"."""
    mailing_list = selectors.mailing_list_public(public_id=public_id)
    owner_id = mailing_list.owner_id
    form = SignUpForm(
        request.POST or None,
        ask_full_name=mailing_list.ask_full_name,
        schema=selectors.list_form_schema(mailing_list=mailing_list),
    )
    context = {"mailing_list": mailing_list, "form": form}
    if request.method == "POST":
        ip = get_adapter(request).get_client_ip(request)
        if _over_rate_limit(ip):
            return _render(request, "429.html", {}, owner_id=owner_id, status=429)
        if form.is_bot:
            # Answer as if it worked: a bot learns nothing to adapt to.
            return redirect(_thanks_url(mailing_list))
        with translation.override(_owner_language(owner_id)):
            valid = form.is_valid()
            if valid:
                try:
                    services.subscription_signup(
                        mailing_list=mailing_list,
                        email=form.cleaned_data["email"],
                        full_name=form.cleaned_data.get("full_name", ""),
                        attributes=form.attributes,
                        ip=ip,
                    )
                except ValidationError as error:
                    form.add_error("email", error)
                    valid = False
        if valid:
            return redirect(_thanks_url(mailing_list))
    context["thanks"] = request.GET.get("thanks") == "1"
    return _render(
        request, "audience/public/subscribe.html", context, owner_id=owner_id
    )


def _thanks_url(mailing_list) -> str:
    return mailing_list.get_form_url() + "?thanks=1"


@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """The confirmation link: GET shows a button (mail scanners follow
    links, so a GET changes nothing), POST confirms."""
    if request.method == "POST":
        try:
            subscription = services.subscription_confirm(token=token)
        except services.ConfirmationInvalid:
            raise Http404 from None
        mailing_list = subscription.mailing_list
        return _render(
            request,
            "audience/public/confirm.html",
            {"mailing_list": mailing_list, "done": True},
            owner_id=mailing_list.owner_id,
        )
    subscription = confirmation_subscription(token)
    if subscription is None:
        raise Http404
    mailing_list = subscription.mailing_list
    return _render(
        request,
        "audience/public/confirm.html",
        {"mailing_list": mailing_list, "done": False},
        owner_id=mailing_list.owner_id,
    )


@require_http_methods(["GET", "POST"])
def preferences(request, token):
    """The preference centre: the lists of the sender this address is on;
    leave one (`leave=<subscription id>`) or everything (`leave=all`)."""
    target = unsubscribe_target(token)
    if target is None:
        raise Http404
    subscriptions = selectors.subscriptions_for_email(
        owner_id=target.owner_id, email=target.email
    )
    if request.method == "POST":
        choice = request.POST.get("leave", "")
        if choice == "all":
            services.preferences_leave_all(target=target)
        else:
            subscription = subscriptions.filter(pk=_int_or_none(choice)).first()
            if subscription is None:
                raise Http404
            services.subscription_leave(subscription=subscription)
        return redirect(request.path + "?saved=1")
    return _render(
        request,
        "audience/public/preferences.html",
        {
            "email": target.email,
            "subscriptions": subscriptions,
            "left_all": target.done,
            "saved": request.GET.get("saved") == "1",
        },
        owner_id=target.owner_id,
    )


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None
