"""Customer area pages for sending domains and senders: thin views over
deliverability.selectors and deliverability.services."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import roles
from deliverability import config, selectors, services
from deliverability.forms import SenderForm, SendingDomainForm


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@login_required
def domain_list(request):
    form = SendingDomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain = services.sending_domain_create(
                owner=request.user, domain=form.cleaned_data["domain"]
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                _("%(domain)s added: publish its DNS records, then check them.")
                % {"domain": domain.display_name},
            )
            return redirect(domain)
    return render(
        request,
        "deliverability/domain_list.html",
        {
            "form": form,
            "domains": selectors.sending_domain_list(owner=request.user),
            "lost": selectors.sending_domains_lost(owner=request.user),
            "section": "domains",
        },
    )


@login_required
def domain_detail(request, pk):
    domain = selectors.sending_domain_get(owner=request.user, pk=pk)
    checks = {check["name"] + check["type"]: check for check in domain.checks}
    records = [
        (rtype, name, value, checks.get(name + rtype))
        for rtype, name, value in domain.dns_records()
    ]
    kept = [
        check
        for check in domain.checks
        if check["ok"] and check["record"] == "dmarc" and check.get("found")
    ]
    return render(
        request,
        "deliverability/domain_detail.html",
        {
            "domain": domain,
            "records": records,
            "checks": domain.checks,
            "kept_dmarc": kept[0] if kept else None,
            "bounce_domain": config.bounce_domain(),
            "section": "domains",
        },
    )


@login_required
@require_POST
def domain_check(request, pk):
    domain = selectors.sending_domain_get(owner=request.user, pk=pk)
    if services.sending_domain_verify(sending_domain=domain):
        messages.success(
            request,
            _("%(domain)s is verified: you can send from it.")
            % {"domain": domain.display_name},
        )
    else:
        messages.warning(
            request,
            _("%(domain)s is not verified yet; see what is missing below.")
            % {"domain": domain.display_name},
        )
    return redirect(domain)


@login_required
def domain_delete(request, pk):
    domain = selectors.sending_domain_get(owner=request.user, pk=pk)
    if request.method == "POST":
        try:
            services.sending_domain_delete(sending_domain=domain)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(domain)
        messages.success(
            request, _("%(domain)s deleted.") % {"domain": domain.display_name}
        )
        return redirect("deliverability:domain_list")
    return render(
        request,
        "deliverability/confirm_delete.html",
        {
            "object": domain,
            "cancel_url": domain.get_absolute_url(),
            "section": "domains",
        },
    )


@login_required
def sender_list(request):
    form = SenderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sender = services.sender_create(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request, _("Sender %(sender)s added.") % {"sender": sender}
            )
            return redirect("deliverability:sender_list")
    return render(
        request,
        "deliverability/sender_list.html",
        {
            "form": form,
            "senders": selectors.sender_list(owner=request.user),
            "has_verified_domain": selectors.sending_domain_list(owner=request.user)
            .filter(verified_at__isnull=False)
            .exists(),
            "section": "senders",
        },
    )


@login_required
@require_POST
def sender_delete(request, pk):
    sender = selectors.sender_get(owner=request.user, pk=pk)
    try:
        services.sender_delete(sender=sender)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Sender %(sender)s deleted.") % {"sender": sender})
    return redirect("deliverability:sender_list")


def reputation_report(request):
    """Managers (Wagtail admin): every customer's hard-bounce and complaint
    rates over the guard's window, worst first."""
    if not roles.is_manager(request.user):
        raise PermissionDenied
    since = timezone.now() - timedelta(days=settings.REPUTATION_WINDOW_DAYS)
    return render(
        request,
        "deliverability/admin/reputation.html",
        {
            "rows": selectors.reputation_rates(since=since)[:500],
            "window_days": settings.REPUTATION_WINDOW_DAYS,
            "bounce_limit": settings.REPUTATION_HARD_BOUNCE_RATE,
            "complaint_limit": settings.REPUTATION_COMPLAINT_RATE,
        },
    )
