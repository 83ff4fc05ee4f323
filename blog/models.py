from django.db import models
from django.db.models import F
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from blog.blocks import BodyStreamBlock
from blog.feeds import BlogFeed
from site_common.images import renditions_data
from site_common.pagination import paginate
from site_common.restrictions import CachedViewRestrictionsMixin

CARD_RENDITIONS = ["fill-480x270", "fill-800x450"]


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
        """Live articles of this blog, newest first, ready for a listing."""
        return (
            BlogPage.objects.live()
            .child_of(self)
            .select_related("image")
            .prefetch_related("image__renditions")
            .order_by(
                F("date_published").desc(nulls_last=True),
                "-first_published_at",
                "-pk",
            )
        )

    def search_articles(self, query: str):
        """Live articles of this blog matching `query`, best match first."""
        return (
            BlogPage.objects.live()
            .descendant_of(self)
            .select_related("image")
            .search(query)
        )

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
        return BlogFeed(index_page=self)(request)

    @path("search/", name="search")
    def search(self, request):
        query = request.GET.get("q", "").strip()[:200]
        results = self.search_articles(query) if query else []
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
    atomic F() update per visitor session), which the `on_serve_page` hook in
    `blog.wagtail_hooks` calls for every article served, never by the editor
    or by saving the page, so a publish can not overwrite views counted
    meanwhile.
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

    @classmethod
    def find_live_route(cls, request, *, url_path: str):
        """Wagtail's route to the article whose URL path is `url_path`
        (`/home/blog/<slug>/`), found with its cover image in one query; None
        when no article has that path, or when its last segment is one of
        the blog's own routes (`feed/`, `search/`), which come first. Raises
        Http404 for an article that is not live, as Page.route does."""
        slug = url_path.rstrip("/").rsplit("/", 1)[-1]
        try:
            BlogIndexPage.get_resolver().resolve(f"/{slug}/")
        except Http404:
            article = cls.objects.select_related("image").filter(url_path=url_path)
            article = article.first()
            return None if article is None else article.route(request, [])
        return None

    @property
    def publication_date(self):
        return self.date_published or self.first_published_at

    def get_index_url(self, request=None) -> str:
        """The blog's URL, derived from this article's (saves a query)."""
        url = self.get_url(request) or ""
        suffix = f"{self.slug}/"
        return url[: -len(suffix)] if url.endswith(suffix) else url

    def card(self) -> dict:
        """What a teaser of this article shows, as plain data that can be
        cached: id, title, url, introduction, date and the cover image's
        renditions (url, width, height, srcset, alt), or None for no image.
        Rendered by templates/includes/article_card.html."""
        image = None
        if self.image is not None:
            image = {
                **renditions_data(self.image, CARD_RENDITIONS),
                "alt": self.image.default_alt_text or self.image.title,
            }
        return {
            "id": self.pk,
            "title": self.title,
            "url": self.url,
            "introduction": self.introduction or self.search_description,
            "date": self.publication_date,
            "image": image,
        }

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
