"""Writes of blog data: counting an article's views."""

import re

from django.conf import settings
from django.core.cache import cache
from django.db.models import F

from blog.models import BlogPage

# A visitor's first article is remembered in the session this view creates;
# the ones after it in the cache, under the session's key, so that reading
# another article writes no session row.
VIEWED_SESSION_KEY = "blog_viewed_articles"
VIEWED_CACHE_KEY = "blog:viewed:{session}:{article}"

# Crawlers, link previewers, monitors and scripts name themselves; a request
# without any User-Agent is a script too. Real browsers (headless ones
# included) do not match.
BOT_USER_AGENT = re.compile(
    r"bot|crawl|spider|slurp|archiver|preview|facebookexternalhit|embedly|"
    r"monitor|pingdom|lighthouse|curl|wget|httpie|python-requests|python-urllib|"
    r"aiohttp|httpx|go-http-client|java/|okhttp|libwww|scrapy|feedfetcher",
    re.IGNORECASE,
)


def is_bot(request) -> bool:
    """Whether the request comes from an obvious robot (by its User-Agent)."""
    user_agent = request.headers.get("User-Agent", "").strip()
    return not user_agent or bool(BOT_USER_AGENT.search(user_agent))


def article_record_view(*, article: BlogPage, request) -> bool:
    """Count one view of `article` for this visitor; return whether it counted.

    Adds one to `view_count` with a single atomic UPDATE ... SET view_count =
    view_count + 1, at most once per visitor session: a visitor's first
    article is remembered in the session (which that creates), later ones
    with an atomic `cache.add` under the session's key, for as long as a
    session lives. Previews, HEAD requests, robots and people who work in
    the admin (editors reading their own articles) are not counted.
    """
    if getattr(request, "is_preview", False) or getattr(request, "is_dummy", False):
        return False
    if request.method != "GET" or is_bot(request):
        return False
    user = getattr(request, "user", None)
    if user is not None and user.has_perm("wagtailadmin.access_admin"):
        return False
    session = getattr(request, "session", None)
    if session is None or not _first_view(session, article):
        return False
    BlogPage.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    return True


def _first_view(session, article: BlogPage) -> bool:
    if article.pk in session.get(VIEWED_SESSION_KEY, []):  # loads the session
        return False
    if session.session_key is None:
        session[VIEWED_SESSION_KEY] = [article.pk]
        return True
    key = VIEWED_CACHE_KEY.format(session=session.session_key, article=article.pk)
    return cache.add(key, True, settings.SESSION_COOKIE_AGE)
