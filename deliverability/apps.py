from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliverabilityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "deliverability"
    verbose_name = _("Deliverability")

    def ready(self):
        # Imported here: receivers import models, which are not ready at
        # module import time.
        from deliverability.receivers import connect_receivers  # noqa: PLC0415

        connect_receivers()
