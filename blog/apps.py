from django.apps import AppConfig


class BlogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "blog"

    def ready(self):
        # Models can be imported only once the app registry is ready.
        from blog import signals  # noqa: PLC0415

        signals.connect_receivers()
