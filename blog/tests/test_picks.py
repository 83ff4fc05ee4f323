"""The home page's three random articles."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from blog.selectors import article_live_ids, article_random_picks
from tests.site_content import BROWSER_UA, make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles():
    live = [make_article(f"Live {n}") for n in range(12)]
    drafts = [make_article(f"Draft {n}", live=False) for n in range(3)]
    return live, drafts


def test_picks_are_three_different_live_articles(articles):
    live, _ = articles
    live_ids = {article.pk for article in live}
    for _ in range(30):
        picks = article_random_picks(count=3)
        ids = [card["id"] for card in picks]
        assert len(ids) == 3
        assert len(set(ids)) == 3
        assert set(ids) <= live_ids


def test_picks_differ_from_call_to_call(articles):
    seen = {tuple(card["id"] for card in article_random_picks()) for _ in range(20)}
    # 12 articles make 1320 ordered triples: 20 draws that all agree would
    # mean there is no randomness at all.
    assert len(seen) > 5


def test_picks_never_order_the_whole_table_at_random(articles):
    with CaptureQueriesContext(connection) as queries:
        article_random_picks()
    sql = " ".join(query["sql"].upper() for query in queries.captured_queries)
    assert "RANDOM()" not in sql
    assert "ORDER BY ?" not in sql


def test_unpublished_and_deleted_articles_leave_the_picks(articles):
    live, _ = articles
    article_live_ids()  # cached now
    gone, deleted = live[0], live[1]
    gone.unpublish()
    deleted.delete()
    for _ in range(30):
        ids = {card["id"] for card in article_random_picks()}
        assert gone.pk not in ids
        assert deleted.pk not in ids
    assert set(article_live_ids()) == {a.pk for a in live[2:]}


def test_a_newly_published_article_joins_the_picks(articles):
    article_live_ids()
    fresh = make_article("Fresh off the press")
    assert fresh.pk in article_live_ids()


def test_cards_carry_title_link_and_responsive_image(articles):
    card = article_random_picks(count=1)[0]
    assert card["title"].startswith("Live")
    assert card["url"].startswith("/blog/article-")
    assert "480w" in card["image"]["srcset"]
    assert "800w" in card["image"]["srcset"]


def test_fewer_articles_than_picks_shows_them_all(client):
    only = make_article("The only one")
    assert [card["id"] for card in article_random_picks(count=3)] == [only.pk]
    html = client.get("/", HTTP_USER_AGENT=BROWSER_UA).content.decode()
    assert f'data-article-id="{only.pk}"' in html
