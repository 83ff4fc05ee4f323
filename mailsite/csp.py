"""The Content-Security-Policy header: one policy, with Wagtail's admin
allowed what it still needs (settings.CONTENT_SECURITY_POLICY_ADMIN_UPDATE)."""

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from django.conf import settings
from django.urls import reverse


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware; under the Wagtail admin's URL the admin's
    allowances are added to the site's policy."""

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        allowances = settings.CONTENT_SECURITY_POLICY_ADMIN_UPDATE
        if (
            not report_only
            and allowances
            and parts.update is None
            and request.path_info.startswith(reverse("wagtailadmin_home"))
        ):
            parts.update = allowances
        return parts
