"""Selection chains: the nomination list for a linked upstream event."""

from __future__ import annotations

from .views import bp  # noqa: F401
