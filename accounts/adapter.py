"""How django-allauth talks to the rest of Mailsite."""

from allauth.account import app_settings
from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.utils import translation


class AccountAdapter(DefaultAccountAdapter):
    """Account mails carry the site's name and address, not the request host;
    a new account keeps the language it signed up in and the browser's zone."""

    def send_mail(self, template_prefix, email, context):
        context = {
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "confirmation_days": app_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS,
            **context,
        }
        super().send_mail(template_prefix, email, context)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        # The sign-up form has already replaced an unknown zone by the default.
        user.time_zone = form.cleaned_data.get("time_zone") or settings.TIME_ZONE
        # Mail sent later, outside any request (notices, a mailing's
        # unsubscribe footer), needs a language: the one the visitor saw.
        language = translation.get_language()
        if language in dict(settings.LANGUAGES):
            user.language = language
        if commit:
            user.save()
        return user
