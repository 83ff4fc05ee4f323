"""The customer's own settings: language and time zone."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts.forms import PreferencesForm
from accounts.services import user_set_preferences


@login_required
def profile(request):
    """Show and change the signed-in user's language and time zone."""
    user = request.user
    form = PreferencesForm(
        request.POST or None,
        initial={"language": user.language, "time_zone": user.time_zone},
    )
    if request.method == "POST" and form.is_valid():
        user_set_preferences(
            user=user,
            language=form.cleaned_data["language"],
            time_zone=form.cleaned_data["time_zone"],
        )
        # The confirmation already speaks the new language, in the new zone.
        translation.activate(
            user.language or translation.get_language_from_request(request)
        )
        timezone.activate(user.zone)
        messages.success(request, _("Your settings are saved."))
        response = redirect("account_profile")
        if user.language:
            # After signing out, this browser keeps the chosen language.
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language)
        return response
    return render(
        request, "account/profile.html", {"form": form, "now_local": timezone.now()}
    )


# Anonymous pages carry no CSRF token (they stay cacheable and identical for
# everyone), so the cookie is set without one: the worst a forged request can
# do is switch a visitor's language. A signed-in user's saved language changes
# only with a valid token, which the switcher includes for them.
@csrf_exempt
@require_POST
def set_language(request):
    """Django's `set_language` (it sets the `django_language` cookie and
    redirects back); a signed-in user's choice is also saved on their
    account, since their saved language wins over the cookie."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if (
        request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and _csrf_ok(request)
    ):
        user_set_preferences(user=request.user, language=language)
    return response


def _csrf_ok(request) -> bool:
    return (
        CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is None
    )
