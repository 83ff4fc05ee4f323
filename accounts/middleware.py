"""Request-wide rules of the accounts app: who may enter the Wagtail admin,
and which language and time zone a signed-in user sees."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

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
                raise PermissionDenied(_("The admin is for managers and editors."))
        return self.get_response(request)


class UserPreferencesMiddleware:
    """Shows the site in a signed-in user's own language and time zone.

    Runs after LocaleMiddleware (which has already chosen from the
    `django_language` cookie, then Accept-Language, then English) and after
    authentication: a user's saved language wins over both. Forms then parse
    and templates show datetimes in the user's zone; everyone else gets the
    `TIME_ZONE` setting.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _languages() -> dict:
        # A saved language the site no longer offers is ignored.
        return dict(settings.LANGUAGES)

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = user.language
            if language in self._languages() and language != request.LANGUAGE_CODE:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
            timezone.activate(user.zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
