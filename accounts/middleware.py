"""Keeps everyone but managers and content managers out of the Wagtail admin."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts import roles


class CMSAccessMiddleware:
    """Guards every URL under the Wagtail admin.

    Anonymous visitors are sent to the site's own login page (so admin logins
    get the same e-mail verification and rate limits as everyone else), and
    signed-in users without `wagtailadmin.access_admin` get the site's 403 page
    instead of Wagtail's login form.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._prefix = None

    def __call__(self, request):
        if self._prefix is None:
            self._prefix = reverse("wagtailadmin_home")
        if request.path.startswith(self._prefix):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(
                    request.get_full_path(), login_url=settings.LOGIN_URL
                )
            if not roles.can_access_cms(user):
                raise PermissionDenied("The admin is for managers and editors.")
        return self.get_response(request)
