from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from compete.extensions import db
from compete.models import LoginSession, User
from compete.models.base import utcnow

from ..conftest import build_app
from ..factories import DEMO_PASSWORD, csrf_from, make_user


def _user(app, **kw):
    with app.app_context():
        user = make_user(**kw)
        db.session.commit()
        return user.username


def test_login_with_right_password_opens_the_desk(app, client, auth):
    username = _user(app)
    response = auth.login(username)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "退出" in page  # "Sign out" in the default language


def test_wrong_password_and_unknown_user_get_the_same_clear_message(app, client, auth):
    username = _user(app)
    wrong = auth.login(username, "not-the-password-1")
    unknown = auth.login("nobody-here", "not-the-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in wrong.get_data(as_text=True)
    assert "用户名或密码不正确" in unknown.get_data(as_text=True)


def test_account_locks_after_repeated_failures_even_with_the_right_password(app, client, auth):
    username = _user(app)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login(username, "wrong-password-9")
    response = auth.login(username)
    assert response.status_code == 401
    assert "分钟" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user.locked_until is not None


def test_logout_ends_the_session_even_for_a_copied_cookie(app, client, auth):
    username = _user(app)
    auth.login(username)
    cookie = client.get_cookie("__Host-session")
    assert cookie is not None
    stolen = cookie.value
    auth.logout()
    # Replay the cookie captured while signed in.
    client.set_cookie("__Host-session", stolen)
    response = client.get("/account/password")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_idle_session_expires(app, client, auth):
    username = _user(app)
    auth.login(username)
    with app.app_context():
        row = db.session.scalar(select(LoginSession))
        row.last_seen_at = utcnow() - app.config["SESSION_IDLE_TIMEOUT"] - timedelta(minutes=1)
        db.session.commit()
    response = client.get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_post_without_csrf_token_is_refused_with_a_message(app, client):
    username = _user(app)
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)


def test_oversized_request_gets_413_not_500(app, client):
    body = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/login", data=body, content_type="application/octet-stream")
    assert response.status_code == 413
    assert "上传的内容太大" in response.get_data(as_text=True)


def test_login_never_redirects_off_site(app, client, auth):
    username = _user(app)
    token = auth.csrf_token()
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_password_change_enforces_rules_and_signs_out_other_devices(app, auth):
    username = _user(app)
    other = app.test_client()
    from ..conftest import Auth

    Auth(other).login(username)
    auth.login(username)
    token = auth.csrf_token("/account/password")
    weak = auth.client.post(
        "/account/password",
        data={
            "current_password": DEMO_PASSWORD,
            "new_password": "short",
            "confirm": "short",
            "csrf_token": token,
        },
    )
    assert weak.status_code == 422
    assert "至少" in weak.get_data(as_text=True)
    ok = auth.client.post(
        "/account/password",
        data={
            "current_password": DEMO_PASSWORD,
            "new_password": "Brand-new-pass-77",
            "confirm": "Brand-new-pass-77",
            "csrf_token": token,
        },
    )
    assert ok.status_code == 302
    assert auth.client.get("/account/password").status_code == 200
    assert other.get("/account/password").status_code == 302  # the other device is out


def test_english_is_one_switch_away(app, client):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page
    token = csrf_from(page)
    client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": token})
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in" in page and 'lang="en"' in page


@pytest.fixture
def limited_app():
    """A second app with the login limit on; the shared limiter is switched back after."""
    from compete.extensions import limiter

    was_enabled = limiter.enabled
    app = build_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    yield app
    limiter.enabled = was_enabled
    with app.app_context():
        db.engine.dispose()


def test_login_rate_limit_answers_429_with_a_message(limited_app):
    app = limited_app
    with app.app_context():
        db.create_all()
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post(
            "/login", data={"username": "x", "password": "y", "csrf_token": token}
        ).status_code
        for _ in range(4)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == 429
    last = client.post("/login", data={"username": "x", "password": "y", "csrf_token": token})
    assert "尝试次数过多" in last.get_data(as_text=True)
