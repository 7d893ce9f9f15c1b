"""The ``flask compete`` command group."""

from __future__ import annotations

import getpass
import json
import sys

import click
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import Migrate
from sqlalchemy import text

from .domain.errors import DomainError
from .extensions import db

compete_cli = AppGroup("compete", help="Skills competition management commands.")


@compete_cli.command("create-admin")
@click.argument("username")
@click.option("--name", "display_name", default=None, help="Display name (default: username).")
@click.option("--password", default=None, help="Password (asked for when omitted).")
def create_admin(username: str, display_name: str | None, password: str | None) -> None:
    """Create a system administrator account."""
    from .blueprints.admin.services import assign_role, create_user
    from .models import Role

    if password is None:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            raise click.ClickException("The passwords differ.")
    try:
        user = create_user(
            None,
            username=username,
            display_name=display_name or username,
            password=password,
            min_length=current_app.config["PASSWORD_MIN_LENGTH"],
        )
        assign_role(None, user, role=Role.ADMIN)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Administrator {username} created.")


@compete_cli.command("seed-demo")
@click.option(
    "--base-url",
    default=None,
    help="Where the app is served, for the example links (default: PUBLIC_BASE_URL, else "
    "http://127.0.0.1:8000).",
)
def seed_demo(base_url: str | None) -> None:
    """Load the demo competition once (running it again changes nothing)."""
    from .demo import load_demo, load_demo_results

    created, accounts = load_demo(password=current_app.config["DEMO_PASSWORD"])
    finished, links = load_demo_results()
    db.session.commit()
    loaded = created or finished
    click.echo("Demo data loaded." if loaded else "Demo data already present; nothing changed.")
    click.echo(f"Demo accounts (password for all: {current_app.config['DEMO_PASSWORD']}):")
    for username, label in accounts:
        click.echo(f"  {username:<14} {label}")
    base = base_url or current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000"
    base = base.rstrip("/")
    if links.result:
        click.echo("Finished 车工 event (E03), no sign-in needed:")
        click.echo(f"  contestant's result page (ticket QR): {base}{links.result}")
    if links.certificate:
        click.echo(f"  certificate verification (certificate QR): {base}{links.certificate}")


@compete_cli.command("check")
def check() -> None:
    """Check that the database answers and its migrations are current."""
    ok = True
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
        click.echo(f"database: reachable ({db.engine.url.render_as_string(hide_password=True)})")
    except Exception as exc:  # report any connection failure plainly
        click.echo(f"database: NOT reachable: {exc.__class__.__name__}: {exc}")
        sys.exit(1)
    migrate: Migrate = current_app.extensions["migrate"].migrate
    script = ScriptDirectory.from_config(migrate.get_config())
    heads = set(script.get_heads())
    if current == heads:
        click.echo(f"migrations: current ({', '.join(sorted(heads))})")
    else:
        ok = False
        click.echo(
            f"migrations: NOT current (database at {sorted(current) or 'none'},"
            f" code at {sorted(heads)}); run `flask db upgrade`"
        )
    sys.exit(0 if ok else 1)


@compete_cli.command("verify-scores")
@click.argument("event_id", type=int)
def verify_scores(event_id: int) -> None:
    """Check the hash chain of an event's marks; name the first broken link."""
    from .blueprints.judging.services import verify_marks
    from .models import Event

    event = db.session.get(Event, event_id)
    if event is None:
        raise click.ClickException(f"No event {event_id}.")
    broken = verify_marks(event)
    if broken is None:
        click.echo(f"mark chain intact: {event.mark_seq} marks, head {event.mark_head}")
        return
    click.echo(f"mark chain BROKEN at link {broken} of {event.mark_seq}")
    sys.exit(1)


@compete_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Run queued jobs from Redis (REDIS_URL); several workers may share one queue."""
    from flask import current_app

    from .jobs import run_worker

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run inside the app process.")
    run_worker(burst=burst)


@compete_cli.command("export")
@click.argument("competition_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@click.option(
    "--with-passwords",
    is_flag=True,
    help="Keep password hashes (a venue copy whose judges sign in there). Keep the file safe.",
)
def export_archive(competition_id: int, output: str, with_passwords: bool) -> None:
    """Write one competition as a versioned JSON archive (backup or transfer)."""
    from pathlib import Path

    from .archive import export_competition

    try:
        archive = export_competition(competition_id, with_passwords=with_passwords)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    Path(output).write_text(json.dumps(archive, ensure_ascii=False), encoding="utf-8")
    counts = {name: len(rows) for name, rows in archive["tables"].items()}
    click.echo(
        f"exported competition {competition_id}: {counts.get('events', 0)} events, "
        f"{counts.get('entries', 0)} entries, {counts.get('mark_events', 0)} marks → {output}"
    )


@compete_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--venue", is_flag=True, help="Venue copy: keep every id (only into an empty database)."
)
def import_archive(path: str, venue: bool) -> None:
    """Load a competition archive; refused whole if damaged, tampered with or already here."""
    from pathlib import Path

    from .archive import import_competition

    try:
        archive = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from exc
    try:
        new_id = import_competition(archive, keep_ids=venue)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"imported as competition {new_id}")


def _read_json(path: str):
    from pathlib import Path

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from exc


@compete_cli.command("export-event")
@click.argument("event_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
def export_event_archive(event_id: int, output: str) -> None:
    """At the venue: write one event's marks, check-ins, figures and results for the centre."""
    from pathlib import Path

    from .archive import export_event

    try:
        archive = export_event(event_id)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    Path(output).write_text(json.dumps(archive, ensure_ascii=False), encoding="utf-8")
    marks = archive["tables"]["mark_events"]
    head = marks[-1]["hash"] if marks else "-"
    click.echo(f"exported event {archive['event']}: {len(marks)} marks, head {head} → {output}")


@compete_cli.command("import-event")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_event_archive(path: str) -> None:
    """At the centre: take in a venue's event archive after verifying its mark chain."""
    from .archive import import_event

    try:
        counts = import_event(_read_json(path))
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    differ = counts.pop("results_differ")
    click.echo(
        "imported: "
        + ", ".join(f"{k}={v}" for k, v in counts.items())
        + ("; results agree with the venue's" if not differ else f"; {differ} results differ")
    )
