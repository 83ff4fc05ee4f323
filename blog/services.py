"""Writes of blog data: counting an article's views."""

import re

from django.db.models import F

from blog.models import BlogPage

VIEWED_SESSION_KEY = "blog_viewed_articles"
# A session remembers this many articles; older ones may count once more.
VIEWED_REMEMBERED = 500

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
    view_count + 1, at most once per visitor session (the article's id is
    remembered in the session). Previews, HEAD requests, robots and people
    who work in the admin (editors reading their own articles) are not
    counted.
    """
    if getattr(request, "is_preview", False) or getattr(request, "is_dummy", False):
        return False
    if request.method != "GET" or is_bot(request):
        return False
    user = getattr(request, "user", None)
    if user is not None and user.has_perm("wagtailadmin.access_admin"):
        return False
    session = getattr(request, "session", None)
    if session is None:
        return False
    viewed = session.get(VIEWED_SESSION_KEY, [])
    if article.pk in viewed:
        return False
    BlogPage.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    session[VIEWED_SESSION_KEY] = [*viewed, article.pk][-VIEWED_REMEMBERED:]
    return True
