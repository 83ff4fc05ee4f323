"""The customer area: thin views over mailing.selectors and mailing.services.

Every object is looked up through a selector scoped to the signed-in user,
so another user's client, message or mailing answers 404.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from audience.selectors import (
    client_export_rows,
    client_subscriptions,
    custom_field_keys,
    field_schema,
    mailing_list_list,
)
from mailing import selectors, services
from mailing.csvfiles import csv_stream
from mailing.forms import (
    ClientForm,
    DeliveryFilterForm,
    MailingForm,
    MailingTestForm,
    MessageForm,
    RecipientCountForm,
    SuppressionAddForm,
)
from mailing.models import Client, Delivery, Mailing, Message, Suppression
from mailing.paging import CappedPaginator
from mailing.rendering import render_message
from mailing.sanitize import sanitize_html
from site_common.views import add_validation_error, run_action, save_form

PER_PAGE = 25


def _page(request, items, per_page=PER_PAGE):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


@login_required
def dashboard(request):
    owner = request.user
    return render(
        request,
        "mailing/dashboard.html",
        {
            "figures": selectors.customer_figures(owner=owner),
            "stats": selectors.customer_stats(owner=owner),
            "recent_mailings": selectors.with_recipient_estimates(
                selectors.mailing_list(owner=owner)[:5]
            ),
        },
    )


# Clients ------------------------------------------------------------------


@login_required
def client_list(request):
    # PostgreSQL text cannot hold U+0000: a search for it finds nothing.
    search = request.GET.get("q", "").replace("\x00", "").strip()
    sort = request.GET.get("sort", "email")
    if search:
        # The first FEW_MATCHES + 1 matches, found without counting further;
        # the list says "1,000+" when there are more.
        clients = selectors.client_matches(
            owner=request.user, search=search, sort=sort, with_suppression=True
        )
        cap = selectors.FEW_MATCHES
    else:
        clients = selectors.clients_with_suppression(
            selectors.client_list(owner=request.user, sort=sort)
        )
        cap = None
    page_obj = CappedPaginator(clients, PER_PAGE, cap=cap).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "mailing/client_list.html",
        {
            "page_obj": page_obj,
            "q": search,
            "sort": sort,
            "query": urlencode({"q": search, "sort": sort}),
        },
    )


@login_required
def client_search(request):
    """JSON for the mailing form's client picker: the first matches of the
    signed-in customer's clients, and whether more match."""
    clients, more = selectors.client_search(
        owner=request.user, text=request.GET.get("q", "").replace("\x00", "")
    )
    return JsonResponse(
        {
            "results": [
                {
                    "id": client.pk,
                    "email": client.email,
                    "full_name": client.full_name,
                    "label": str(client),
                }
                for client in clients
            ],
            "more": more,
        }
    )


@login_required
def client_detail(request, pk):
    client = selectors.client_get(owner=request.user, pk=pk)
    suppression = selectors.suppression_for(owner=request.user, email=client.email)
    return render(
        request,
        "mailing/client_detail.html",
        {
            "client": client,
            "suppression": suppression,
            "subscriptions": client_subscriptions(client=client),
            "lists": mailing_list_list(owner=request.user),
            "custom_values": field_schema(owner=request.user).display(
                client.attributes
            ),
        },
    )


@login_required
def client_create(request):
    form = ClientForm(request.POST or None, owner=request.user)
    client = save_form(
        request,
        form,
        lambda: services.client_create(owner=request.user, **form.cleaned_data),
    )
    if client:
        messages.success(
            request, _("Client %(email)s added.") % {"email": client.email}
        )
        return redirect("mailing:client_list")
    return render(
        request, "mailing/form.html", {"form": form, "title": _("New client")}
    )


@login_required
def client_update(request, pk):
    client = selectors.client_get(owner=request.user, pk=pk)
    form = ClientForm(request.POST or None, instance=client, owner=request.user)
    if save_form(
        request,
        form,
        lambda: services.client_update(client=client, **form.cleaned_data),
    ):
        messages.success(request, _("Client saved."))
        return redirect(client)
    return render(
        request,
        "mailing/form.html",
        {
            "form": form,
            "title": _("Edit %(email)s") % {"email": client.email},
            "cancel_url": client,
        },
    )


@login_required
def client_delete(request, pk):
    client = selectors.client_get(owner=request.user, pk=pk)
    if request.method == "POST":
        services.client_delete(client=client)
        messages.success(
            request, _("Client %(email)s deleted.") % {"email": client.email}
        )
        return redirect("mailing:client_list")
    return render(
        request,
        "mailing/confirm_delete.html",
        {"object": client, "kind": "client", "cancel_url": client.get_absolute_url()},
    )


@login_required
def client_export(request):
    """All the customer's clients as CSV, with their custom fields; streamed."""
    rows = client_export_rows(owner=request.user)
    response = StreamingHttpResponse(
        csv_stream(rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="clients.csv"'
    return response


# Suppressions --------------------------------------------------------------


@login_required
def suppression_list(request):
    """The customer's suppression list: search, filter by reason, add
    addresses by hand."""
    form = SuppressionAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.suppression_add(
                owner=request.user, emails=form.cleaned_data["emails"]
            )
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            done = ngettext(
                "%(count)d address suppressed.",
                "%(count)d addresses suppressed.",
                len(result.added),
            ) % {"count": len(result.added)}
            if result.already:
                done += " " + _("Already on the list: %(addresses)s.") % {
                    "addresses": ", ".join(result.already[:20])
                }
            messages.success(request, done)
            return redirect("mailing:suppression_list")
    search = request.GET.get("q", "").strip()
    reason = request.GET.get("reason", "")
    entries = selectors.suppression_list(
        owner=request.user, search=search, reason=reason
    )
    return render(
        request,
        "mailing/suppression_list.html",
        {
            "form": form,
            "page_obj": _page(request, entries),
            "q": search,
            "reason": reason,
            "reasons": Suppression.Reason.choices,
            "query": urlencode({"q": search, "reason": reason}),
        },
    )


@login_required
@require_POST
def suppression_remove(request, pk):
    entry = selectors.suppression_get(owner=request.user, pk=pk)
    run_action(
        request,
        lambda: services.suppression_remove(suppression=entry),
        _("%(email)s removed from the suppression list.") % {"email": entry.email},
    )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("mailing:suppression_list")
    return redirect(back)


# Messages -----------------------------------------------------------------


@login_required
def message_list(request):
    items = selectors.message_list(owner=request.user)
    return render(
        request, "mailing/message_list.html", {"page_obj": _page(request, items)}
    )


def _sample_client(owner):
    sample = selectors.client_list(owner=owner).first()
    return sample or Client(full_name=_("Jane Sample"), email="jane@example.com")


@login_required
def message_detail(request, pk):
    message = selectors.message_get(owner=request.user, pk=pk)
    sample = _sample_client(request.user)
    # What is shown is what a run sends: the HTML part sanitised again
    # (a part stored before sanitising existed says what goes now).
    clean = sanitize_html(message.html_body)
    shown = Message(subject=message.subject, body=message.body, html_body=clean.html)
    subject, text, html = render_message(
        shown, sample, fields=custom_field_keys(owner_id=request.user.pk)
    )
    return render(
        request,
        "mailing/message_detail.html",
        {
            "message_obj": message,
            "sample": sample,
            "preview": {"subject": subject, "text": text, "html": html},
            "html_removed": message.html_removed or clean.removed_text,
        },
    )


def _message_saved(request, message) -> None:
    messages.success(request, _("Message saved."))
    if message.html_removed:
        messages.warning(
            request,
            _("The HTML part was sanitised. Removed: %(removed)s.")
            % {"removed": message.html_removed},
        )


@login_required
def message_create(request):
    form = MessageForm(request.POST or None, owner=request.user)
    message = save_form(
        request,
        form,
        lambda: services.message_create(owner=request.user, **form.cleaned_data),
    )
    if message:
        _message_saved(request, message)
        return redirect(message)
    return render(
        request, "mailing/form.html", {"form": form, "title": _("New message")}
    )


@login_required
def message_update(request, pk):
    message = selectors.message_get(owner=request.user, pk=pk)
    form = MessageForm(request.POST or None, instance=message, owner=request.user)
    if save_form(
        request,
        form,
        lambda: services.message_update(message=message, **form.cleaned_data),
    ):
        _message_saved(request, message)
        return redirect(message)
    return render(
        request,
        "mailing/form.html",
        {"form": form, "title": _("Edit message"), "cancel_url": message},
    )


@login_required
def message_delete(request, pk):
    message = selectors.message_get(owner=request.user, pk=pk)
    if request.method == "POST":
        if not run_action(
            request,
            lambda: services.message_delete(message=message),
            _("Message deleted."),
        ):
            return redirect(message)
        return redirect("mailing:message_list")
    return render(
        request,
        "mailing/confirm_delete.html",
        {
            "object": message,
            "kind": "message",
            "cancel_url": message.get_absolute_url(),
        },
    )


# Mailings -----------------------------------------------------------------


@login_required
def mailing_list(request):
    status = request.GET.get("status", "")
    items = selectors.mailing_list(owner=request.user, status=status)
    page_obj = _page(request, items)
    page_obj.object_list = selectors.with_recipient_estimates(page_obj.object_list)
    return render(
        request,
        "mailing/mailing_list.html",
        {
            "page_obj": page_obj,
            "status": status,
            "statuses": Mailing.Status.choices,
        },
    )


@login_required
def mailing_detail(request, pk):
    mailing = selectors.mailing_get(owner=request.user, pk=pk)
    runs = list(selectors.mailing_runs(mailing=mailing)[:20])
    filters = DeliveryFilterForm(request.GET or None, runs=runs)
    filters.is_valid()
    data = getattr(filters, "cleaned_data", {})
    log = selectors.delivery_log_page(
        mailing=mailing,
        status=data.get("status", ""),
        text=data.get("q", ""),
        run_id=data.get("run"),
        after=request.GET.get("after", ""),
    )
    query = request.GET.copy()
    query.pop("after", None)
    findings = services.mailing_check(mailing=mailing)
    return render(
        request,
        "mailing/mailing_detail.html",
        {
            "mailing": mailing,
            "recipients": selectors.mailing_recipient_estimate(mailing=mailing),
            "findings": findings,
            "hard_findings": [finding for finding in findings if finding.is_hard],
            "checked": "check" in request.GET,
            "test_form": MailingTestForm(owner=request.user),
            "last_test": selectors.mailing_last_test_send(mailing=mailing),
            "runs": runs,
            "progress": selectors.mailing_progress(mailing=mailing),
            "success_rate": selectors.success_rate(mailing.sent, mailing.failed),
            "filters": filters,
            "log": log,
            "query": query.urlencode(),
            "statuses": Delivery.Status,
        },
    )


@login_required
def mailing_progress(request, pk):
    """JSON for the progress bar that the detail page polls while sending:
    the mailing and one sum over its open runs' counters."""
    mailing = selectors.mailing_get(owner=request.user, pk=pk, with_stats=False)
    return JsonResponse(
        {
            "status": mailing.status,
            "next_run_at": mailing.next_run_at and mailing.next_run_at.isoformat(),
            **selectors.mailing_progress(mailing=mailing),
        }
    )


def _mailing_form_initial(owner):
    now = timezone.localtime().replace(second=0, microsecond=0)
    return {
        "start_at": now,
        "end_at": now + timezone.timedelta(days=30),
        "message": selectors.message_list(owner=owner).first(),
    }


@login_required
def mailing_create(request):
    form = MailingForm(
        request.POST or None,
        owner=request.user,
        initial=_mailing_form_initial(request.user),
    )
    mailing = save_form(
        request,
        form,
        lambda: services.mailing_create(owner=request.user, **form.service_kwargs()),
    )
    if mailing:
        messages.success(request, _("Mailing created."))
        return redirect(mailing)
    return render(
        request,
        "mailing/form.html",
        {
            "form": form,
            "title": _("New mailing"),
            "no_messages": not selectors.message_list(owner=request.user).exists(),
        },
    )


def _recipient_count_text(result) -> str:
    number = number_format(result.count, force_grouping=True)
    if result.kind == "more_than":
        return _("More than %(count)s recipients") % {"count": number}
    if result.kind == "up_to":
        return _("Up to %(count)s recipients") % {"count": number}
    return ngettext("%(count)s recipient", "%(count)s recipients", result.count) % {
        "count": number
    }


@login_required
def mailing_recipient_count(request):
    """JSON for the mailing form: how many the chosen lists, segment and
    clients reach now (selectors.recipient_count), in words."""
    form = RecipientCountForm(request.GET, owner=request.user)
    if not form.is_valid():
        return JsonResponse(
            {"error": " ".join(" ".join(errors) for errors in form.errors.values())},
            status=400,
        )
    data = form.cleaned_data
    result = selectors.recipient_count(
        owner=request.user,
        client_ids=[client.pk for client in data["clients"]],
        all_clients=data["all_clients"],
        lists=data["lists"],
        segment=data["segment"],
    )
    return JsonResponse(
        {
            "count": result.count,
            "kind": result.kind,
            "text": _recipient_count_text(result),
        }
    )


@login_required
def mailing_update(request, pk):
    mailing = selectors.mailing_get(owner=request.user, pk=pk)
    form = MailingForm(request.POST or None, instance=mailing, owner=request.user)
    if save_form(
        request,
        form,
        lambda: services.mailing_update(mailing=mailing, **form.service_kwargs()),
    ):
        messages.success(request, _("Mailing saved."))
        return redirect(mailing)
    return render(
        request,
        "mailing/form.html",
        {"form": form, "title": _("Edit mailing"), "cancel_url": mailing},
    )


@login_required
def mailing_delete(request, pk):
    mailing = selectors.mailing_get(owner=request.user, pk=pk)
    if request.method == "POST":
        services.mailing_delete(mailing=mailing)
        messages.success(request, _("Mailing deleted."))
        return redirect("mailing:mailing_list")
    return render(
        request,
        "mailing/confirm_delete.html",
        {
            "object": mailing,
            "kind": "mailing",
            "cancel_url": mailing.get_absolute_url(),
        },
    )


@login_required
@require_POST
def mailing_test_send(request, pk):
    """Queue "Send a test"; the page shows the outcome once the task ran."""
    mailing = selectors.mailing_get(owner=request.user, pk=pk, with_stats=False)
    form = MailingTestForm(request.POST, owner=request.user)
    if form.is_valid():
        try:
            test_send = services.mailing_test_send(
                mailing=mailing,
                addresses=form.cleaned_data["addresses"],
                client=form.cleaned_data["client_email"],
            )
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            count = len(test_send.addresses)
            messages.success(
                request,
                ngettext(
                    "A test to %(count)d address has been queued; its outcome "
                    "appears below.",
                    "A test to %(count)d addresses has been queued; its outcome "
                    "appears below.",
                    count,
                )
                % {"count": count},
            )
            return redirect(reverse("mailing:mailing_detail", args=[pk]) + "#test")
    for errors in form.errors.values():
        messages.error(request, " ".join(errors))
    return redirect(reverse("mailing:mailing_detail", args=[pk]) + "#test")


def _mailing_action(service, done):
    @login_required
    @require_POST
    def view(request, pk):
        mailing = selectors.mailing_get(owner=request.user, pk=pk)
        run_action(request, lambda: service(mailing=mailing), done)
        return redirect(reverse("mailing:mailing_detail", args=[mailing.pk]))

    return view


mailing_send_now = _mailing_action(
    services.mailing_send_now,
    gettext_lazy("A run has been queued; it starts in a moment."),
)
mailing_pause = _mailing_action(services.mailing_pause, gettext_lazy("Mailing paused."))
mailing_resume = _mailing_action(
    services.mailing_resume, gettext_lazy("Mailing resumed.")
)
