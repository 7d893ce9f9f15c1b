"""A small cache for rendered pages and documents that many people read (public results).

Keys name everything the page shows (an event's ``results_version``, its state, the locale…),
so a change produces a new key and a stale copy is never served; nothing is invalidated by
hand. Values are ``str`` or ``bytes``. With ``REDIS_URL`` set the copies live in Redis (shared
by every worker, with a time to live); otherwise in a bounded in-process LRU. A cache that
fails (Redis down) is skipped: the page is built as if nothing were cached.

    html = cache.cached(("public-event", event.id, event.results_version, locale), build)
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app

log = logging.getLogger(__name__)

PREFIX = "compete:page:"
DEFAULT_TTL = 24 * 3600  # seconds, Redis only: the key changes anyway when the data does
MAX_ENTRIES = 512
MAX_BYTES = 64 * 1024 * 1024

Value = TypeVar("Value", str, bytes)


def make_key(parts: Hashable) -> str:
    """A short, stable key for ``parts`` (a tuple of plain values)."""
    digest = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()
    return PREFIX + digest


class MemoryCache:
    """A thread-safe LRU bounded by entry count and total size; ``ttl`` seconds are honoured."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[str | bytes, float | None]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @staticmethod
    def _weight(value: str | bytes) -> int:
        return len(value) * (4 if isinstance(value, str) else 1)

    def _drop(self, key: str) -> None:
        value, _expires = self._items.pop(key)
        self._size -= self._weight(value)

    def get(self, key: str) -> str | bytes | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            value, expires = item
            if expires is not None and expires <= time.monotonic():
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return value

    def set(self, key: str, value: str | bytes, ttl: int | None = None) -> None:
        weight = self._weight(value)
        if weight > self.max_bytes:
            return
        expires = time.monotonic() + ttl if ttl else None
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = (value, expires)
            self._size += weight
            while len(self._items) > self.max_entries or self._size > self.max_bytes:
                self._drop(next(iter(self._items)))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._items)


class RedisCache:
    """Copies in Redis, shared by every worker; text is tagged so it comes back as ``str``."""

    def __init__(self, url: str):
        from redis import Redis

        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def get(self, key: str) -> str | bytes | None:
        raw = self._redis.get(key)
        if raw is None:
            return None
        tag, body = raw[:1], raw[1:]
        return body.decode("utf-8") if tag == b"s" else body

    def set(self, key: str, value: str | bytes, ttl: int | None = None) -> None:
        raw = b"s" + value.encode("utf-8") if isinstance(value, str) else b"b" + value
        self._redis.set(key, raw, ex=ttl or DEFAULT_TTL)

    def clear(self) -> None:
        for key in self._redis.scan_iter(match=PREFIX + "*", count=500):
            self._redis.delete(key)


def get_cache() -> Any:
    """The app's cache: Redis when ``REDIS_URL`` is set (and ``PAGE_CACHE`` is not "memory")."""
    app = current_app
    cache = app.extensions.get("compete_page_cache")
    if cache is None:
        url = app.config.get("REDIS_URL")
        cache = (
            RedisCache(url) if url and app.config.get("PAGE_CACHE") != "memory" else MemoryCache()
        )
        app.extensions["compete_page_cache"] = cache
    return cache


def cached(parts: Hashable, build: Callable[[], Value], *, ttl: int | None = None) -> Value:
    """The value stored under ``parts``, or ``build()`` stored there now."""
    key = make_key(parts)
    cache = get_cache()
    try:
        value = cache.get(key)
    except Exception:
        log.warning("page cache unavailable; building %s", key, exc_info=True)
        return build()
    if value is not None:
        return value  # type: ignore[return-value]
    value = build()
    try:
        cache.set(key, value, ttl)
    except Exception:
        log.warning("page cache unavailable; not storing %s", key, exc_info=True)
    return value


def clear() -> None:
    """Drop every cached page (tests, or after restoring a backup)."""
    get_cache().clear()
