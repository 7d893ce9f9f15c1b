"""Certificates: issue, download, revoke, and the public verification page."""

from __future__ import annotations

from .views import bp  # noqa: F401
