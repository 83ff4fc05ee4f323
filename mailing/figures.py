"""The site-wide figures on the home page, cached and kept fresh.

`site_figures()` reads them from the cache (Redis in production) and
computes them on a miss. Saving or deleting a mailing or a client, or
changing a mailing's recipients, drops the cached figures (the receivers
below, connected by the mailing app). Bulk operations (`QuerySet.update()`,
`bulk_create()`, raw SQL) send no signals: services that use them call
`site_figures_invalidate()` themselves.
"""

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.db.models.signals import m2m_changed, post_delete, post_save

from mailing.models import MAILING_ACTIVE, Client, Mailing

FIGURES_KEY = "mailing:site-figures"
# The last figures computed, kept after an invalidation: served to the
# requests that arrive while one request recomputes (no stampede).
LAST_KEY = "mailing:site-figures:last"
LOCK_KEY = "mailing:site-figures:lock"
# Bumped by every invalidation; figures computed across a bump are not
# stored as fresh, since they may miss the change.
GENERATION_KEY = "mailing:site-figures:generation"
# Invalidation keeps the figures fresh; the timeout is only a safety net
# for changes that bypassed both the signals and the services.
FIGURES_TIMEOUT = 300
LOCK_TIMEOUT = 30


def site_figures() -> dict:
    """Total mailings, active mailings and unique clients across mailings.

    Active means running and enabled by the managers (`MAILING_ACTIVE`,
    counted in the same query as the total). Unique clients are the
    distinct e-mail addresses that receive at least one mailing (one person
    in two customers' address books counts once).

    After a change, one request recomputes them; requests arriving during
    that computation get the previous figures, a moment out of date.
    """
    figures = cache.get(FIGURES_KEY)
    if figures is not None:
        return figures
    computing = cache.add(LOCK_KEY, True, LOCK_TIMEOUT)
    if not computing:
        last = cache.get(LAST_KEY)
        if last is not None:
            return last
    try:
        generation = cache.get(GENERATION_KEY, 0)
        figures = _compute()
        if cache.get(GENERATION_KEY, 0) == generation:
            cache.set(FIGURES_KEY, figures, FIGURES_TIMEOUT)
        cache.set(LAST_KEY, figures, None)
    finally:
        if computing:
            cache.delete(LOCK_KEY)
    return figures


def site_figures_invalidate() -> None:
    """Drop the cached figures, now and again when the transaction commits.

    The second drop matters: a page rendered between this call and the
    commit would otherwise cache figures that miss the uncommitted change.
    """
    _forget()
    transaction.on_commit(_forget)


def _forget() -> None:
    cache.add(GENERATION_KEY, 0, None)
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # evicted between add() and incr()
        cache.set(GENERATION_KEY, 1, None)
    cache.delete(FIGURES_KEY)


def _compute() -> dict:
    totals = Mailing.objects.order_by().aggregate(
        total=Count("pk"), active=Count("pk", filter=MAILING_ACTIVE)
    )
    unique_clients = (
        Client.objects.order_by()
        .filter(mailings__isnull=False)
        .values("email")
        .distinct()
        .count()
    )
    return {
        "total_mailings": totals["total"],
        "active_mailings": totals["active"],
        "unique_clients": unique_clients,
    }


# The fields the figures read; a save that names other fields only (the
# planner moving `next_run_at`, say) leaves them alone.
_FIGURE_FIELDS = {"Mailing": {"status", "is_active"}, "Client": {"email"}}


def _changed(sender, update_fields=None, **kwargs):
    if update_fields is not None and not (
        _FIGURE_FIELDS[sender.__name__] & set(update_fields)
    ):
        return
    site_figures_invalidate()


def _recipients_changed(action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"}:
        site_figures_invalidate()


def connect_receivers() -> None:
    """Connect the invalidating receivers (called from MailingConfig.ready)."""
    for model in (Mailing, Client):
        post_save.connect(_changed, sender=model, dispatch_uid=f"figures_{model}_s")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"figures_{model}_d")
    m2m_changed.connect(
        _recipients_changed,
        sender=Mailing.clients.through,
        dispatch_uid="figures_recipients",
    )
