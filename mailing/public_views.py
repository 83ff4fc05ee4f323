"""Public (logged-out) pages of the mailing app: the unsubscribe link."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.selectors import user_language
from mailing.services import unsubscribe as unsubscribe_service
from mailing.unsubscribe import unsubscribe_target


# The token is the credential, and RFC 8058 one-click requests come from
# mail providers without a CSRF token, so the POST must be accepted as is.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """GET shows a confirm button (or "you are unsubscribed"); POST (the
    button, or a one-click `List-Unsubscribe=One-Click` request)
    unsubscribes the address. HEAD only says whether the link works."""
    target = unsubscribe_target(token)
    if request.method == "HEAD":
        # Mail providers and link scanners probe links: answer, change nothing.
        return HttpResponse(status=200 if target else 404)
    if target is None:
        return render(
            request, "mailing/public/unsubscribe.html", {"invalid": True}, status=404
        )
    if request.method == "POST":
        unsubscribe_service(
            target=target,
            one_click=request.POST.get("List-Unsubscribe") == "One-Click",
        )
    # The recipient reads the sender's language, as in the mailing itself.
    language = user_language(user_id=target.owner_id) or translation.get_language()
    with translation.override(language):
        response = render(
            request,
            "mailing/public/unsubscribe.html",
            {"email": target.email, "done": target.done},
        )
        response.headers["Content-Language"] = language
    return response
