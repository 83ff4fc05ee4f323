"""Reads of blog content: listings, search and the home page's random picks.

The random picks stay cheap with many articles: the ids of live articles are
kept in the cache as one list, a pick is `random.sample` over that list (no
ORDER BY RANDOM() over the table), and each picked article is rendered from
a cached card, so a warm pick costs no query at all. Publishing, unpublishing,
moving or deleting an article drops the list and that article's card
(`blog.signals`).
"""

import random

from django.core.cache import cache
from django.db.models import F
from wagtail.images.models import Image

from blog.models import BlogIndexPage, BlogPage

LIVE_IDS_KEY = "blog:live-article-ids"
CARD_KEY = "blog:article-card:{}"
# A safety net only: the signals keep both fresh.
LIVE_IDS_TIMEOUT = 3600
CARD_TIMEOUT = 86400
PRIME_BATCH = 500
CARD_RENDITIONS = ["fill-480x270", "fill-800x450"]


def article_list(*, index_page: BlogIndexPage):
    """Live articles under `index_page`, newest first, ready for a listing."""
    return (
        BlogPage.objects.live()
        .child_of(index_page)
        .select_related("image")
        .prefetch_related("image__renditions")
        .order_by(
            F("date_published").desc(nulls_last=True), "-first_published_at", "-pk"
        )
    )


def article_search(*, index_page: BlogIndexPage, query: str):
    """Live articles under `index_page` matching `query`, best match first."""
    return (
        BlogPage.objects.live()
        .descendant_of(index_page)
        .select_related("image")
        .search(query)
    )


def article_live_ids() -> list[int]:
    """The ids of every live article, from the cache when it has them."""
    ids = cache.get(LIVE_IDS_KEY)
    if ids is None:
        ids = list(BlogPage.objects.live().order_by("pk").values_list("pk", flat=True))
        cache.set(LIVE_IDS_KEY, ids, LIVE_IDS_TIMEOUT)
    return ids


def article_random_picks(*, count: int = 3) -> list[dict]:
    """`count` different live articles chosen at random, as cards (dicts).

    A card holds what a teaser shows: title, url, introduction, date and the
    cover image's renditions (url, srcset, alt). A card whose article went
    offline since the id list was cached is skipped, never shown.
    """
    ids = article_live_ids()
    picked = random.sample(ids, min(count, len(ids)))
    if not picked:
        return []
    keys = {pk: CARD_KEY.format(pk) for pk in picked}
    cached = cache.get_many(keys.values())
    cards = {pk: cached[key] for pk, key in keys.items() if key in cached}
    missing = [pk for pk in picked if pk not in cards]
    if missing:
        fresh = _article_cards(missing)
        cache.set_many(
            {keys[pk]: card for pk, card in fresh.items()}, timeout=CARD_TIMEOUT
        )
        cards.update(fresh)
    return [cards[pk] for pk in picked if pk in cards]


def article_cards_prime() -> int:
    """Put every live article's card in the cache; return how many.

    Cards are otherwise made on first pick; priming (after a deploy, or
    before a benchmark) spares the first visitors those queries.
    """
    ids = article_live_ids()
    for start in range(0, len(ids), PRIME_BATCH):
        cards = _article_cards(ids[start : start + PRIME_BATCH])
        cache.set_many(
            {CARD_KEY.format(pk): card for pk, card in cards.items()},
            timeout=CARD_TIMEOUT,
        )
    return len(ids)


def article_cards_forget(*, article_ids) -> None:
    """Drop the id list and the given articles' cards from the cache."""
    cache.delete_many([LIVE_IDS_KEY, *(CARD_KEY.format(pk) for pk in article_ids)])


def _article_cards(article_ids) -> dict[int, dict]:
    articles = (
        BlogPage.objects.live()
        .filter(pk__in=article_ids)
        .select_related("image")
        .prefetch_related("image__renditions")
    )
    return {article.pk: _card(article) for article in articles}


def _card(article: BlogPage) -> dict:
    card = {
        "id": article.pk,
        "title": article.title,
        "url": article.url,
        "introduction": article.introduction or article.search_description,
        "date": article.publication_date,
        "image": None,
    }
    image: Image | None = article.image
    if image is not None:
        renditions = image.get_renditions(*CARD_RENDITIONS)
        small, large = (renditions[spec] for spec in CARD_RENDITIONS)
        card["image"] = {
            "url": small.url,
            "width": small.width,
            "height": small.height,
            "srcset": f"{small.url} {small.width}w, {large.url} {large.width}w",
            "alt": image.default_alt_text or image.title,
        }
    return card
