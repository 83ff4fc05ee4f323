"""What search engines, feed readers and link previews see."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from blog.models import BlogPage
from tests.site_content import BROWSER_UA, blog_index, make_article

pytestmark = pytest.mark.django_db
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture
def published():
    return [make_article(f"Published {n}") for n in range(3)]


@pytest.fixture
def draft():
    return make_article("Secret draft", live=False)


def test_sitemap_is_xml_listing_live_articles_only(client, published, draft):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    locations = [loc.text for loc in root.findall("s:url/s:loc", SITEMAP_NS)]
    paths = {location.split("://", 1)[1].split("/", 1)[1] for location in locations}
    for article in published:
        assert article.url.lstrip("/") in paths
    assert draft.url is None or draft.url.lstrip("/") not in paths
    assert "" in paths  # the home page
    assert "blog/" in paths


def test_feed_is_rss_listing_live_articles_newest_first(client, published, draft):
    newest = published[1]
    BlogPage.objects.filter(pk=newest.pk).update(
        date_published=timezone.now() + timedelta(hours=1)
    )
    response = client.get("/blog/feed/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ET.fromstring(response.content).find("channel")
    titles = [item.findtext("title") for item in channel.findall("item")]
    assert titles[0] == newest.title
    assert set(titles) == {article.title for article in published}
    links = [item.findtext("link") for item in channel.findall("item")]
    assert all(link.startswith("http") for link in links)


def test_robots_txt_points_to_the_sitemap_and_hides_private_areas(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text
    for private in ("/cms/", "/app/", "/accounts/"):
        assert f"Disallow: {private}" in text


def test_article_page_has_seo_and_open_graph_tags(client):
    article = make_article(
        "Deliverability",
        seo_title="Deliverability, explained",
        search_description="Why mail lands in the inbox.",
    )
    html = client.get(article.url, HTTP_USER_AGENT=BROWSER_UA).content.decode()
    assert "<title>Deliverability, explained · Mailsite</title>" in html
    assert '<meta name="description" content="Why mail lands in the inbox.">' in html
    assert '<meta property="og:title" content="Deliverability, explained">' in html
    assert '<meta property="og:type" content="article">' in html
    url = f"http://testserver{article.url}"
    assert f'<meta property="og:url" content="{url}">' in html
    assert f'<link rel="canonical" href="{url}">' in html
    assert '<meta property="og:image" content="http://testserver/' in html
    assert "fill-1200x630" in html
    assert 'srcset="' in html and "800w" in html


def test_home_and_blog_have_canonical_and_open_graph_tags(client, published):
    home = client.get("/", HTTP_USER_AGENT=BROWSER_UA).content.decode()
    assert '<link rel="canonical" href="http://testserver/">' in home
    assert '<meta property="og:url" content="http://testserver/">' in home
    blog = client.get("/blog/").content.decode()
    assert '<link rel="canonical" href="http://testserver/blog/">' in blog
    assert 'type="application/rss+xml"' in blog


def test_search_finds_articles_by_their_words(client, published):
    make_article("Bounce handling", introduction="What a 550 reply means.")
    response = client.get("/blog/search/", {"q": "bounce"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Bounce handling" in html
    assert "Published 0" not in html
    assert "noindex" in html
    assert client.get("/blog/search/", {"q": "zzzzqqq"}).status_code == 200


def test_blog_lists_newest_first_with_date_views_and_image(client):
    index = blog_index()
    older = make_article("Older", date_published=timezone.now() - timedelta(days=2))
    newer = make_article("Newer", date_published=timezone.now() - timedelta(days=1))
    BlogPage.objects.filter(pk=older.pk).update(view_count=7)
    html = client.get(index.url).content.decode()
    assert html.index("Newer") < html.index("Older")
    assert "7 views" in html
    assert newer.date_published.strftime("%Y") in html
    assert 'class="card-img-top' in html


def test_blog_is_paginated(client):
    for number in range(11):
        make_article(f"Paged {number:02d}")
    first = client.get("/blog/").content.decode()
    second = client.get("/blog/", {"page": 2}).content.decode()
    assert first.count("data-article-id=") == 9
    assert second.count("data-article-id=") == 2
    assert 'href="http://testserver/blog/?page=2"' in second
    assert client.get("/blog/", {"page": "x"}).status_code == 200
    assert client.get("/blog/", {"page": 99}).status_code == 200


def test_publication_date_defaults_to_the_first_publication():
    article = make_article("No date given")
    assert article.date_published is not None
    assert article.date_published == article.first_published_at
    dated = make_article(
        "Backdated", date_published=timezone.now() - timedelta(days=30)
    )
    assert dated.date_published < dated.first_published_at
