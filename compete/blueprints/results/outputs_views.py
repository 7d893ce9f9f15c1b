"""Results outputs: Excel, PDF, publicity notice, public page, big screen."""

from __future__ import annotations

from .views import bp  # noqa: F401
