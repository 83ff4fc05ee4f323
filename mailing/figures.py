"""The site-wide figures on the home page, cached and kept fresh.

`site_figures()` reads them from the `figures` cache namespace (see
`site_common.cache`) and computes them on a miss. Saving or deleting a mailing
or a client, or changing a mailing's recipients, invalidates the namespace
(the receivers below, connected by the mailing app). Bulk operations
(`QuerySet.update()`, `bulk_create()`, raw SQL) send no signals: services
that use them call `site_figures_invalidate()` themselves.
"""

from django.db.models import Count
from django.db.models.signals import m2m_changed, post_delete, post_save

from mailing.models import MAILING_ACTIVE, Client, Mailing
from site_common.cache import Namespace

# Invalidation keeps the figures fresh; the timeout is only a safety net
# for changes that bypassed both the signals and the services.
FIGURES = Namespace("mailing:site-figures", timeout=300, serve_stale=True)


def site_figures() -> dict:
    """Total mailings, active mailings and unique clients across mailings.

    Active means running and enabled by the managers (`MAILING_ACTIVE`,
    counted in the same query as the total). Unique clients are the
    distinct e-mail addresses that receive at least one mailing (one person
    in two customers' address books counts once).

    After a change, one request recomputes them; requests arriving during
    that computation get the previous figures, a moment out of date.
    """
    return FIGURES.get_or_set("all", _compute)


def site_figures_invalidate() -> None:
    """Make the cached figures stale, now and again when the transaction
    commits (a page rendered before the commit would cache figures that miss
    the uncommitted change)."""
    FIGURES.invalidate()


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
