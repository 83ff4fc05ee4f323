from django.apps import AppConfig


class MailingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mailing"

    def ready(self):
        # The home page's cached figures follow mailings and clients.
        from mailing.figures import connect_receivers

        connect_receivers()
