"""site_common.cache: versioned namespaces, invalidated by bumping the version."""

import pytest
from django.core.cache import cache
from django.test import TestCase

from site_common.cache import Namespace

pytestmark = pytest.mark.django_db


@pytest.fixture
def things():
    return Namespace("test:things", timeout=60)


def counter():
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    return compute, calls


def test_a_value_is_computed_once_then_read_from_the_cache(things):
    compute, calls = counter()
    assert things.get_or_set("a", compute) == 1
    assert things.get_or_set("a", compute) == 1
    assert len(calls) == 1


def test_invalidating_makes_every_value_of_the_namespace_stale(things):
    things.set_many({"a": 1, "b": 2})
    other = Namespace("test:others", timeout=60)
    other.set("a", 3)
    things.invalidate()
    assert things.get_many(["a", "b"]) == {}
    assert other.get("a") == 3


def test_invalidating_inside_a_transaction_invalidates_again_at_commit(things):
    """A value cached by a reader between the change and the commit (it saw
    the data before the change) is not served after the commit."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        things.invalidate()
        things.set("a", "read before the commit")
    assert things.get("a") is None


def test_a_value_computed_across_an_invalidation_is_not_kept_as_fresh(things):
    def compute_while_the_data_changes():
        things.invalidate()
        return "old"

    assert things.get_or_set("a", compute_while_the_data_changes) == "old"
    assert things.get_or_set("a", lambda: "new") == "new"


def test_a_lost_version_never_brings_back_old_values(things):
    things.set("a", "old")
    cache.delete(things._version_key)  # evicted, say
    assert things.get("a") is None


def test_while_one_caller_recomputes_the_others_get_the_last_value():
    figures = Namespace("test:figures", timeout=60, serve_stale=True)
    assert figures.get_or_set("a", lambda: "first") == "first"
    figures.invalidate()
    cache.add(figures.lock_key("a"), True, 30)  # another caller is computing
    assert figures.get_or_set("a", lambda: "second") == "first"
    cache.delete(figures.lock_key("a"))
    assert figures.get_or_set("a", lambda: "second") == "second"


def test_a_value_past_its_timeout_is_stale_but_served_while_recomputed():
    figures = Namespace("test:figures", timeout=0, serve_stale=True)
    assert figures.get_or_set("a", lambda: "first") == "first"
    assert figures.get("a") is None  # stale at once
    cache.add(figures.lock_key("a"), True, 30)
    assert figures.get_or_set("a", lambda: "second") == "first"
    cache.delete(figures.lock_key("a"))
    assert figures.get_or_set("a", lambda: "second") == "second"


def test_a_memoised_value_is_read_again_after_an_invalidation(things):
    compute, calls = counter()
    assert things.get_or_set("a", compute, memo=True) == 1
    cache.delete(things.key("a"))  # only the version is read while it stands
    assert things.get_or_set("a", compute, memo=True) == 1
    things.invalidate()
    assert things.get_or_set("a", compute, memo=True) == 2
