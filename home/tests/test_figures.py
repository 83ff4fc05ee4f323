"""The home page's figures: right, cached in Redis, fresh after every change."""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import TestCase
from django.utils import timezone

from blog.selectors import article_cards_prime
from home.tree import site_tree_ensure
from mailing import figures as figures_module
from mailing.engine.planner import close_finished
from mailing.figures import FIGURES, site_figures_invalidate
from mailing.models import Client, Mailing, Message
from mailing.selectors import site_figures
from tests.site_content import BROWSER_UA, make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def owners(make_user):
    return make_user("ann@example.com"), make_user("bob@example.com")


def make_mailing(owner, clients=(), **fields):
    message = Message.objects.create(owner=owner, subject="Hello", body="Hi")
    now = timezone.now()
    mailing = Mailing.objects.create(
        owner=owner,
        message=message,
        start_at=now,
        end_at=now + timedelta(days=7),
        **fields,
    )
    mailing.clients.set(clients)
    return mailing


@pytest.fixture
def known_data(owners):
    """Ann and Bob share one recipient; one of Ann's clients gets no mailing."""
    ann, bob = owners
    shared_a = Client.objects.create(owner=ann, email="shared@example.com")
    own_a = Client.objects.create(owner=ann, email="only-ann@example.com")
    Client.objects.create(owner=ann, email="nobody-mails-me@example.com")
    shared_b = Client.objects.create(owner=bob, email="Shared@Example.com ")
    own_b = Client.objects.create(owner=bob, email="only-bob@example.com")
    make_mailing(ann, [shared_a, own_a], status=Mailing.Status.RUNNING)
    make_mailing(ann, [own_a], status=Mailing.Status.RUNNING, is_active=False)
    make_mailing(bob, [shared_b, own_b], status=Mailing.Status.CREATED)
    make_mailing(bob, [], status=Mailing.Status.FINISHED)
    return ann, bob


def test_the_cache_is_redis_when_redis_url_is_set():
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set")
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def test_figures_count_mailings_active_ones_and_distinct_recipients(known_data):
    assert site_figures() == {
        "total_mailings": 4,
        # running and enabled: the disabled running one does not count
        "active_mailings": 1,
        # shared@ counts once across owners; the unmailed client not at all
        "unique_clients": 3,
    }


def test_figures_are_cached_and_read_without_a_query(
    known_data, django_assert_num_queries
):
    first = site_figures()
    assert FIGURES.get("all") == first
    with django_assert_num_queries(0):
        assert site_figures() == first


def test_a_new_mailing_shows_at_once(known_data):
    ann, _ = known_data
    site_figures()
    fresh = Client.objects.create(owner=ann, email="fresh@example.com")
    make_mailing(ann, [fresh], status=Mailing.Status.RUNNING)
    assert site_figures() == {
        "total_mailings": 5,
        "active_mailings": 2,
        "unique_clients": 4,
    }


def test_status_switch_recipients_and_client_changes_show_at_once(known_data):
    ann, bob = known_data
    site_figures()
    disabled = Mailing.objects.get(is_active=False)
    disabled.is_active = True
    disabled.save()
    assert site_figures()["active_mailings"] == 2

    mailing = Mailing.objects.filter(owner=bob).exclude(status="finished").get()
    extra = Client.objects.create(owner=bob, email="extra@example.com")
    mailing.clients.add(extra)
    assert site_figures()["unique_clients"] == 4
    mailing.clients.remove(extra)
    assert site_figures()["unique_clients"] == 3

    client = Client.objects.get(owner=bob, email="only-bob@example.com")
    client.email = "only-ann@example.com"  # now the same person as Ann's
    client.save()
    assert site_figures()["unique_clients"] == 2
    client.delete()
    assert site_figures()["unique_clients"] == 2

    Mailing.objects.filter(owner=bob).delete()
    assert site_figures()["total_mailings"] == 2


def test_saves_that_touch_no_figure_leave_the_cache_alone(known_data):
    figures = site_figures()
    mailing = Mailing.objects.filter(status="running", is_active=True).first()
    mailing.next_run_at = timezone.now()
    mailing.save(update_fields=["next_run_at", "updated_at"])
    client = Client.objects.first()
    client.full_name = "Renamed"
    client.save(update_fields=["full_name"])
    assert FIGURES.get("all") == figures
    mailing.status = Mailing.Status.FINISHED
    mailing.save(update_fields=["status", "updated_at"])
    assert FIGURES.get("all") is None
    assert site_figures()["active_mailings"] == figures["active_mailings"] - 1


def test_bulk_changes_show_after_an_explicit_invalidation(known_data):
    site_figures()
    Mailing.objects.update(status=Mailing.Status.RUNNING)  # no signals
    assert site_figures()["active_mailings"] == 1  # still the cached value
    site_figures_invalidate()
    assert site_figures()["active_mailings"] == 3


def test_a_mailing_the_engine_finishes_leaves_the_active_count(known_data):
    """The planner finishes mailings with a bulk update, which sends no signal."""
    assert site_figures()["active_mailings"] == 1
    with TestCase.captureOnCommitCallbacks(execute=True):
        close_finished(now=timezone.now() + timedelta(days=8))
    assert site_figures()["active_mailings"] == 0


def test_while_one_request_recomputes_the_others_get_the_last_figures(
    known_data, django_assert_num_queries
):
    ann, _ = known_data
    before = site_figures()
    make_mailing(ann)
    cache.add(FIGURES.lock_key("all"), True, 30)  # another request is computing
    with django_assert_num_queries(0):
        assert site_figures() == before
    cache.delete(FIGURES.lock_key("all"))
    assert site_figures()["total_mailings"] == before["total_mailings"] + 1


def test_figures_computed_across_a_change_are_not_kept_as_fresh(
    known_data, monkeypatch
):
    ann, _ = known_data
    compute = figures_module._compute

    def compute_while_a_mailing_is_added():
        result = compute()
        make_mailing(ann)  # lands after the counting, before the caching
        return result

    monkeypatch.setattr(figures_module, "_compute", compute_while_a_mailing_is_added)
    assert site_figures()["total_mailings"] == 4
    monkeypatch.setattr(figures_module, "_compute", compute)
    assert site_figures()["total_mailings"] == 5


def test_the_home_page_shows_the_figures(client, known_data):
    site_tree_ensure()
    html = client.get("/", HTTP_USER_AGENT=BROWSER_UA).content.decode()
    assert 'data-figure="total_mailings">4<' in html
    assert 'data-figure="active_mailings">1<' in html
    assert 'data-figure="unique_clients">3<' in html


def test_a_warm_home_page_costs_at_most_three_queries(
    client, known_data, django_assert_max_num_queries
):
    site_tree_ensure()
    for number in range(5):
        make_article(f"Warm article {number}")
    client.get("/", HTTP_USER_AGENT=BROWSER_UA)  # warms the caches
    article_cards_prime()  # and every article's card, not just three
    for _ in range(3):
        with django_assert_max_num_queries(3):
            response = client.get("/", HTTP_USER_AGENT=BROWSER_UA)
        assert response.status_code == 200
        assert response.content.decode().count("data-article-id=") == 3
