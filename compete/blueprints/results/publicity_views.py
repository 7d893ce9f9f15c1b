"""Publication (公示), appeals and arbitration pages."""

from __future__ import annotations

from .views import bp  # noqa: F401
