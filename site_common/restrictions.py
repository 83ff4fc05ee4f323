"""Page view restrictions, read from the cache instead of two queries a page.

Wagtail checks every page it serves for view restrictions (private pages,
passwords, groups) on the page and its ancestors, which costs two queries on
every request even when, as usual, there are none. The few restrictions a
site has are kept in the `RESTRICTIONS` cache namespace as one list,
invalidated whenever a restriction or a page's place in the tree changes.
"""

from django.db.models.signals import post_delete, post_save
from wagtail.models import PageViewRestriction
from wagtail.signals import post_page_move

from site_common.cache import Namespace

RESTRICTIONS = Namespace("site:page-view-restrictions", timeout=3600)


class CachedViewRestrictionsMixin:
    """For page models: `get_view_restrictions()` answered from the cache."""

    def get_view_restrictions(self):
        if self.alias_of_id:
            # An alias takes its source's restrictions; let Wagtail resolve it.
            return super().get_view_restrictions()
        # Still a queryset, as callers expect; `pk__in=[]` runs no query.
        return PageViewRestriction.objects.filter(
            pk__in=[
                pk for path, pk in view_restrictions_all() if self.path.startswith(path)
            ]
        )


def view_restrictions_all() -> list[tuple[str, int]]:
    """(page path, restriction id) for every view restriction of the site."""
    return RESTRICTIONS.get_or_set(
        "all",
        lambda: list(PageViewRestriction.objects.values_list("page__path", "pk")),
    )


def _changed(**kwargs) -> None:
    RESTRICTIONS.invalidate()


def connect_receivers() -> None:
    """Connect the invalidating receivers (called from SiteCommonConfig.ready)."""
    post_save.connect(_changed, sender=PageViewRestriction, dispatch_uid="pvr_save")
    post_delete.connect(_changed, sender=PageViewRestriction, dispatch_uid="pvr_del")
    post_page_move.connect(_changed, dispatch_uid="pvr_move")
