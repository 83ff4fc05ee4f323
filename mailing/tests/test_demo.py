"""The demo seeder makes mailings in every status, and running it twice
doubles nothing."""

import io

import pytest

from mailing import demo
from mailing.models import Client, Delivery, Mailing, Run


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
    assert not Delivery.objects.exclude(status__in=["sent", "failed"]).exists()


@pytest.mark.django_db
def test_seeded_runs_carry_the_counters_the_pages_read():
    """The demo's statistics show on the pages: each run's counters match
    its deliveries."""
    from django.db.models import Count, Max, Q

    demo.seed(stdout=io.StringIO())
    runs = Run.objects.annotate(
        n=Count("deliveries"),
        sent=Count("deliveries", filter=Q(deliveries__status="sent")),
        failed=Count("deliveries", filter=Q(deliveries__status="failed")),
        last=Max("deliveries__last_attempt_at", filter=Q(deliveries__status="sent")),
    )
    assert runs.exists()
    for run in runs:
        assert (run.delivery_count, run.sent_count, run.failed_count) == (
            run.n,
            run.sent,
            run.failed,
        )
        assert run.last_sent_at == run.last
