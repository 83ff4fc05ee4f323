"""Public (logged-out) pages of the mailing app: the unsubscribe link."""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mailing.unsubscribe import client_for_token, client_unsubscribe


# The token is the credential, and RFC 8058 one-click requests come from
# mail providers without a CSRF token, so the POST must be accepted as is.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET shows a confirm button; POST (the button, or a one-click
    `List-Unsubscribe=One-Click` request) unsubscribes the client."""
    client = client_for_token(token)
    if client is None:
        return render(
            request, "mailing/public/unsubscribe.html", {"invalid": True}, status=404
        )
    done = client.unsubscribed_at is not None
    if request.method == "POST":
        client_unsubscribe(client=client)
        done = True
    return render(
        request,
        "mailing/public/unsubscribe.html",
        {"email": client.email, "done": done},
    )
