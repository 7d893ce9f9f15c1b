"""compete: skills competition management for China's vocational skills contests."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import Config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. ``config`` overrides everything else (tests pass theirs here)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(Config)
    app.config.from_prefixed_env("COMPETE")
    app.config.update(config or {})
    _check_config(app)
    _configure_logging(app)
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)

    from . import i18n, security
    from .blueprints import register_blueprints
    from .cli import compete_cli
    from .converters import register_converters
    from .errors import register_error_handlers
    from .extensions import csrf, db, limiter, login_manager, migrate
    from .models.base import render_migration_item
    from .scope import register_scope

    db.init_app(app)
    migrate.init_app(
        app, db, render_as_batch=True, compare_type=True, render_item=render_migration_item
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    register_scope(app)
    register_converters(app)
    register_blueprints(app)
    register_error_handlers(app)
    app.cli.add_command(compete_cli)
    return app


def _check_config(app: Flask) -> None:
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'compete.db'}"
        )
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        # psycopg 3 is the installed driver; plain postgresql:// would mean psycopg2.
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    if not app.config.get("SECRET_KEY"):
        if app.testing:
            app.config["SECRET_KEY"] = "testing-only-secret"  # noqa: S105
        else:
            raise RuntimeError(
                "COMPETE_SECRET_KEY is not set. `make run` creates one in instance/secret_key;"
                " in production set it in the environment."
            )


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing and not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """WAL, foreign keys and a busy timeout on every SQLite connection."""
    if isinstance(dbapi_conn, sqlite3.Connection):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()
