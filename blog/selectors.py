"""Reads of blog content for other pages: the home page's random picks.

The random picks stay cheap with many articles. The live articles (id and
live revision) are one list in the `ARTICLES` cache namespace, also kept in
each process while its version stands; a pick is `random.sample` over it
(no ORDER BY RANDOM() over the table), and each picked article is rendered
from its card in the `CARDS` namespace, so a warm pick costs no query.

A card's key carries the article's live revision, so publishing a new
revision makes a new card; publishing, unpublishing, moving or deleting an
article invalidates the list, and a move, a changed slug or a changed cover
image invalidates the cards (`blog.signals`, see `site_common.cache`).
"""

import random

from blog.models import BlogPage
from site_common.cache import Namespace

# Safety nets only: the signals keep both fresh.
ARTICLES = Namespace("blog:live-articles", timeout=3600)
CARDS = Namespace("blog:article-cards", timeout=86400)
PRIME_BATCH = 500


def article_live_ids() -> list[int]:
    """The ids of every live article, from the cache when it has them."""
    return [pk for pk, _ in _live_articles()]


def article_random_picks(*, count: int = 3) -> list[dict]:
    """`count` different live articles chosen at random, as cards (dicts,
    see `BlogPage.card`). A card whose article went offline since the list
    was cached is skipped, never shown."""
    live = _live_articles()
    picked = random.sample(live, min(count, len(live)))
    if not picked:
        return []
    parts = {pk: _card_part(pk, revision) for pk, revision in picked}
    cached = CARDS.get_many(parts.values())
    cards = {pk: cached[part] for pk, part in parts.items() if part in cached}
    missing = [pk for pk in parts if pk not in cards]
    if missing:
        fresh = _article_cards(missing)
        CARDS.set_many({parts[pk]: card for pk, card in fresh.items()})
        cards.update(fresh)
    return [cards[pk] for pk in parts if pk in cards]


def article_cards_prime() -> int:
    """Put every live article's card in the cache; return how many.

    Cards are otherwise made on first pick; priming (after a deploy, or
    before a benchmark) spares the first visitors those queries.
    """
    live = _live_articles()
    revisions = dict(live)
    for start in range(0, len(live), PRIME_BATCH):
        batch = [pk for pk, _ in live[start : start + PRIME_BATCH]]
        cards = _article_cards(batch)
        CARDS.set_many(
            {_card_part(pk, revisions[pk]): card for pk, card in cards.items()}
        )
    return len(live)


def _live_articles() -> list[tuple[int, int | None]]:
    return ARTICLES.get_or_set(
        "live",
        lambda: list(
            BlogPage.objects.live().order_by("pk").values_list("pk", "live_revision_id")
        ),
        memo=True,
    )


def _card_part(pk: int, revision: int | None) -> str:
    return f"{pk}:{revision}"


def _article_cards(article_ids) -> dict[int, dict]:
    articles = (
        BlogPage.objects.live()
        .filter(pk__in=article_ids)
        .select_related("image")
        .prefetch_related("image__renditions")
    )
    return {article.pk: article.card() for article in articles}
