from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, PageChooserPanel
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

from blog.models import BlogPage
from blog.selectors import article_random_picks
from mailing.selectors import site_figures
from site_common.images import image_renditions
from site_common.restrictions import CachedViewRestrictionsMixin

RANDOM_ARTICLES = 3
HERO_RENDITIONS = ["fill-640x400", "fill-960x600", "fill-1280x800"]
SHARE_RENDITION = "fill-1200x630"


class HomePage(CachedViewRestrictionsMixin, Page):
    """The site's root page: a hero, an introduction, a call to action, the
    service's live figures and three random articles from the blog.

    The figures come from `mailing.selectors.site_figures` (cached) and the
    articles from `blog.selectors.article_random_picks` (cached cards), the
    hero from `site_common.images` (cached renditions), so a warm home page
    costs only the queries Wagtail needs to find the page.
    """

    hero_title = models.CharField(
        _("hero title"), max_length=120, default="Mailings that arrive"
    )
    hero_text = models.TextField(
        _("hero text"),
        blank=True,
        help_text=_("One or two sentences under the hero title."),
    )
    hero_image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("hero image"),
        help_text=_("Shown beside the hero text and when the page is shared."),
    )
    introduction = RichTextField(
        _("introduction"), blank=True, features=["bold", "italic", "link", "ul", "ol"]
    )
    cta_text = models.CharField(
        _("call to action"),
        max_length=60,
        blank=True,
        default="Create a free account",
    )
    cta_page = models.ForeignKey(
        "wagtailcore.Page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("call to action page"),
    )
    cta_url = models.CharField(
        _("call to action link"),
        max_length=255,
        blank=True,
        default="/accounts/signup/",
        help_text=_("Used when no page is chosen; a path such as /accounts/signup/."),
    )

    content_panels = Page.content_panels + [
        MultiFieldPanel(
            [
                FieldPanel("hero_title"),
                FieldPanel("hero_text"),
                FieldPanel("hero_image"),
            ],
            heading=_("Hero"),
        ),
        FieldPanel("introduction"),
        MultiFieldPanel(
            [
                FieldPanel("cta_text"),
                PageChooserPanel("cta_page"),
                FieldPanel("cta_url"),
            ],
            heading=_("Call to action"),
        ),
    ]

    search_fields = Page.search_fields + [
        index.SearchField("hero_text"),
        index.SearchField("introduction"),
    ]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["blog.BlogIndexPage"]
    max_count = 1

    @property
    def cta_link(self) -> str:
        if self.cta_page_id:
            return self.cta_page.url
        return self.cta_url

    def route(self, request, path_components):
        # An article (`blog/<slug>/`) is found by its URL path, with its cover
        # image, in one query, where walking the tree takes four (the blog,
        # its own row, the article, its own row) and the image a fifth.
        if len(path_components) == 2:
            route = BlogPage.find_live_route(
                request, url_path=f"{self.url_path}{'/'.join(path_components)}/"
            )
            if route is not None:
                return route
        return super().route(request, path_components)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        images = (
            image_renditions(
                self.hero_image_id, hero=HERO_RENDITIONS, share=[SHARE_RENDITION]
            )
            or {}
        )
        context["hero"] = images.get("hero")
        context["share_image"] = images.get("share")
        context["figures"] = site_figures()
        context["articles"] = article_random_picks(count=RANDOM_ARTICLES)
        return context
