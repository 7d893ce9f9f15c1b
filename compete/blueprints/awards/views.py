"""Awards, titles and promotions pages for organisers."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("awards", __name__)
