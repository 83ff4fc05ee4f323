from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.viewsets.pages import PageListingViewSet

from blog.models import BlogPage
from blog.services import article_record_view


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


# After Wagtail's own view restriction check (order 0), so that a visitor
# who is asked to log in or for a password does not count.
@hooks.register("on_serve_page", order=100)
def count_article_views(serve):
    """Count a view of every article served to a visitor (see
    `article_record_view` for who counts). Previews do not pass here."""

    def counting_serve(page, request, serve_args, serve_kwargs):
        # Decided before Page.serve, which resets request.is_preview.
        if isinstance(page, BlogPage) and article_record_view(
            article=page, request=request
        ):
            # Show the visitor their own view without reading the row back.
            page.view_count += 1
        return serve(page, request, serve_args, serve_kwargs)

    return counting_serve
