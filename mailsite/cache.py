"""Cached reads that stay fresh: the one pattern every cache of the site uses.

Each cached thing belongs to a `Namespace` (the site figures, the live
articles, the article cards, image renditions, page view restrictions). A
namespace has a version number, kept in the cache, and every key it writes
carries it: `<name>:<version>:<part>`. When the data behind a namespace
changes, the code that changed it calls `invalidate()`, which bumps the
version: from then on every reader builds new keys, and the values under
the old version are never read again (they expire with their timeout).

So invalidating is one operation whether the namespace holds one value or
ten thousand, and there is no list of keys to keep. A value computed while
a change happens is stored under the version read *before* computing, so
it lands under the old version and is never served as fresh.

`invalidate()` bumps the version at once and again when the current
transaction commits: a request that reads between the change and the commit
sees the old data and caches it; the second bump drops that too.

A version that the cache loses (eviction, a flush) starts again at a random
number, never at one it may have had before, so old values stay unreachable.

Receivers of the models' signals call `invalidate()` for changes made
through the ORM. Bulk writes (`QuerySet.update()`, `bulk_create()`, raw SQL)
send no signals: the service that makes them calls `invalidate()` itself.
Every namespace and what invalidates it is listed in README.md ("Caches").
"""

import secrets
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction

# A generous bound: the lock only stops a stampede of recomputations.
LOCK_TIMEOUT = 30
_MISSING = object()


class Namespace:
    """One kind of cached data with its version; see the module docstring."""

    def __init__(self, name: str, *, timeout: int | None):
        self.name = name
        # Invalidation keeps values fresh; the timeout only bounds how long
        # values of old versions (and anything a bulk write forgot) live.
        self.timeout = timeout
        self._version_key = f"{name}:version"
        # Values memoised in this process by `get_or_set(..., memo=True)`,
        # each with the version it belongs to.
        self._memo: dict[Hashable, tuple[int, Any]] = {}

    def __repr__(self) -> str:
        return f"<Namespace {self.name}>"

    def version(self) -> int:
        version = cache.get(self._version_key)
        if version is None:
            cache.add(self._version_key, _new_version(), None)
            version = cache.get(self._version_key)
        return version if version is not None else _new_version()

    def key(self, part: Hashable, *, version: int | None = None) -> str:
        if version is None:
            version = self.version()
        return f"{self.name}:{version}:{part}"

    def get(self, part: Hashable, default: Any = None) -> Any:
        return cache.get(self.key(part), default)

    def get_many(self, parts: Iterable[Hashable]) -> dict[Hashable, Any]:
        """{part: value} for the parts that are cached (one round trip)."""
        version = self.version()
        keys = {self.key(part, version=version): part for part in parts}
        return {keys[key]: value for key, value in cache.get_many(keys).items()}

    def set(self, part: Hashable, value: Any, *, version: int | None = None) -> None:
        cache.set(self.key(part, version=version), value, self.timeout)

    def set_many(
        self, values: dict[Hashable, Any], *, version: int | None = None
    ) -> None:
        if version is None:
            version = self.version()
        cache.set_many(
            {self.key(part, version=version): value for part, value in values.items()},
            self.timeout,
        )

    def get_or_set(
        self,
        part: Hashable,
        compute: Callable[[], Any],
        *,
        serve_stale: bool = False,
        memo: bool = False,
    ) -> Any:
        """The cached value of `part`, computed (and cached) on a miss.

        `serve_stale`: after an invalidation, one caller recomputes while the
        others get the previous value, if there is one (for values that are
        expensive to compute and fine a moment out of date).
        `memo`: also keep the value in this process for as long as the
        version stands (for large values read on every request); a reader
        then only fetches the version number.
        """
        version = self.version()
        if memo:
            remembered = self._memo.get(part)
            if remembered is not None and remembered[0] == version:
                return remembered[1]
        value = cache.get(self.key(part, version=version), _MISSING)
        if value is _MISSING:
            if serve_stale:
                value = self._compute_once(part, compute, version)
            else:
                value = compute()
                self.set(part, value, version=version)
        if memo:
            self._memo[part] = (version, value)
        return value

    def lock_key(self, part: Hashable) -> str:
        return f"{self.name}:lock:{part}"

    def _compute_once(self, part, compute, version):
        last_key = f"{self.name}:last:{part}"
        computing = cache.add(self.lock_key(part), True, LOCK_TIMEOUT)
        if not computing:
            last = cache.get(last_key, _MISSING)
            if last is not _MISSING:
                return last
        try:
            value = compute()
            self.set(part, value, version=version)
            cache.set(last_key, value, None)
        finally:
            if computing:
                cache.delete(self.lock_key(part))
        return value

    def invalidate(self) -> None:
        """Make every value of this namespace stale, now and at commit."""
        self._bump()
        transaction.on_commit(self._bump)

    def _bump(self) -> None:
        try:
            cache.incr(self._version_key)
        except ValueError:  # no version yet, or evicted: any new one will do
            cache.set(self._version_key, _new_version(), None)


def _new_version() -> int:
    return secrets.randbits(48)
