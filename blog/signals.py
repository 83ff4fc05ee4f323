"""Keep the cached article list and cards in step with the page tree."""

from django.db.models.signals import post_delete, post_save
from wagtail.images.models import Image
from wagtail.signals import page_published, page_unpublished, post_page_move

from blog.models import BlogPage


def _forget(instance, **kwargs):
    from blog.selectors import article_cards_forget

    article_cards_forget(article_ids=[instance.pk])


def _fill_publication_date(instance, **kwargs):
    """An article published without a date takes its first publication's."""
    if instance.date_published is None and instance.first_published_at:
        instance.date_published = instance.first_published_at
        BlogPage.objects.filter(pk=instance.pk, date_published__isnull=True).update(
            date_published=instance.first_published_at
        )


def _published(sender, instance, **kwargs):
    _fill_publication_date(instance)
    _forget(instance)


def _moved(sender, instance, **kwargs):
    # A move changes the URLs of every article below the moved page.
    from blog.selectors import article_cards_forget, article_live_ids

    article_cards_forget(article_ids=article_live_ids())


def _image_changed(sender, instance, **kwargs):
    # Cards hold rendition URLs, which change with the image's file or focus.
    from blog.selectors import article_cards_forget

    article_ids = list(
        BlogPage.objects.filter(image=instance).values_list("pk", flat=True)
    )
    if article_ids:
        article_cards_forget(article_ids=article_ids)


def connect() -> None:
    page_published.connect(_published, sender=BlogPage, dispatch_uid="blog_pub")
    page_unpublished.connect(_forget, sender=BlogPage, dispatch_uid="blog_unpub")
    post_delete.connect(_forget, sender=BlogPage, dispatch_uid="blog_delete")
    post_page_move.connect(_moved, dispatch_uid="blog_move")
    post_save.connect(_image_changed, sender=Image, dispatch_uid="blog_image_save")
