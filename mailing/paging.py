"""Paging of lists that may hold a million rows.

`CappedPaginator` counts at most `cap` rows (`SELECT count(*) FROM (... LIMIT
cap + 1)`), so a search that matches half a million clients costs the same
as one that matches ten thousand; the pages after the cap are not offered.
A list that is not a queryset is counted by its length.
"""

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    def __init__(self, *args, cap: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cap = COUNT_CAP if cap is None else cap

    @cached_property
    def exact_or_capped_count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            return self.object_list[: self.cap + 1].count()
        # A sequence that holds at most cap + 1 rows and knows how many
        # (`mailing.selectors.ClientMatches`): no query.
        return len(self.object_list)

    @cached_property
    def count(self) -> int:
        return min(self.exact_or_capped_count, self.cap)

    @property
    def is_capped(self) -> bool:
        """True when there are more rows than were counted."""
        return self.exact_or_capped_count > self.cap
