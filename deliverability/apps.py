from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliverabilityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "deliverability"
    verbose_name = _("Deliverability")
