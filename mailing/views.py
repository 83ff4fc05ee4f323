"""Customer screens. Placeholders until the mailing-domain issue lands."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def dashboard(request):
    return render(request, "mailing/placeholder.html", {"title": "Dashboard"})


client_list = client_detail = message_list = message_detail = dashboard
mailing_list = mailing_detail = dashboard
