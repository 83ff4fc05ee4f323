"""How django-allauth talks to the rest of Mailsite."""

from allauth.account import app_settings
from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    """Account mails carry the site's name and address, not the request host."""

    def send_mail(self, template_prefix, email, context):
        context = {
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "confirmation_days": app_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS,
            **context,
        }
        super().send_mail(template_prefix, email, context)
