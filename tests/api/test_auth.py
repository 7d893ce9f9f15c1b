"""Bearer sign-in: only a live token of an active account opens the API; a cookie never does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from compete.blueprints.api.services import hash_token
from compete.extensions import db
from compete.models import ApiToken, User
from compete.models.base import utcnow

from .conftest import bearer


def _token_row(plain: str) -> ApiToken:
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))


def _assert_unauthorized(response):
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "unauthorized"
    assert body["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_valid_token_signs_in_as_its_user(client, world):
    response = client.get("/api/v1/me", headers=bearer(world.tokens["organiser_a"]))
    assert response.status_code == 200
    assert response.get_json()["username"] == world.users["organiser_a"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer cpt_not-a-real-token",
        "Bearer garbage",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_missing_or_unknown_token_gets_401_json(client, world, header):
    headers = {"Authorization": header} if header is not None else {}
    _assert_unauthorized(client.get("/api/v1/me", headers=headers))
    _assert_unauthorized(
        client.get(f"/api/v1/events/{world.event_a}", headers=headers),
    )


def test_the_token_under_another_scheme_name_is_refused(client, world):
    token = world.tokens["organiser_a"]
    _assert_unauthorized(client.get("/api/v1/me", headers={"Authorization": f"Token {token}"}))


def test_revoked_token_gets_401(app, client, world):
    token = world.tokens["organiser_a"]
    with app.app_context():
        _token_row(token).revoked_at = utcnow()
        db.session.commit()
    _assert_unauthorized(client.get("/api/v1/me", headers=bearer(token)))


def test_expired_token_gets_401(app, client, world):
    token = world.tokens["organiser_a"]
    with app.app_context():
        _token_row(token).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    _assert_unauthorized(client.get("/api/v1/me", headers=bearer(token)))


def test_token_of_a_disabled_account_gets_401(app, client, world):
    token = world.tokens["organiser_a"]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == world.users["organiser_a"]))
        user.is_active_account = False
        db.session.commit()
    _assert_unauthorized(client.get("/api/v1/me", headers=bearer(token)))


def test_a_session_cookie_alone_does_not_open_the_api(client, auth, world):
    assert auth.login(world.users["organiser_a"]).status_code == 302
    # The cookie does sign the browser in on the site...
    assert client.get("/account/tokens").status_code == 200
    # ...but not on the API, which is CSRF-exempt.
    _assert_unauthorized(client.get("/api/v1/me"))
    _assert_unauthorized(client.get(f"/api/v1/competitions/{world.competition_a}"))


def test_with_a_cookie_and_a_token_the_token_decides(client, auth, world):
    assert auth.login(world.users["organiser_a"]).status_code == 302
    response = client.get("/api/v1/me", headers=bearer(world.tokens["organiser_b"]))
    assert response.status_code == 200
    assert response.get_json()["username"] == world.users["organiser_b"]
    forbidden = client.get(
        f"/api/v1/competitions/{world.competition_a}", headers=bearer(world.tokens["organiser_b"])
    )
    assert forbidden.status_code == 403


def test_api_answers_set_no_session_cookie(client, world):
    response = client.get("/api/v1/me", headers=bearer(world.tokens["admin"]))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_last_used_is_noted_at_most_once_a_minute(app, client, world):
    token = world.tokens["organiser_a"]
    with app.app_context():
        assert _token_row(token).last_used_at is None
    client.get("/api/v1/me", headers=bearer(token))
    with app.app_context():
        first = _token_row(token).last_used_at
        assert first is not None
        assert utcnow() - first < timedelta(seconds=30)
        # Pretend the first use was 30 seconds ago: a new use within the minute is not written.
        _token_row(token).last_used_at = first - timedelta(seconds=30)
        db.session.commit()
        recent = _token_row(token).last_used_at
    client.get("/api/v1/me", headers=bearer(token))
    with app.app_context():
        assert _token_row(token).last_used_at == recent
        _token_row(token).last_used_at = recent - timedelta(minutes=2)
        db.session.commit()
    client.get("/api/v1/me", headers=bearer(token))
    with app.app_context():
        assert _token_row(token).last_used_at > recent


def test_token_does_not_sign_in_outside_the_api(client, world):
    response = client.get("/account/tokens", headers=bearer(world.tokens["admin"]))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
