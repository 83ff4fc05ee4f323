"""Customer area pages for lists: thin views over audience.selectors and
audience.services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audience import selectors, services
from audience.forms import CustomFieldForm, MailingListForm, SubscriptionAddForm
from audience.models import Subscription
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
        "audience/field_delete.html",
        {"custom_field": custom_field, "section": "fields"},
    )
