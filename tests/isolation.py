"""Keeping tests apart when pytest-xdist runs them in parallel against one Redis database."""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def clear_own_cache() -> None:
    """Empty this test process's part of the cache (rate limits, lockouts).

    A shared Redis database holds every pytest-xdist worker's keys, each under its own
    KEY_PREFIX (config/settings.py): clearing the whole database would wipe counters that a
    test in another worker is in the middle of using, so only keys under our prefix go.
    """
    cache = caches["default"]
    if not isinstance(cache, RedisCache) or not cache.key_prefix:
        cache.clear()  # a local-memory cache belongs to this process alone
        return
    client = cache._cache.get_client(write=True)
    pattern = f"{glob_escape(cache.key_prefix)}:*"
    batch = []
    for key in client.scan_iter(match=pattern, count=500):
        batch.append(key)
        if len(batch) >= 500:
            client.delete(*batch)
            batch.clear()
    if batch:
        client.delete(*batch)


def glob_escape(text: str) -> str:
    """Escape Redis MATCH pattern characters (a prefix is a literal, not a pattern)."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
