"""Cached reads that stay fresh: the one pattern every cache of the site uses.

Each cached thing belongs to a `Namespace` (the site figures, the live
articles, the article cards, image renditions, page view restrictions). A
namespace has a version number, kept in the cache, and every value it holds
is stored with the version it was computed under. When the data behind a
namespace changes, the code that changed it calls `invalidate()`, which bumps
the version: from then on every value stored before is stale, and a reader
computes it again. A read fetches the version and the values in one round
trip (`get_many`) and keeps only the values of the current version.

So invalidating is one operation whether the namespace holds one value or
ten thousand, and there is no list of keys to keep. A value older than
the namespace's timeout is stale too (a safety net only). A value computed while
a change happens is stored with the version read *before* computing, so it
is stale at once and never served as fresh.

`invalidate()` bumps the version at once and again when the current
transaction commits: a request that reads between the change and the commit
sees the old data and caches it; the second bump makes that stale too.

A version that the cache loses (eviction, a flush) starts again at a random
number, never at one it may have had before, so old values stay stale.

Receivers of the models' signals call `invalidate()` for changes made
through the ORM. Bulk writes (`QuerySet.update()`, `bulk_create()`, raw SQL)
send no signals: the service that makes them calls `invalidate()` itself.
Every namespace and what invalidates it is listed in README.md ("Caches").
"""

import secrets
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction

# A generous bound: the lock only stops a stampede of recomputations.
LOCK_TIMEOUT = 30

# What the cache holds for a part: (version, time stored, value).
Entry = tuple[int, float, Any]


class Namespace:
    """One kind of cached data with its version; see the module docstring.

    `timeout` (seconds): a value older than that is stale even when no
    change invalidated it; invalidation keeps values fresh, the timeout is
    only a safety net for a change that bypassed it.
    `serve_stale`: while one caller recomputes a stale value, the others get
    the previous one (for values that are expensive to compute and fine a
    moment out of date); such values are kept until replaced.
    """

    def __init__(self, name: str, *, timeout: int, serve_stale: bool = False):
        self.name = name
        self.timeout = timeout
        self.serve_stale = serve_stale
        self._version_key = f"{name}:version"
        # Values memoised in this process by `get_or_set(..., memo=True)`.
        self._memo: dict[Hashable, Entry] = {}

    def __repr__(self) -> str:
        return f"<Namespace {self.name}>"

    def key(self, part: Hashable) -> str:
        return f"{self.name}:{part}"

    def lock_key(self, part: Hashable) -> str:
        return f"{self.name}:lock:{part}"

    def version(self) -> int:
        version = cache.get(self._version_key)
        return self._first_version() if version is None else version

    def get(self, part: Hashable, default: Any = None) -> Any:
        return self.get_many([part]).get(part, default)

    def get_many(self, parts: Iterable[Hashable]) -> dict[Hashable, Any]:
        """{part: value} for the parts whose cached value is fresh."""
        version, entries = self._read(parts)
        return {
            part: entry[2]
            for part, entry in entries.items()
            if self._fresh(entry, version)
        }

    def set(self, part: Hashable, value: Any, *, version: int | None = None) -> None:
        self.set_many({part: value}, version=version)

    def set_many(
        self, values: dict[Hashable, Any], *, version: int | None = None
    ) -> None:
        """Store `values` as of `version` (the one read before computing
        them; the current one by default)."""
        if version is None:
            version = self.version()
        now = time.time()
        cache.set_many(
            {self.key(part): (version, now, value) for part, value in values.items()},
            None if self.serve_stale else self.timeout,
        )

    def get_or_set(
        self, part: Hashable, compute: Callable[[], Any], *, memo: bool = False
    ) -> Any:
        """The cached value of `part`, computed (and cached) when stale.

        `memo`: also keep the value in this process while it is fresh (for
        large values read on every request): a reader then fetches only the
        version number.
        """
        if memo:
            version = self.version()
            entry = self._memo.get(part)
            if entry is None or not self._fresh(entry, version):
                entry = cache.get(self.key(part))
        else:
            version, entries = self._read([part])
            entry = entries.get(part)
        if entry is not None and self._fresh(entry, version):
            value = entry[2]
        else:
            value = self._recompute(part, compute, version, entry)
            entry = (version, time.time(), value)
        if memo:
            self._memo[part] = entry
        return value

    def invalidate(self) -> None:
        """Make every value of this namespace stale, now and at commit."""
        self._bump()
        transaction.on_commit(self._bump)

    def _fresh(self, entry: Entry, version: int) -> bool:
        return entry[0] == version and time.time() - entry[1] < self.timeout

    def _read(self, parts) -> tuple[int, dict[Hashable, Entry]]:
        keys = {self.key(part): part for part in parts}
        found = cache.get_many([self._version_key, *keys])
        version = found.pop(self._version_key, None)
        if version is None:
            version = self._first_version()
        return version, {keys[key]: entry for key, entry in found.items()}

    def _recompute(self, part, compute, version, stale: Entry | None):
        locked = self.serve_stale and cache.add(self.lock_key(part), True, LOCK_TIMEOUT)
        if self.serve_stale and not locked and stale is not None:
            return stale[2]  # another caller is computing it
        try:
            value = compute()
            self.set(part, value, version=version)
        finally:
            if locked:
                cache.delete(self.lock_key(part))
        return value

    def _first_version(self) -> int:
        cache.add(self._version_key, _new_version(), None)
        version = cache.get(self._version_key)
        # Without a working cache every read computes afresh.
        return _new_version() if version is None else version

    def _bump(self) -> None:
        try:
            cache.incr(self._version_key)
        except ValueError:  # no version yet, or evicted: any new one will do
            cache.set(self._version_key, _new_version(), None)


def _new_version() -> int:
    return secrets.randbits(48)
