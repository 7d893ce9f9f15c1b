"""Tablet pairing by a one-time QR and unlocking with a supervisor's consent."""

from __future__ import annotations

from .views import bp  # noqa: F401
