"""Failed QR look-ups per address: a limit on guessing that never touches valid pages.

Only misses count: hundreds of phones behind one venue address read their own pages freely,
while an address that keeps sending unknown tokens gets 429 for further unknown tokens. The
counters live in the storage Flask-Limiter is configured with (``RATELIMIT_STORAGE_URI``): Redis
when configured, so every gunicorn worker shares them; in-process memory otherwise. Rate limits
switched off for the app (``RATELIMIT_ENABLED`` false, as in tests) switch this off too.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

DEFAULT_LIMIT = "30 per minute"
NAMESPACE = "compete-qr-miss"


class MissLimiter:
    def __init__(self, storage_uri: str, limit: str):
        self.item = parse(limit)
        self.strategy = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, address: str) -> tuple[bool, int]:
        """Count one miss from ``address``: (still allowed, seconds until the window resets)."""
        allowed = self.strategy.hit(self.item, NAMESPACE, address)
        if allowed:
            return True, 0
        stats = self.strategy.get_window_stats(self.item, NAMESPACE, address)
        return False, max(1, int(stats.reset_time - time.time()) + 1)

    def reset(self) -> None:
        self.strategy.storage.reset()


def _for(app: Flask) -> MissLimiter | None:
    if not app.config.get("RATELIMIT_ENABLED", True):
        return None
    limit = app.config.get("QR_MISS_RATE_LIMIT", DEFAULT_LIMIT)
    if not limit:
        return None
    key = "compete_qr_miss_limiter"
    limiter = app.extensions.get(key)
    if limiter is None or limiter.item != parse(limit):
        uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
        limiter = app.extensions[key] = MissLimiter(uri, limit)
    return limiter


def count_miss(address: str) -> tuple[bool, int]:
    """Record a failed look-up; (True, 0) while the address stays within the limit."""
    limiter = _for(current_app)
    if limiter is None:
        return True, 0
    try:
        return limiter.hit(address or "unknown")
    except Exception:
        log.warning("QR miss limiter storage unavailable", exc_info=True)
        return True, 0
