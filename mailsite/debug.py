"""Error reports that do not run the queries they show.

Django's debug 500 page (and the error mail built the same way) prints every
local variable of every frame with repr(), and repr() of a QuerySet fetches
its first rows, and a Page's repr() counts its paginator: a page that failed
because a query was slow would run that query again just to report it. This
filter shows such values unevaluated instead: the model and the SQL.
"""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.views.debug import SafeExceptionReporterFilter

_NESTING = 3


class Unevaluated:
    """Stands in for a QuerySet (or a paginator that has not counted yet) in
    an error report: its repr() is the SQL, and it never queries."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self):
        return self.text


def _sql(queryset: QuerySet) -> str:
    try:
        return str(queryset.query)
    except Exception as error:  # EmptyResultSet and the like: say so
        return f"(no SQL: {error!r})"


def unevaluated(value, depth: int = 0):
    """The value as an error report may show it without a database query."""
    if isinstance(value, QuerySet):
        if value._result_cache is not None:
            return value
        return Unevaluated(
            f"<{type(value).__name__} of {value.model.__name__}, "
            f"not evaluated: {_sql(value)}>"
        )
    if isinstance(value, Paginator) and "count" not in value.__dict__:
        return Unevaluated(f"<{type(value).__name__}, not counted>")
    if isinstance(value, Page) and "count" not in value.paginator.__dict__:
        return Unevaluated(f"<Page {value.number}, not counted>")
    if depth < _NESTING and type(value) in (list, tuple, set):
        return type(value)(unevaluated(item, depth + 1) for item in value)
    if depth < _NESTING and type(value) is dict:
        return {key: unevaluated(item, depth + 1) for key, item in value.items()}
    return value


class UnevaluatedQuerySetFilter(SafeExceptionReporterFilter):
    """Django's safe filter (settings, POST data and sensitive variables
    cleansed) that also leaves querysets and paginators unevaluated."""

    def cleanse_special_types(self, request, value):
        return super().cleanse_special_types(request, unevaluated(value))
