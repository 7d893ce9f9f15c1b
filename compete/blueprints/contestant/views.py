"""The contestant's own page, opened from a QR code (no login needed)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("contestant", __name__)
