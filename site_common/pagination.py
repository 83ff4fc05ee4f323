"""Splitting a listing into pages of ?page=N."""

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator

PER_PAGE = 9


def paginate(request, items, per_page: int = PER_PAGE) -> Page:
    """The page of `items` asked for by ?page=, the last one when out of range."""
    paginator = Paginator(items, per_page)
    try:
        return paginator.page(request.GET.get("page", 1))
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)
