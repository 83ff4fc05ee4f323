from django.apps import AppConfig


class SiteCommonConfig(AppConfig):
    """What the public pages of home and blog share: cached view
    restrictions, cached image renditions, pagination and the article card
    template (templates/includes/article_card.html)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "site_common"

    def ready(self):
        # Models can be imported only once the app registry is ready.
        from site_common import images, restrictions  # noqa: PLC0415

        images.connect_receivers()
        restrictions.connect_receivers()
