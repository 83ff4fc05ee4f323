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
    CustomFieldForm,
    MailingListForm,
    SegmentForm,
    SegmentRuleFormSet,
    SubscriptionAddForm,
    segment_conditions,
    segment_rule_initial,
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
    form = MailingListForm(
        request.POST or None,
        fields=selectors.custom_field_list(owner=request.user),
    )
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
    form = MailingListForm(
        request.POST or None,
        instance=mailing_list,
        fields=selectors.custom_field_list(owner=request.user),
    )
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
            "form_fields": selectors.list_form_fields(mailing_list=mailing_list),
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
            "title": _("Delete list"),
            "question": _("Delete this list?"),
            "explanation": _(
                "Its subscriptions and consent records are deleted with it; "
                "the clients stay in your address book."
            ),
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


# Custom fields ---------------------------------------------------------------


@login_required
def field_list(request):
    return render(
        request,
        "audience/field_list.html",
        {
            "custom_fields": selectors.custom_field_list(owner=request.user),
            "section": "fields",
        },
    )


@login_required
def field_create(request):
    form = CustomFieldForm(request.POST or None)
    custom_field = save_form(
        request,
        form,
        lambda: services.custom_field_create(owner=request.user, **form.cleaned_data),
    )
    if custom_field:
        messages.success(
            request, _("Field %(label)s added.") % {"label": custom_field.label}
        )
        return redirect("audience:field_list")
    return render(
        request,
        "audience/list_form.html",
        {
            "form": form,
            "title": _("New custom field"),
            "cancel_url": reverse("audience:field_list"),
            "section": "fields",
        },
    )


@login_required
def field_update(request, pk):
    custom_field = selectors.custom_field_get(owner=request.user, pk=pk)
    form = CustomFieldForm(request.POST or None, instance=custom_field)
    saved = save_form(
        request,
        form,
        lambda: services.custom_field_update(
            custom_field=custom_field, **form.cleaned_data
        ),
    )
    if saved:
        messages.success(request, _("Field saved."))
        return redirect("audience:field_list")
    return render(
        request,
        "audience/list_form.html",
        {
            "form": form,
            "title": _("Edit custom field"),
            "cancel_url": reverse("audience:field_list"),
            "section": "fields",
        },
    )


@login_required
def field_delete(request, pk):
    custom_field = selectors.custom_field_get(owner=request.user, pk=pk)
    if request.method == "POST":
        services.custom_field_delete(custom_field=custom_field)
        messages.success(
            request, _("Field %(label)s deleted.") % {"label": custom_field.label}
        )
        return redirect("audience:field_list")
    return render(
        request,
        "audience/confirm_delete.html",
        {
            "object": f"{custom_field.label} ({custom_field.key})",
            "title": _("Delete custom field"),
            "question": _("Delete this custom field?"),
            "explanation": _(
                "The values your clients have in this field are kept but no "
                "longer shown, and the field leaves every sign-up form. In "
                "messages, the placeholder for %(key)s is then left as written."
            )
            % {"key": custom_field.key},
            "cancel_url": reverse("audience:field_list"),
            "section": "fields",
        },
    )


# Segments --------------------------------------------------------------------

# The segment page counts up to this many clients, then says "more than".
SEGMENT_COUNT_CAP = 100_000
SEGMENT_SAMPLE = 20


@login_required
def segment_list(request):
    return render(
        request,
        "audience/segment_list.html",
        {"segments": selectors.segment_list(owner=request.user), "section": "segments"},
    )


def _segment_form_page(request, segment=None):
    """The segment form with its rule rows, for a new segment or `segment`."""
    owner = request.user
    initial = {}
    if segment is not None:
        initial = {
            "name": segment.name,
            "match": segment.conditions.get("match", "all"),
        }
    form = SegmentForm(request.POST or None, initial=initial)
    formset = SegmentRuleFormSet(
        request.POST or None,
        initial=segment_rule_initial(segment.conditions) if segment else None,
        prefix="rules",
        form_kwargs={
            "fields": list(selectors.custom_field_list(owner=owner)),
            "lists": list(selectors.mailing_list_list(owner=owner)),
        },
    )

    def save():
        if not formset.is_valid():
            raise ValidationError(_("Correct the rules marked below."))
        conditions = segment_conditions(form, formset)
        name = form.cleaned_data["name"]
        if segment is None:
            return services.segment_create(
                owner=owner, name=name, conditions=conditions
            )
        return services.segment_update(
            segment=segment, name=name, conditions=conditions
        )

    saved = save_form(request, form, save)
    if saved:
        messages.success(request, _("Segment %(name)s saved.") % {"name": saved.name})
        return redirect(saved)
    return render(
        request,
        "audience/segment_form.html",
        {
            "form": form,
            "formset": formset,
            "title": _("Edit segment") if segment else _("New segment"),
            "cancel_url": segment.get_absolute_url() if segment else "",
            "section": "segments",
        },
    )


@login_required
def segment_create(request):
    return _segment_form_page(request)


@login_required
def segment_update(request, pk):
    return _segment_form_page(request, selectors.segment_get(owner=request.user, pk=pk))


@login_required
def segment_detail(request, pk):
    segment = selectors.segment_get(owner=request.user, pk=pk)
    count, capped = selectors.segment_count_capped(
        segment=segment, cap=SEGMENT_COUNT_CAP
    )
    return render(
        request,
        "audience/segment_detail.html",
        {
            "segment": segment,
            "count": count,
            "capped": capped,
            "sample": selectors.segment_sample(segment=segment, size=SEGMENT_SAMPLE),
            "rules": selectors.segment_rules_described(segment=segment),
            "problems": selectors.segment_problems(segment=segment),
            "section": "segments",
        },
    )


@login_required
def segment_delete(request, pk):
    segment = selectors.segment_get(owner=request.user, pk=pk)
    if request.method == "POST":
        deleted = run_action(
            request,
            lambda: services.segment_delete(segment=segment),
            _("Segment %(name)s deleted.") % {"name": segment.name},
        )
        return redirect("audience:segment_list" if deleted else segment)
    return render(
        request,
        "audience/confirm_delete.html",
        {
            "object": segment,
            "title": _("Delete segment"),
            "question": _("Delete this segment?"),
            "explanation": _(
                "The clients stay in your address book. A segment that narrows "
                "a mailing still to be sent cannot be deleted."
            ),
            "cancel_url": segment.get_absolute_url(),
            "section": "segments",
        },
    )


@login_required
def segment_export(request, pk):
    """The segment's clients as CSV, streamed: e-mail, full name and one
    column per custom field (by key, as the import reads them)."""
    segment = selectors.segment_get(owner=request.user, pk=pk)
    response = StreamingHttpResponse(
        csv_stream(selectors.segment_export_rows(segment=segment)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}.csv"'
    return response


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
