"""The client search of the client list and of the mailing form's picker:
the first matches in the list's order, found either by an ordered scan or by
the trigram indexes (whichever the first clients say is cheaper), never
counted past the cap."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mailing import selectors, views
from mailing.models import Suppression
from mailing.tests.factories import ClientFactory, MessageFactory, UserFactory
from mailing.tests.test_browser_mailing import log_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client):
    user = UserFactory()
    client.force_login(user)
    return user


@pytest.fixture
def address_book(owner):
    """40 clients: every fourth at example.org, two named Ann, one VIP."""
    for n in range(40):
        domain = "example.org" if n % 4 == 0 else "example.com"
        ClientFactory(
            owner=owner,
            email=f"c{n:02d}@{domain}",
            full_name="Ann Lee" if n in (7, 31) else f"Person {n}",
            comment="VIP" if n == 13 else "",
        )
    ClientFactory(owner=UserFactory(), email="c00@example.org", full_name="Ann")
    return owner


def _expected(owner, text, key="email"):
    text = text.lower()
    rows = [
        c
        for c in owner.clients.all()
        if text in c.email.lower()
        or text in c.full_name.lower()
        or text in c.comment.lower()
    ]
    return [c.pk for c in sorted(rows, key=lambda c: (getattr(c, key), c.pk))]


def _plan_settings(queries) -> str:
    return " ".join(q["sql"] for q in queries if "set_config" in q["sql"])


@pytest.mark.parametrize(
    "trigram_cost, forced",
    [(0, "enable_indexscan"), (10**9, "enable_bitmapscan")],
    ids=["trigram-indexes", "ordered-scan"],
)
@pytest.mark.parametrize("text", ["example.org", "ANN", "vip", "c1", "nothing"])
@pytest.mark.parametrize("sort, key", [("email", "email"), ("name", "full_name")])
def test_both_ways_find_the_first_matches_in_order(
    address_book, monkeypatch, trigram_cost, forced, text, sort, key
):
    """Whichever way the search takes after its first window, the ids are
    the first matches in the list's order, the owner's only."""
    monkeypatch.setattr(selectors, "SEARCH_WINDOW", 5)
    monkeypatch.setattr(selectors, "_TRIGRAM_COST", trigram_cost)
    expected = _expected(address_book, text, key)
    with CaptureQueriesContext(connection) as queries:
        found = selectors.client_matches(owner=address_book, search=text, sort=sort)
    assert found.ids == expected[: selectors.FEW_MATCHES + 1]
    settings = _plan_settings(queries)
    if connection.vendor != "postgresql":
        assert not settings  # SQLite has one way only
        return
    with connection.cursor() as cursor:
        # Forced for one statement only, also inside a caller's transaction.
        for method in ("indexscan", "bitmapscan", "seqscan", "sort"):
            cursor.execute(f"SHOW enable_{method}")
            assert cursor.fetchone() == ("on",)
    if text == "c1":
        # No run of three letters or digits, so no trigram: the planner
        # chooses.
        assert not settings
    elif _expected_in_window(address_book, text, key, 5):
        assert forced in settings
    else:
        # No match among the first five: only the indexes can help.
        assert "enable_indexscan" in settings


def _expected_in_window(owner, text, key, window):
    first = sorted(owner.clients.all(), key=lambda c: (getattr(c, key), c.pk))
    return [c.pk for c in first[:window] if c.pk in _expected(owner, text, key)]


def test_a_window_with_enough_matches_is_the_answer(address_book, monkeypatch):
    """When the first clients in the list's order hold enough matches, one
    query answers and the planner is left alone."""
    monkeypatch.setattr(selectors, "PICKER_WINDOW", 30)
    with CaptureQueriesContext(connection) as queries:
        clients, more = selectors.client_search(
            owner=address_book, text="EXAMPLE", limit=3
        )
    assert [c.email for c in clients] == [
        "c00@example.org",
        "c01@example.com",
        "c02@example.com",
    ]
    assert more is True
    assert not _plan_settings(queries)
    assert sum('FROM "mailing_client"' in q["sql"] for q in queries) == 2


def test_picker_says_whether_more_match(client, address_book):
    url = reverse("mailing:client_search")
    answer = client.get(url, {"q": "example.org"}).json()
    assert [r["email"] for r in answer["results"]] == [
        f"c{n:02d}@example.org" for n in range(0, 40, 4)
    ]
    assert answer["more"] is False
    answer = client.get(url, {"q": "example"}).json()
    assert len(answer["results"]) == 20 and answer["more"] is True
    assert client.get(url, {"q": "ann lee"}).json() == {
        "results": [
            {
                "id": r.pk,
                "email": r.email,
                "full_name": "Ann Lee",
                "label": f"Ann Lee <{r.email}>",
            }
            for r in address_book.clients.filter(full_name="Ann Lee").order_by("email")
        ],
        "more": False,
    }
    assert client.get(url, {"q": "zzz\x00"}).json() == {"results": [], "more": False}


def test_search_list_says_more_than_the_cap_without_counting(
    client, address_book, monkeypatch
):
    """A search lists the first matches up to the cap in the chosen order,
    says "N+" when there are more, and runs no COUNT."""
    monkeypatch.setattr(selectors, "FEW_MATCHES", 5)
    url = reverse("mailing:client_list")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"q": "example.com", "sort": "-email"})
    page = response.context["page_obj"]
    assert page.paginator.is_capped and page.paginator.count == 5
    assert re.search(r"data-client-count>\s*5\+", response.content.decode())
    assert [c.email for c in page] == [
        f"c{n:02d}@example.com" for n in (39, 38, 37, 35, 34)
    ]
    assert not [q for q in queries if "COUNT(" in q["sql"].upper()]
    response = client.get(url, {"q": "ann lee"})
    page = response.context["page_obj"]
    assert not page.paginator.is_capped and page.paginator.count == 2
    assert re.search(r"data-client-count>\s*2<", response.content.decode())


def test_search_list_pages_through_the_found_matches(client, address_book, monkeypatch):
    """Each page shows its slice of the matches, with the suppression badge
    data, and a page past the end shows the last one."""

    monkeypatch.setattr(views, "PER_PAGE", 4)
    Suppression.objects.create(
        owner=address_book, email="c36@example.org", reason="manual"
    )
    url = reverse("mailing:client_list")
    pages = [
        [
            c.email
            for c in client.get(url, {"q": "example.org", "page": n}).context[
                "page_obj"
            ]
        ]
        for n in (1, 2, 3, 99)
    ]
    everyone = [f"c{n:02d}@example.org" for n in range(0, 40, 4)]
    assert pages == [everyone[:4], everyone[4:8], everyone[8:], everyone[8:]]
    last = client.get(url, {"q": "example.org", "page": 3}).context["page_obj"]
    assert [c.suppression_reason for c in last] == [None, "manual"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_picker_tells_to_type_more_when_more_match(page, queued_runs):
    """The picker shows the first 20 matches and, when more match, a line
    asking for more of the address or name, which goes once they fit."""

    owner = UserFactory()
    MessageFactory(owner=owner)
    for n in range(22):
        ClientFactory(owner=owner, email=f"bo{n:02d}@example.net", full_name="Bo")
    log_in(page, owner.email)
    page.goto("/app/mailings/new/")
    picker = page.locator("[data-picker-input]")
    results = page.locator("[data-picker-results] [data-client-id]")
    more = page.locator("[data-picker-results] [data-picker-more]")
    picker.fill("bo")
    more.wait_for()
    assert results.count() == 20
    assert more.inner_text() == (
        "More clients match: type more of the address or name."
    )
    picker.fill("bo2")
    page.get_by_role("option", name="Bo <bo21@example.net>").wait_for()
    assert results.count() == 2 and more.count() == 0
