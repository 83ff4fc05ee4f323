from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from blog.blocks import BodyStreamBlock
from home.restrictions import CachedViewRestrictionsMixin

ARTICLES_PER_PAGE = 9


class BlogIndexPage(CachedViewRestrictionsMixin, RoutablePageMixin, Page):
    """The blog: live articles newest first, paginated, with a feed and search.

    Extra URLs under it are routes: `feed/` (RSS 2.0) and `search/?q=`.
    """

    introduction = RichTextField(blank=True, features=["bold", "italic", "link"])

    content_panels = Page.content_panels + [FieldPanel("introduction")]

    search_fields = Page.search_fields + [index.SearchField("introduction")]

    parent_page_types = ["home.HomePage"]
    subpage_types = ["blog.BlogPage"]
    max_count = 1

    class Meta:
        verbose_name = _("blog")

    def get_articles(self):
        from blog.selectors import article_list

        return article_list(index_page=self)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        url = self.get_url(request)
        context["feed_url"] = url + self.reverse_subpage("feed")
        context["search_url"] = url + self.reverse_subpage("search")
        if "articles" not in kwargs:
            context["articles"] = paginate(request, self.get_articles())
        return context

    @path("feed/", name="feed")
    def feed(self, request):
        from blog.feeds import BlogFeed

        return BlogFeed(index_page=self)(request)

    @path("search/", name="search")
    def search(self, request):
        from blog.selectors import article_search

        query = request.GET.get("q", "").strip()[:200]
        results = article_search(index_page=self, query=query) if query else []
        return self.render(
            request,
            articles=None,  # tells get_context not to list every article
            context_overrides={
                "search_query": query,
                "articles": paginate(request, results),
            },
            template="blog/blog_search.html",
        )


class BlogPage(CachedViewRestrictionsMixin, Page):
    """An article: a teaser, a cover image, a body of blocks and a view counter.

    `view_count` is written only by `blog.services.article_record_view` (one
    atomic F() update per visitor session), never by the editor or by saving
    the page, so a publish can not overwrite views counted meanwhile.
    `date_published` is editable and, left empty, takes the date of the first
    publication.
    """

    introduction = models.CharField(
        max_length=300,
        blank=True,
        verbose_name=_("introduction"),
        help_text=_("One or two sentences for listings, search results and feeds."),
    )
    image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("image"),
        help_text=_(
            "The cover image: shown on the article, in listings and when "
            "the article is shared. Landscape, at least 1200 pixels wide."
        ),
    )
    body = StreamField(BodyStreamBlock(), blank=True, verbose_name=_("body"))
    date_published = models.DateTimeField(
        _("publication date"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use the date the article is first published."),
    )
    view_count = models.PositiveIntegerField(_("views"), default=0, editable=False)

    content_panels = Page.content_panels + [
        FieldPanel("introduction"),
        FieldPanel("image"),
        FieldPanel("body"),
    ]
    promote_panels = Page.promote_panels + [FieldPanel("date_published")]

    search_fields = Page.search_fields + [
        index.SearchField("introduction"),
        index.SearchField("body"),
        index.FilterField("date_published"),
    ]

    parent_page_types = ["blog.BlogIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("article")

    @property
    def publication_date(self):
        return self.date_published or self.first_published_at

    def get_index_url(self, request=None) -> str:
        """The blog's URL, derived from this article's (saves a query)."""
        url = self.get_url(request) or ""
        suffix = f"{self.slug}/"
        return url[: -len(suffix)] if url.endswith(suffix) else url

    def serve(self, request, *args, **kwargs):
        from blog.services import article_record_view

        # Decide before Page.serve, which resets request.is_preview.
        counted = article_record_view(article=self, request=request)
        if counted:
            # Show the visitor their own view without reading the row back.
            self.view_count += 1
        return super().serve(request, *args, **kwargs)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["index_url"] = self.get_index_url(request)
        return context

    def save(self, *args, **kwargs):
        if not self._state.adding and kwargs.get("update_fields") is None:
            # Editing or publishing saves every field but the counter, which
            # concurrent views may have moved since this object was loaded.
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "view_count"
            ]
        return super().save(*args, **kwargs)

    def with_content_json(self, content):
        # A revision holds the counter as it was when the revision was saved.
        obj = super().with_content_json(content)
        obj.view_count = self.view_count
        return obj


def paginate(request, items, per_page=ARTICLES_PER_PAGE):
    """The page of `items` asked for by ?page=, the last one when out of range."""
    paginator = Paginator(items, per_page)
    try:
        return paginator.page(request.GET.get("page", 1))
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)
