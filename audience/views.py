"""Customer area pages for lists: thin views over audience.selectors and
audience.services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from audience import imports, selectors, services
from audience.forms import (
    ClientImportForm,
    ClientImportMappingForm,
    MailingListForm,
    SubscriptionAddForm,
)
from audience.models import CustomField, Subscription
from mailing.csvfiles import csv_stream
from mailing.models import grouped
from mailing.paging import CappedPaginator
from mailing.selectors import client_get
from site_common.views import run_action, save_form

MEMBERS_PER_PAGE = 50


@login_required
def list_list(request):
    return render(
        request,
        "audience/list_list.html",
        {"lists": selectors.mailing_list_list(owner=request.user), "section": "lists"},
    )


@login_required
def list_create(request):
    form = MailingListForm(request.POST or None)
    mailing_list = save_form(
        request,
        form,
        lambda: services.mailing_list_create(owner=request.user, **form.cleaned_data),
    )
    if mailing_list:
        messages.success(
            request, _("List %(name)s created.") % {"name": mailing_list.name}
        )
        return redirect(mailing_list)
    return render(
        request,
        "audience/list_form.html",
        {"form": form, "title": _("New list"), "section": "lists"},
    )


@login_required
def list_update(request, pk):
    mailing_list = selectors.mailing_list_get(owner=request.user, pk=pk)
    form = MailingListForm(request.POST or None, instance=mailing_list)
    saved = save_form(
        request,
        form,
        lambda: services.mailing_list_update(
            mailing_list=mailing_list, **form.cleaned_data
        ),
    )
    if saved:
        messages.success(request, _("List saved."))
        return redirect(mailing_list)
    return render(
        request,
        "audience/list_form.html",
        {
            "form": form,
            "title": _("Edit list"),
            "cancel_url": mailing_list.get_absolute_url(),
            "section": "lists",
        },
    )


@login_required
def list_detail(request, pk):
    mailing_list = selectors.mailing_list_get(owner=request.user, pk=pk)
    status = request.GET.get("status", "")
    if status not in Subscription.Status.values:
        status = ""
    members = selectors.list_members(mailing_list=mailing_list, status=status)
    page = CappedPaginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    form_url = request.build_absolute_uri(mailing_list.get_form_url())
    return render(
        request,
        "audience/list_detail.html",
        {
            "mailing_list": mailing_list,
            "page_obj": page,
            "members": page.object_list,
            "status": status,
            "statuses": Subscription.Status.choices,
            "query": f"status={status}" if status else "",
            "form_url": form_url,
            "section": "lists",
        },
    )


@login_required
def list_delete(request, pk):
    mailing_list = selectors.mailing_list_get(owner=request.user, pk=pk)
    if request.method == "POST":
        services.mailing_list_delete(mailing_list=mailing_list)
        messages.success(
            request, _("List %(name)s deleted.") % {"name": mailing_list.name}
        )
        return redirect("audience:list_list")
    return render(
        request,
        "audience/confirm_delete.html",
        {
            "object": mailing_list,
            "cancel_url": mailing_list.get_absolute_url(),
            "section": "lists",
        },
    )


@login_required
@require_POST
def subscription_add(request, client_pk):
    client = client_get(owner=request.user, pk=client_pk)
    form = SubscriptionAddForm(
        request.POST, lists=selectors.mailing_list_list(owner=request.user)
    )
    if not form.is_valid():
        messages.error(request, _("Choose one of your lists."))
        return redirect(client)
    mailing_list = form.cleaned_data["mailing_list"]
    run_action(
        request,
        lambda: services.subscription_add(mailing_list=mailing_list, client=client),
        _("%(email)s added to %(list)s.")
        % {"email": client.email, "list": mailing_list.name},
    )
    return redirect(client)


@login_required
@require_POST
def subscription_remove(request, pk):
    subscription = get_object_or_404(
        Subscription.objects.select_related("client", "mailing_list"),
        pk=pk,
        mailing_list__owner=request.user,
    )
    services.subscription_remove(subscription=subscription)
    messages.success(
        request,
        _("%(email)s removed from %(list)s.")
        % {
            "email": subscription.client.email,
            "list": subscription.mailing_list.name,
        },
    )
    return redirect(subscription.client)


@login_required
def list_export(request, pk):
    """The list's subscribed members as CSV, with their custom fields;
    streamed."""
    mailing_list = selectors.mailing_list_get(owner=request.user, pk=pk)
    rows = selectors.client_export_rows(owner=request.user, mailing_list=mailing_list)
    response = StreamingHttpResponse(
        csv_stream(rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="list-{pk}.csv"'
    return response


# Client import ---------------------------------------------------------------

# Room for the multipart framing and the CSRF field around the file itself.
_IMPORT_REQUEST_SLACK = 64 * 1024


def _import_page(request, form, status=200):
    return render(
        request,
        "audience/client_import.html",
        {
            "form": form,
            "imports": selectors.client_import_list(owner=request.user),
            "section": "clients",
        },
        status=status,
    )


@csrf_exempt  # checked below, once the size is known to be sane
@login_required
def client_import(request):
    """Upload a CSV file to import; it is stored, then mapped.

    An upload too large is refused from its Content-Length, before anything
    reads the body: CSRF's check reads request.POST, which would spool the
    whole file to disk first.
    """
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = imports.import_max_bytes()
        if length > limit + _IMPORT_REQUEST_SLACK:
            reason = _(
                "The upload is %(size)s KiB; the limit is %(limit)s KiB. "
                "Nothing was read or imported."
            ) % {"size": grouped(round(length / 1024)), "limit": grouped(limit // 1024)}
            return _import_page(request, ClientImportForm.refused(reason), status=413)
    return _client_import(request)


@csrf_protect
def _client_import(request):
    form = ClientImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.client_import_create(
                owner=request.user, file=upload, name=upload.name
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect("audience:client_import_mapping", pk=job.pk)
    return _import_page(request, form)


@login_required
def client_import_mapping(request, pk):
    """Say what each column of an uploaded file is, pick lists, start."""
    job = selectors.client_import_get(owner=request.user, pk=pk)
    if job.status != job.Status.NEW:
        return redirect(job)
    head = imports.client_import_head(client_import=job)
    form = ClientImportMappingForm(
        request.POST or None,
        names=head.names,
        columns=job.mapping.get("columns", []),
        fields=CustomField.objects.filter(owner=request.user),
        lists=selectors.mailing_list_list(owner=request.user),
    )
    started = save_form(
        request,
        form,
        lambda: imports.client_import_start(
            client_import=job,
            columns=form.columns(),
            list_ids=[mailing_list.pk for mailing_list in form.cleaned_data["lists"]],
            subscription_status=form.cleaned_data["status"],
        ),
    )
    if started:
        return redirect(started)
    return render(
        request,
        "audience/client_import_mapping.html",
        {
            "client_import": job,
            "form": form,
            "head": head,
            "rows": [row + [""] * (len(head.names) - len(row)) for row in head.rows],
            "section": "clients",
        },
    )


def _progress(job) -> dict:
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "finished": job.finished,
        "percent": job.percent,
        "total": job.total,
        "processed": job.processed,
        "created": job.created,
        "updated": job.updated,
        "suppressed": job.suppressed,
        "rejected": job.rejected,
        "error": job.error,
        "report_url": (
            reverse("audience:client_import_report", args=[job.pk])
            if job.report
            else ""
        ),
    }


@login_required
def client_import_detail(request, pk):
    """An import's progress (refreshed by static/js/import_progress.js, or
    by reloading the page) and outcome."""
    job = selectors.client_import_get(owner=request.user, pk=pk)
    if job.status == job.Status.NEW:
        return redirect("audience:client_import_mapping", pk=job.pk)
    return render(
        request,
        "audience/client_import_detail.html",
        {"client_import": job, "section": "clients"},
    )


@login_required
def client_import_progress(request, pk):
    job = selectors.client_import_get(owner=request.user, pk=pk)
    return JsonResponse(_progress(job))


@login_required
def client_import_report(request, pk):
    """The rejected rows of an import, as the CSV file the run wrote."""
    job = selectors.client_import_get(owner=request.user, pk=pk)
    if not job.report:
        raise Http404
    return FileResponse(
        job.report.open("rb"),
        as_attachment=True,
        filename=f"import-{job.pk}-rejected.csv",
        content_type="text/csv; charset=utf-8",
    )
