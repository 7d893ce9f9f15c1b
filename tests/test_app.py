from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from compete import ROOT, create_app
from compete.extensions import db


def test_app_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("COMPETE_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="COMPETE_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_sqlite_file_database_uses_wal_and_foreign_keys(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    with app.app_context():
        with db.engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            fks = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
        db.engine.dispose()
    assert (mode, fks) == ("wal", 1)
    with sqlite3.connect(tmp_path / "x.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_checks_redis_when_configured(tmp_path):
    from redis import Redis
    from redis.exceptions import RedisError

    from compete.extensions import db

    from .conftest import build_app

    try:
        Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=1).ping()
    except RedisError:
        pytest.skip("no Redis server here")
    for url, status, redis in (
        ("redis://127.0.0.1:6379/0", 200, "ok"),
        ("redis://127.0.0.1:1/0", 503, "unreachable"),
    ):
        app = build_app(REDIS_URL=url, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'h.db'}")
        with app.app_context():
            db.create_all()
            response = app.test_client().get("/healthz")
            db.engine.dispose()
        assert response.status_code == status
        assert response.get_json()["redis"] == redis


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_secure_and_httponly(app, client, auth):
    from .factories import make_user

    with app.app_context():
        user = make_user()
        db.session.commit()
        username = user.username
    response = auth.login(username)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "不存在" in response.get_data(as_text=True)


def test_api_style_request_gets_json_errors(client):
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["message"]


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_and_no_cdn(path: Path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script> breaks the CSP"
    assert not re.search(r"\son[a-z]+=\"", text), "inline event handlers break the CSP"
    assert not re.search(r"https?://", text), "templates load nothing from other sites"
    assert 'style="' not in text, "inline styles break the CSP"


@pytest.mark.parametrize(
    "path", ["/events/99999999999999999999/console", "/competitions/2147483648", "/r/x/../1"]
)
def test_ids_no_column_can_hold_match_no_route(client, path):
    assert client.get(path).status_code == 404
