"""Test-only: the run counters as a count of the run's deliveries, the way
the engine keeps them (delivery_count, sent/failed, deferred = attempted and
not final, last_sent_at). Tests that make deliveries with factories set them
with it; engine tests compare the engine's counters with it."""

from django.db.models import Count, Max, Q

from mailing.models import Delivery, Run


def run_counters_counted(run: Run) -> dict:
    """The counters of `run`, counted from its deliveries."""
    # Bounced and complained deliveries were sent: they stay counted there.
    sent = ["sent", "bounced", "complained"]
    final = [*sent, "failed"]
    return Delivery.objects.filter(run=run).aggregate(
        delivery_count=Count("pk"),
        sent_count=Count("pk", filter=Q(status__in=sent)),
        failed_count=Count("pk", filter=Q(status="failed")),
        deferred_count=Count("pk", filter=Q(attempts__gt=0) & ~Q(status__in=final)),
        bounced_count=Count("pk", filter=Q(status="bounced")),
        complained_count=Count("pk", filter=Q(status="complained")),
        last_sent_at=Max("last_attempt_at", filter=Q(status__in=sent)),
    )


def run_counters_recompute_for_tests(*runs: Run) -> None:
    for run in runs:
        Run.objects.filter(pk=run.pk).update(**run_counters_counted(run))
