from django.apps import AppConfig


class MailingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mailing"

    def ready(self):
        # The home page's cached figures follow mailings and clients. (These
        # modules import models, which Django loads only after apps.py.)
        from mailing import counts, figures, receivers  # noqa: PLC0415

        figures.connect_receivers()
        # So do the cached client counts of each customer.
        counts.connect_receivers()
        # Blocking a user (in accounts) lands in the moderation log.
        receivers.connect_receivers()
