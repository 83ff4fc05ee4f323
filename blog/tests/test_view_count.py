"""An article's view counter: atomic, once per session, never for robots,
previews or editors."""

import threading

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from wagtail.models import PageViewRestriction
from wagtail.views import serve

from blog.models import BlogPage
from tests.site_content import BROWSER_UA, make_article


def views(article) -> int:
    return BlogPage.objects.get(pk=article.pk).view_count


@pytest.fixture
def article(db):
    return make_article("Counted")


@pytest.mark.django_db
def test_a_visit_counts_once_per_session(client, article):
    assert client.get(article.url, HTTP_USER_AGENT=BROWSER_UA).status_code == 200
    assert views(article) == 1
    client.get(article.url, HTTP_USER_AGENT=BROWSER_UA)
    client.get(article.url, HTTP_USER_AGENT=BROWSER_UA)
    assert views(article) == 1
    Client().get(article.url, HTTP_USER_AGENT=BROWSER_UA)
    assert views(article) == 2


@pytest.mark.django_db
def test_the_visitor_sees_their_own_view_counted(client, article):
    html = client.get(article.url, HTTP_USER_AGENT=BROWSER_UA).content.decode()
    assert '<span data-testid="view-count">1 view</span>' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "user_agent",
    [
        "",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "facebookexternalhit/1.1",
        "curl/8.5.0",
        "python-requests/2.32",
    ],
)
def test_robots_do_not_count(client, article, user_agent):
    assert client.get(article.url, HTTP_USER_AGENT=user_agent).status_code == 200
    assert views(article) == 0


def visitor_request(article, **attributes):
    request = RequestFactory(HTTP_USER_AGENT=BROWSER_UA).get(article.url)
    request.user = AnonymousUser()
    request.session = SessionStore()
    for name, value in attributes.items():
        setattr(request, name, value)
    return request


@pytest.mark.django_db
def test_previews_do_not_count(article):
    article.serve_preview(visitor_request(article), "")
    serve(visitor_request(article, is_preview=True), article.url)
    serve(visitor_request(article, is_dummy=True), article.url)
    assert views(article) == 0
    serve(visitor_request(article), article.url)  # the same request, not a preview
    assert views(article) == 1


@pytest.mark.django_db
def test_a_visitor_asked_to_log_in_does_not_count(client, article):
    PageViewRestriction.objects.create(
        page=article, restriction_type=PageViewRestriction.LOGIN
    )
    response = client.get(article.url, HTTP_USER_AGENT=BROWSER_UA)
    assert response.status_code == 302
    assert views(article) == 0


@pytest.mark.django_db
def test_the_admins_draft_view_does_not_count(client, article, superuser):
    client.force_login(superuser)
    response = client.get(
        f"/cms/pages/{article.pk}/view_draft/", HTTP_USER_AGENT=BROWSER_UA
    )
    assert response.status_code == 200
    assert b"Counted" in response.content
    assert views(article) == 0


@pytest.mark.django_db
def test_editors_reading_articles_do_not_count(client, article, content_manager):
    client.force_login(content_manager)
    client.get(article.url, HTTP_USER_AGENT=BROWSER_UA)
    assert views(article) == 0


@pytest.mark.django_db
def test_publishing_keeps_views_counted_since_the_page_was_loaded(client, article):
    stale = BlogPage.objects.get(pk=article.pk)
    Client().get(article.url, HTTP_USER_AGENT=BROWSER_UA)
    Client().get(article.url, HTTP_USER_AGENT=BROWSER_UA)
    stale.title = "Counted, edited"
    stale.save_revision().publish()
    article.refresh_from_db()
    assert article.title == "Counted, edited"
    assert article.view_count == 2


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_sessions_count_exactly_fifty():
    """Fifty visitors at once, each in its own thread, session and connection."""
    article = make_article("Busy")
    # The tests' InMemoryStorage shares one stream per file between threads,
    # so fifty first renderings reading the original image at once would
    # break it. A robot's visit (not counted) makes the renditions first.
    assert Client().get(article.url).status_code == 200
    assert views(article) == 0
    sessions = 50
    barrier = threading.Barrier(sessions)
    statuses = []
    errors = []

    def visit():
        try:
            visitor = Client(HTTP_USER_AGENT=BROWSER_UA)
            barrier.wait(timeout=30)
            statuses.append(visitor.get(article.url).status_code)
            # A second view in the same session adds nothing.
            statuses.append(visitor.get(article.url).status_code)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=visit) for _ in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert statuses == [200] * (2 * sessions)
    assert views(article) == sessions


@pytest.mark.django_db
def test_a_returning_visitors_warm_article_page_costs_at_most_five_queries():
    """The session, routing (site, home page, the article with its cover
    image) and the counter's UPDATE; the session is not written again."""
    first, second = make_article("Read first"), make_article("Read next")
    Client().get(second.url, HTTP_USER_AGENT=BROWSER_UA)  # renditions, caches
    visitor = Client(HTTP_USER_AGENT=BROWSER_UA)
    visitor.get(first.url)  # the visitor's session
    with CaptureQueriesContext(connection) as queries:
        response = visitor.get(second.url)
    assert response.status_code == 200
    assert views(second) == 2  # the first Client counted one too
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) <= 5, "\n".join(statements)
    assert not any(
        sql.startswith(("UPDATE", "INSERT")) and "django_session" in sql
        for sql in statements
    )
    visitor.get(second.url)
    visitor.get(first.url)
    assert (views(first), views(second)) == (1, 2)
