"""?page=N of a listing: the first page by default, the last when out of range."""

import pytest
from django.test import RequestFactory

from site_common.pagination import paginate


@pytest.mark.parametrize(
    ("asked", "number"), [(None, 1), ("2", 2), ("x", 1), ("99", 3), ("-1", 3)]
)
def test_the_page_asked_for_or_the_nearest_one(asked, number):
    query = {} if asked is None else {"page": asked}
    page = paginate(RequestFactory().get("/", query), list(range(20)), per_page=9)
    assert page.number == number
    assert len(page.object_list) == (2 if number == 3 else 9)
