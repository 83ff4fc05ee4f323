"""The demo seeder makes mailings in every status, and running it twice
doubles nothing."""

import io

import pytest

from mailing import demo
from mailing.models import Client, Delivery, Mailing, Run, Suppression
from mailing.tests.engine_support import assert_counters_match


@pytest.mark.django_db
def test_seed_is_idempotent():
    demo.seed(stdout=io.StringIO())
    counts = [m.objects.count() for m in (Client, Mailing, Run, Delivery)]
    demo.seed(stdout=io.StringIO())
    assert [m.objects.count() for m in (Client, Mailing, Run, Delivery)] == counts
    statuses = set(Mailing.objects.values_list("status", flat=True))
    assert statuses == {"created", "running", "finished"}
    assert Mailing.objects.filter(is_paused=True).exists()
    assert Mailing.objects.filter(is_active=False).exists()
    replies = set(Delivery.objects.values_list("server_response", flat=True))
    assert any(r.startswith("250 ") for r in replies)
    assert any(r.startswith("550 ") for r in replies)
    assert not Delivery.objects.exclude(
        status__in=["sent", "failed", "bounced"]
    ).exists()
    # A message that bounced later, and its address suppressed for it.
    bounced = Delivery.objects.get(status="bounced")
    entry = Suppression.objects.get(email=bounced.email)
    assert entry.reason == "hard_bounce"
    assert entry.source.endswith(f"delivery #{bounced.pk}")


@pytest.mark.django_db
def test_demo_runs_carry_the_counters_the_engine_keeps():
    """Pages read run counters; the seeded runs have them right."""
    demo.seed(stdout=io.StringIO())
    for run in Run.objects.all():
        assert_counters_match(run)
