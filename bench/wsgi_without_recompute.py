"""The app with the results recomputation after each stored batch of marks switched off.

Only for ``bench/score_submit.py --without-recompute``: it shows what scheduling the
recomputation costs the mark endpoint.
"""

from compete.blueprints.results import services

services.schedule_recompute = lambda event, *, actor=None: None

from wsgi import app  # noqa: E402

__all__ = ["app"]
