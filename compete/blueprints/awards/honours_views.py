"""Group honours: medal table, delegations, best of delegation, coaches, special awards."""

from __future__ import annotations

from .views import bp  # noqa: F401
