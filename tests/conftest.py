"""One app per test run, empty tables after each test (style.md §5)."""

from __future__ import annotations

import os

import pytest
from flask import Flask

from compete import create_app
from compete.extensions import db

from .factories import DEMO_PASSWORD, make_user

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite://")


def build_app(**overrides) -> Flask:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app():
    app = build_app()
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()  # close pooled connections (PostgreSQL warns about open ones)


@pytest.fixture(autouse=True)
def _empty_tables(request):
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE")
        else:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Auth:
    """Sign in through the real login form."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self, path: str = "/login") -> str:
        from .factories import csrf_from

        return csrf_from(self.client.get(path).get_data(as_text=True))

    def login(self, username: str, password: str = DEMO_PASSWORD):
        return self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": self.csrf_token()},
        )

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.csrf_token("/")})


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def login_as(app, client, auth):
    """Create a user holding ``role`` (in a scope) and sign them in; returns the user id."""

    def _login(role=None, **scope):
        with app.app_context():
            user = make_user(role=role, **scope)
            db.session.commit()
            user_id, username = user.id, user.username
        response = auth.login(username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user_id

    return _login
