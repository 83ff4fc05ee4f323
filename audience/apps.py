from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudienceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audience"
    verbose_name = _("Audience")

    def ready(self):
        # The lists' kept member counts follow deleted clients. (The module
        # imports models, which Django loads only after apps.py.)
        from audience import receivers  # noqa: PLC0415

        receivers.connect_receivers()
