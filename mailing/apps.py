from django.apps import AppConfig


class MailingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mailing"

    def ready(self):
        # The home page's cached figures follow mailings and clients.
        from mailing import counts, figures  # noqa: PLC0415  models load after apps.py

        figures.connect_receivers()
        # So do the cached client counts of each customer.
        counts.connect_receivers()
