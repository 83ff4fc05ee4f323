"""How many clients a customer has, and how many each of their mailings
goes to: cached, because counting a million rows takes a tenth of a second
and the dashboard, the mailing list and the mailing page all show them.

Every change to a customer's clients or to a mailing's recipients drops the
customer's cached counts (receivers on Client and on the mailing-client
table, and the bulk import calls `owner_counts_invalidate` itself), now and
again on commit, the same way as the home page figures.
"""

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.db.models.signals import m2m_changed, post_delete, post_save

from mailing.models import Client, Mailing

# A safety net only: invalidation keeps the counts fresh.
TIMEOUT = 600


def _generation_key(owner_id) -> str:
    return f"mailing:counts:{owner_id}:generation"


def _generation(owner_id) -> int:
    key = _generation_key(owner_id)
    cache.add(key, 0, None)
    return cache.get(key) or 0


def _bump(owner_id) -> None:
    key = _generation_key(owner_id)
    cache.add(key, 0, None)
    try:
        cache.incr(key)
    except ValueError:  # evicted between add() and incr()
        cache.set(key, 1, None)


def owner_counts_invalidate(owner_id) -> None:
    """Forget the owner's cached counts, now and when the transaction
    commits (a page rendered before the commit would cache the old count)."""
    _bump(owner_id)
    transaction.on_commit(lambda: _bump(owner_id))


def client_count(*, owner) -> int:
    """The number of the owner's clients."""
    key = f"mailing:counts:{owner.pk}:{_generation(owner.pk)}:clients"
    count = cache.get(key)
    if count is None:
        count = Client.objects.filter(owner=owner).count()
        cache.set(key, count, TIMEOUT)
    return count


def mailing_client_counts(mailings) -> None:
    """Set `client_count` on each of the given mailings (of any owners), from
    the cache, counting the missing ones in one grouped query."""
    mailings = list(mailings)
    generations = {m.owner_id: None for m in mailings}
    for owner_id in generations:
        generations[owner_id] = _generation(owner_id)
    keys = {
        m.pk: f"mailing:counts:{m.owner_id}:{generations[m.owner_id]}:mailing:{m.pk}"
        for m in mailings
    }
    cached = cache.get_many(list(keys.values()))
    missing = [pk for pk, key in keys.items() if key not in cached]
    if missing:
        counted = dict.fromkeys(missing, 0) | dict(
            Mailing.clients.through.objects.filter(mailing_id__in=missing)
            .order_by()
            .values_list("mailing_id")
            .annotate(n=Count("*"))
        )
        fresh = {keys[pk]: n for pk, n in counted.items()}
        cache.set_many(fresh, TIMEOUT)
        cached |= fresh
    for mailing in mailings:
        mailing.client_count = cached[keys[mailing.pk]]


def _client_changed(sender, instance, created=True, **kwargs):
    # A new or deleted client (post_delete passes no `created`); an edit
    # changes no count.
    if created:
        owner_counts_invalidate(instance.owner_id)


def _recipients_changed(instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"}:
        owner_counts_invalidate(instance.owner_id)


def connect_receivers() -> None:
    """Connect the invalidating receivers (called from MailingConfig.ready)."""
    post_save.connect(_client_changed, sender=Client, dispatch_uid="counts_client_s")
    post_delete.connect(_client_changed, sender=Client, dispatch_uid="counts_client_d")
    m2m_changed.connect(
        _recipients_changed,
        sender=Mailing.clients.through,
        dispatch_uid="counts_recipients",
    )
