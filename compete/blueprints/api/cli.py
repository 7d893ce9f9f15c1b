"""``flask compete create-token USERNAME NAME``: a token for scripts, printed once."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext

from ...domain.errors import DomainError
from ...extensions import db
from ...models.base import utcnow
from ..auth.services import find_user
from . import services


@click.command("create-token")
@with_appcontext
@click.argument("username")
@click.argument("name")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=90,
    show_default=True,
    help="Days until the token expires (0: never).",
)
@click.option("--write", is_flag=True, help="May submit marks (default: read only).")
@click.option(
    "--role",
    "role",
    default=None,
    help="Act with only this role of the account (e.g. judge); default: all its roles.",
)
def create_token(username: str, name: str, days: int, write: bool, role: str | None) -> None:
    """Create an API token for USERNAME, named NAME, and print it once."""
    user = find_user(username)
    if user is None:
        raise click.ClickException(f"No account named {username}.")
    if not user.is_active:
        raise click.ClickException(f"The account {username} is disabled.")
    assignment_id = None
    if role is not None:
        matching = [a for a in user.assignments if a.role.value == role]
        if len(matching) != 1:
            raise click.ClickException(
                f"{username} holds the role {role!r} {len(matching)} times; it must be once."
            )
        assignment_id = matching[0].id
    now = utcnow()
    try:
        token, plain = services.create_api_token(
            None,
            user,
            name=name,
            expires_at=now + timedelta(days=days) if days else None,
            now=now,
            assignment_id=assignment_id,
            can_write=write,
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    expiry = token.expires_at.date().isoformat() if token.expires_at else "never"
    access = "read and write" if token.can_write else "read only"
    click.echo(
        f"Token {token.name!r} for {user.username} ({access}, expires: {expiry}). Shown once:"
    )
    click.echo(plain)
