"""Managing tokens: created on the account page (shown once), revoked there, or by the CLI."""

from __future__ import annotations

import re

from sqlalchemy import select

from compete.blueprints.api.services import hash_token
from compete.extensions import db
from compete.models import ApiToken, AuditEntry, User

from ..factories import csrf_from, make_user
from .conftest import bearer, make_token

TOKEN_RE = re.compile(r"cpt_[A-Za-z0-9_-]{43}")


def _signed_in(app, auth, **kw) -> str:
    with app.app_context():
        user = make_user(**kw)
        db.session.commit()
        username = user.username
    assert auth.login(username).status_code == 302
    return username


def _create(client, name="results display", expires_in="90"):
    token = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    return client.post(
        "/account/tokens", data={"name": name, "expires_in": expires_in, "csrf_token": token}
    )


def test_token_page_needs_sign_in(client):
    response = client.get("/account/tokens")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_created_token_is_shown_once_and_works(app, client, auth):
    username = _signed_in(app, auth)
    response = _create(client)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    [plain] = TOKEN_RE.findall(response.get_data(as_text=True))
    # Never again: the list shows the name, not the token.
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "results display" in page
    assert plain not in page
    assert not TOKEN_RE.search(page)
    # Only the hash is stored, and the token signs in as its creator.
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hash_token(plain)
        assert plain not in (row.token_hash, row.name)
        assert row.expires_at is not None
        assert 89 <= (row.expires_at - row.created_at).days <= 90
    me = client.application.test_client().get("/api/v1/me", headers=bearer(plain))
    assert me.status_code == 200
    assert me.get_json()["username"] == username


def test_token_without_expiry(app, client, auth):
    _signed_in(app, auth)
    assert _create(client, expires_in="0").status_code == 201
    with app.app_context():
        assert db.session.scalar(select(ApiToken)).expires_at is None


def test_token_needs_a_name(app, client, auth):
    _signed_in(app, auth)
    response = _create(client, name="   ")
    assert response.status_code == 422
    assert not TOKEN_RE.search(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None


def test_unknown_expiry_choice_is_refused(app, client, auth):
    _signed_in(app, auth)
    assert _create(client, expires_in="7").status_code == 422


def test_create_without_csrf_token_is_refused(app, client, auth):
    _signed_in(app, auth)
    response = client.post("/account/tokens", data={"name": "x", "expires_in": "90"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None


def test_revoke_from_the_page_stops_the_token(app, client, auth):
    _signed_in(app, auth)
    [plain] = TOKEN_RE.findall(_create(client).get_data(as_text=True))
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    api = client.application.test_client()
    assert api.get("/api/v1/me", headers=bearer(plain)).status_code == 200
    csrf = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert api.get("/api/v1/me", headers=bearer(plain)).status_code == 401
    page = client.get("/account/tokens").get_data(as_text=True)
    assert f"/account/tokens/{token_id}/revoke" not in page  # no button for a revoked token


def test_nobody_revokes_another_users_token(app, client, auth):
    with app.app_context():
        owner = make_user()
        plain = make_token(owner)
        db.session.commit()
        token_id = db.session.scalar(select(ApiToken.id))
    _signed_in(app, auth)
    csrf = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 404
    other = client.application.test_client()
    assert other.get("/api/v1/me", headers=bearer(plain)).status_code == 200


def test_the_page_lists_only_ones_own_tokens(app, client, auth):
    with app.app_context():
        make_token(make_user(), name="someone else's")
        db.session.commit()
    _signed_in(app, auth)
    _create(client, name="mine")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "mine" in page
    assert "someone else" not in page


def test_create_and_revoke_are_audited_without_the_token(app, client, auth):
    _signed_in(app, auth)
    [plain] = TOKEN_RE.findall(_create(client).get_data(as_text=True))
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    csrf = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        token_entries = [e for e in entries if e.target_type == "ApiToken"]
        assert [e.action for e in token_entries] == ["api_token.created", "api_token.revoked"]
        assert all(e.target_id == token_id for e in token_entries)
        assert token_entries[1].after["revoked_at"] is not None
        row = db.session.get(ApiToken, token_id)
        for entry in token_entries:
            text = repr((entry.before, entry.after))
            assert plain not in text
            assert row.token_hash not in text


def test_cli_creates_a_working_token(app, runner, client):
    with app.app_context():
        username = make_user().username
        db.session.commit()
    result = runner.invoke(args=["compete", "create-token", username, "scoreboard", "--days", "7"])
    assert result.exit_code == 0, result.output
    [plain] = TOKEN_RE.findall(result.output)
    response = client.get("/api/v1/me", headers=bearer(plain))
    assert response.status_code == 200
    assert response.get_json()["token"]["name"] == "scoreboard"
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert (row.expires_at - row.created_at).days == 7


def test_cli_refuses_an_unknown_or_disabled_account(app, runner):
    result = runner.invoke(args=["compete", "create-token", "nobody-here", "x"])
    assert result.exit_code != 0
    assert "nobody-here" in result.output
    with app.app_context():
        user = make_user()
        user.is_active_account = False
        db.session.commit()
        username = user.username
    result = runner.invoke(args=["compete", "create-token", username, "x"])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None
        assert db.session.scalar(select(User).where(User.username == username)) is not None


def test_a_token_scoped_to_one_role_acts_with_that_role_only(app, client):
    """An organiser who is also a judge elsewhere makes a token for the judge role only: it
    cannot read the organiser's competition through the API."""
    from compete.models import Role

    from ..factories import make_competition, make_event

    with app.app_context():
        competition = make_competition()
        event = make_event(competition)
        user = make_user("organiser", competition_id=competition.id)
        from compete.models import RoleAssignment

        judge_role = RoleAssignment(user_id=user.id, role=Role.JUDGE, event_id=event.id)
        db.session.add(judge_role)
        db.session.flush()
        db.session.refresh(user)
        whole = make_token(user, name="all roles")
        narrow = make_token(user, name="judge only", assignment_id=judge_role.id)
        db.session.commit()
        path = f"/api/v1/competitions/{competition.id}"
    assert client.get(path, headers=bearer(whole)).status_code == 200
    assert client.get(path, headers=bearer(narrow)).status_code == 403


def test_a_token_cannot_be_scoped_to_someone_elses_role(app):
    from compete.blueprints.api.services import create_api_token
    from compete.domain.errors import InvalidInput
    from compete.models import RoleAssignment

    with app.app_context():
        owner = make_user("organiser")
        other = make_user("organiser")
        foreign = db.session.scalar(
            select(RoleAssignment).where(RoleAssignment.user_id == other.id)
        )
        try:
            create_api_token(None, owner, name="x", assignment_id=foreign.id)
        except InvalidInput as exc:
            assert exc.field == "assignment_id"
        else:
            raise AssertionError("a token was scoped to another person's role")


def test_the_token_page_offers_read_only_by_default_and_one_role(app, client, auth):
    _signed_in(app, auth, role="organiser")
    response = _create(client)
    assert response.status_code == 201
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.can_write is False and row.assignment_id is None


def test_cli_token_with_write_and_one_role(app, runner):
    with app.app_context():
        user = make_user("judge", event_id=None)
        db.session.commit()
        username = user.username
    result = runner.invoke(
        args=["compete", "create-token", username, "tablet", "--write", "--role", "judge"]
    )
    assert result.exit_code == 0, result.output
    assert "read and write" in result.output
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.can_write and row.assignment_id is not None
