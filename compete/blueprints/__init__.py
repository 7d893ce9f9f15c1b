"""Blueprints, registered from one explicit list."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from ..permissions import Permission, can
    from . import api
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .auth.sessions import init_login
    from .awards import bp as awards_bp
    from .competitions import bp as competitions_bp
    from .contestant import bp as contestant_bp
    from .judging import bp as judging_bp
    from .main import bp as main_bp
    from .registration import bp as registration_bp
    from .results import bp as results_bp

    init_login(app)
    app.jinja_env.globals.update(can=can, Permission=Permission)
    for bp in (main_bp, auth_bp, admin_bp, competitions_bp, registration_bp, judging_bp):
        app.register_blueprint(bp)
    for bp in (results_bp, awards_bp, contestant_bp):
        app.register_blueprint(bp)
    api.register(app)  # the API and token pages, CSRF-exempt API, bearer sign-in, CLI
