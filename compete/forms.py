"""Form helpers shared by the blueprints."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import flash
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from .domain.errors import DomainError
from .errors import translate_error
from .extensions import db


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def optional_int(value: Any) -> int | None:
    return int(value) if value not in (None, "", "None") else None


def add_error(
    form: FlaskForm,
    exc: DomainError,
    *,
    default: str | None = None,
    aliases: dict[str, str] | None = None,
) -> None:
    """Show a domain error on the field it names (or ``default``), else above the form."""
    name = getattr(exc, "field", None)
    name = (aliases or {}).get(name, name) if name else default
    field = getattr(form, name, None) if name else None
    message = translate_error(exc)
    if field is None:
        form.form_errors.append(message)
        return
    if not isinstance(field.errors, list):
        field.errors = list(field.errors)
    field.errors.append(message)


def commit_or_flash(action, *args, success: str | None = None, **kwargs) -> bool:
    """Run one service call for a POST without a form to re-show: commit and flash
    ``success``, or roll back and flash why the rules refused it. True when it went through."""
    try:
        action(*args, **kwargs)
    except DomainError as exc:
        db.session.rollback()
        flash(translate_error(exc), "error")
        return False
    db.session.commit()
    if success:
        flash(success, "success")
    return True
