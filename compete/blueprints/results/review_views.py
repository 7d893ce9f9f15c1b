"""Score review (复核) pages."""

from __future__ import annotations

from .views import bp  # noqa: F401
