"""Keep the cached article list and cards in step with the page tree, and
give an article published without a date the date of its publication."""

from django.db.models.signals import post_delete, post_save
from wagtail.images.models import Image
from wagtail.signals import (
    page_published,
    page_slug_changed,
    page_unpublished,
    post_page_move,
)

from blog.models import BlogPage
from blog.selectors import ARTICLES, CARDS


def _published(sender, instance, **kwargs):
    _fill_publication_date(instance)
    # The new live revision gives the article a new card key.
    ARTICLES.invalidate()


def _fill_publication_date(instance):
    if instance.date_published is None and instance.first_published_at:
        instance.date_published = instance.first_published_at
        BlogPage.objects.filter(pk=instance.pk, date_published__isnull=True).update(
            date_published=instance.first_published_at
        )


def _left(sender, **kwargs):
    ARTICLES.invalidate()


def _urls_changed(sender, **kwargs):
    # A move or a new slug changes the URLs of every article below the page.
    ARTICLES.invalidate()
    CARDS.invalidate()


def _image_changed(sender, instance, created=False, **kwargs):
    # Cards hold rendition URLs and alt text, which change with the image;
    # a new image is on no card yet.
    if not created:
        CARDS.invalidate()


def connect_receivers() -> None:
    """Connect the receivers (called from BlogConfig.ready)."""
    page_published.connect(_published, sender=BlogPage, dispatch_uid="blog_pub")
    page_unpublished.connect(_left, sender=BlogPage, dispatch_uid="blog_unpub")
    post_delete.connect(_left, sender=BlogPage, dispatch_uid="blog_delete")
    post_page_move.connect(_urls_changed, dispatch_uid="blog_move")
    page_slug_changed.connect(_urls_changed, dispatch_uid="blog_slug")
    post_save.connect(_image_changed, sender=Image, dispatch_uid="blog_image_save")
    post_delete.connect(_image_changed, sender=Image, dispatch_uid="blog_image_del")
