"""Test-only: set the run counters from the deliveries, the way the engine
keeps them (delivery_count, sent/failed, deferred = attempted and not final,
last_sent_at), for tests that make deliveries with factories instead of
sending them through the engine."""

from django.db.models import Count, Max, Q

from mailing.models import Run


def run_counters_recompute_for_tests(*runs: Run) -> None:
    final = ["sent", "failed"]
    counted = Run.objects.filter(pk__in=[run.pk for run in runs]).annotate(
        n=Count("deliveries"),
        sent=Count("deliveries", filter=Q(deliveries__status="sent")),
        failed=Count("deliveries", filter=Q(deliveries__status="failed")),
        deferred=Count(
            "deliveries",
            filter=Q(deliveries__attempts__gt=0) & ~Q(deliveries__status__in=final),
        ),
        last=Max("deliveries__last_attempt_at", filter=Q(deliveries__status="sent")),
    )
    for run in counted:
        Run.objects.filter(pk=run.pk).update(
            delivery_count=run.n,
            sent_count=run.sent,
            failed_count=run.failed,
            deferred_count=run.deferred,
            last_sent_at=run.last,
        )
