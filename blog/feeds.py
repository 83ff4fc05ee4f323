"""The blog's RSS 2.0 feed, served by BlogIndexPage's `feed/` route."""

from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Rss201rev2Feed
from django.utils.translation import gettext as _

from blog.models import BlogIndexPage, BlogPage

FEED_LENGTH = 20


class BlogFeed(Feed):
    """The latest live articles of one blog, newest first."""

    feed_type = Rss201rev2Feed

    def __init__(self, *, index_page: BlogIndexPage):
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
        from blog.selectors import article_list

        return article_list(index_page=index_page)[:FEED_LENGTH]

    def item_title(self, item: BlogPage):
        return item.title

    def item_description(self, item: BlogPage):
        return item.introduction or item.search_description

    def item_link(self, item: BlogPage):
        return item.get_full_url(self.request)

    def item_guid(self, item: BlogPage):
        return item.get_full_url(self.request)

    def item_pubdate(self, item: BlogPage):
        return item.publication_date

    def item_updateddate(self, item: BlogPage):
        return item.last_published_at
