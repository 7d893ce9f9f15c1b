"""The JSON API (``/api/v1``, bearer tokens) and the page where users manage their tokens."""

from __future__ import annotations

from flask import Flask

from ...cli import compete_cli
from ...extensions import csrf, login_manager
from . import marks, registrations, results  # noqa: F401 (their routes join the blueprint)
from .account import bp as tokens_bp
from .bearer import load_user_from_request
from .cli import create_token
from .views import bp

__all__ = ["bp", "register", "tokens_bp"]


def register(app: Flask) -> None:
    """Wire the API into ``app``: blueprints, CSRF exemption, bearer sign-in, CLI command."""
    csrf.exempt(bp)
    login_manager.request_loader(load_user_from_request)
    app.register_blueprint(bp)
    app.register_blueprint(tokens_bp)
    compete_cli.add_command(create_token)
