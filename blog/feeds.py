"""The blog's RSS 2.0 feed, served by BlogIndexPage's `feed/` route.

It reads the articles through the page it is given, so that blog.models can
serve it without an import cycle.
"""

from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Rss201rev2Feed
from django.utils.translation import gettext as _

FEED_LENGTH = 20


class BlogFeed(Feed):
    """The latest live articles of one blog, newest first."""

    feed_type = Rss201rev2Feed

    def __init__(self, *, index_page):
        super().__init__()
        self.index_page = index_page

    def get_object(self, request, *args, **kwargs):
        self.request = request
        return self.index_page

    def title(self, index_page):
        return index_page.seo_title or index_page.title

    def link(self, index_page):
        return index_page.get_full_url(self.request)

    def description(self, index_page):
        return index_page.search_description or _("Articles from %(blog)s") % {
            "blog": index_page.title
        }

    def items(self, index_page):
        return index_page.get_articles()[:FEED_LENGTH]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.introduction or item.search_description

    def item_link(self, item):
        return item.get_full_url(self.request)

    def item_guid(self, item):
        return item.get_full_url(self.request)

    def item_pubdate(self, item):
        return item.publication_date

    def item_updateddate(self, item):
        return item.last_published_at
