from __future__ import annotations

from sqlalchemy import func, select

from compete.extensions import db
from compete.models import Role, User


def test_create_admin_makes_a_working_administrator(app, runner, auth):
    result = runner.invoke(
        args=["compete", "create-admin", "chief", "--password", "Admin-pass-2026"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "chief"))
        assert Role.ADMIN in user.roles()
    assert auth.login("chief", "Admin-pass-2026").status_code == 302


def test_create_admin_refuses_a_weak_password(app, runner):
    result = runner.invoke(args=["compete", "create-admin", "chief", "--password", "123"])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_seed_demo_is_idempotent(app, runner):
    first = runner.invoke(args=["compete", "seed-demo"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        counts = db.session.scalar(select(func.count(User.id)))
    second = runner.invoke(args=["compete", "seed-demo"])
    assert second.exit_code == 0
    assert "nothing changed" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == counts
    assert "admin" in first.output


def test_check_reports_missing_then_current_migrations(tmp_path):
    from flask_migrate import upgrade

    from compete import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.db"})
    runner = app.test_cli_runner()
    before = runner.invoke(args=["compete", "check"])
    assert before.exit_code == 1
    assert "NOT current" in before.output
    with app.app_context():
        upgrade()
    after = runner.invoke(args=["compete", "check"])
    assert after.exit_code == 0, after.output
    assert "migrations: current" in after.output
    with app.app_context():
        db.engine.dispose()
