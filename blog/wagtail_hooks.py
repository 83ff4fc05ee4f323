from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.viewsets.pages import PageListingViewSet

from blog.models import BlogPage


class ArticleListingViewSet(PageListingViewSet):
    """Admin menu "Articles": every article with its views and publication date."""

    model = BlogPage
    icon = "doc-full-inverse"
    menu_label = _("Articles")
    menu_order = 150
    add_to_admin_menu = True
    name = "articles"
    columns = [
        *PageListingViewSet.columns[:2],
        Column("view_count", label=_("Views"), sort_key="view_count", width="10%"),
        DateColumn(
            "date_published",
            label=_("Published"),
            sort_key="date_published",
            width="14%",
        ),
        *PageListingViewSet.columns[2:],
    ]


@hooks.register("register_admin_viewset")
def register_article_listing():
    return ArticleListingViewSet()
