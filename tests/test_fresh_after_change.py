"""An editor's change shows at once on pages served from the caches
(site_common.cache): articles, their cards and cover images, the home page's
hero, page view restrictions and the site figures."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from wagtail.models import PageViewRestriction

from mailing.models import Client, Mailing, Message
from tests.site_content import BROWSER_UA, blog_index, make_article, make_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(client):
    def get(path="/"):
        response = client.get(path, HTTP_USER_AGENT=BROWSER_UA)
        assert response.status_code == 200, response.status_code
        return response.content.decode()

    return get


def card_image_urls(html: str) -> list[str]:
    return re.findall(r'<img class="card-img-top[^>]* src="([^"]+)"', html)


def test_a_published_article_joins_the_home_page(visit):
    make_article("First")
    assert "First" in visit()  # cached now
    make_article("Second")
    assert "Second" in visit()


def test_an_edited_article_shows_its_new_title_on_the_home_page(visit):
    article = make_article("Old title")
    assert "Old title" in visit()
    article.title = "New title"
    article.save_revision().publish()
    html = visit()
    assert "New title" in html
    assert "Old title" not in html


def test_an_unpublished_article_leaves_the_home_page_and_the_blog(visit):
    article = make_article("Withdrawn")
    assert "Withdrawn" in visit()
    assert "Withdrawn" in visit("/blog/")
    article.unpublish()
    assert "Withdrawn" not in visit()
    assert "Withdrawn" not in visit("/blog/")


def test_a_changed_cover_image_shows_on_the_home_page_card(visit):
    article = make_article("Illustrated")
    before = card_image_urls(visit())
    image = article.image
    image.set_focal_point(image.get_rect().__class__(0, 0, 200, 200))
    image.title = "Renamed cover"
    image.save()
    html = visit()
    after = card_image_urls(html)
    assert before and after and before != after
    assert 'alt="Renamed cover"' in html


def test_a_new_cover_image_shows_on_the_home_page_card(visit):
    article = make_article("Recovered")
    before = card_image_urls(visit())
    article.image = make_image("Another cover")
    article.save_revision().publish()
    html = visit()
    assert card_image_urls(html) != before
    assert 'alt="Another cover"' in html


def test_a_changed_hero_image_shows_on_the_home_page(visit):
    home = blog_index().get_parent().specific
    home.hero_image = make_image("Hero")
    home.save_revision().publish()
    before = re.search(r'<img src="([^"]+)"', visit()).group(1)
    image = home.hero_image
    image.set_focal_point(image.get_rect().__class__(0, 0, 100, 100))
    image.description = "A new hero"
    image.save()
    html = visit()
    assert re.search(r'<img src="([^"]+)"', html).group(1) != before
    assert 'alt="A new hero"' in html


def test_a_new_view_restriction_applies_at_once_and_its_removal_too(client, visit):
    blog = blog_index()
    make_article("Members only")
    visit("/blog/")  # the restrictions are cached now
    restriction = PageViewRestriction.objects.create(
        page=blog, restriction_type=PageViewRestriction.LOGIN
    )
    for path in ("/blog/", "/blog/feed/"):
        response = client.get(path, HTTP_USER_AGENT=BROWSER_UA)
        assert response.status_code == 302, path
        assert "/login/" in response["Location"]
    restriction.delete()
    assert "Members only" in visit("/blog/")


def test_a_new_mailing_shows_in_the_home_page_figures(visit, customer):
    blog_index()
    assert 'data-figure="total_mailings">0<' in visit()
    now = timezone.now()
    mailing = Mailing.objects.create(
        owner=customer,
        message=Message.objects.create(owner=customer, subject="Hi", body="Hi"),
        start_at=now,
        end_at=now + timedelta(days=1),
        status=Mailing.Status.RUNNING,
    )
    mailing.clients.add(Client.objects.create(owner=customer, email="a@example.com"))
    html = visit()
    assert 'data-figure="total_mailings">1<' in html
    assert 'data-figure="active_mailings">1<' in html
    assert 'data-figure="unique_clients">1<' in html
