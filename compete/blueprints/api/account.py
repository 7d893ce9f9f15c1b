"""The signed-in user's API tokens: list, create (shown once), revoke.

A blueprint of its own, outside ``/api/``: these pages use the browser session and CSRF, while
the API blueprint is CSRF-exempt and accepts bearer tokens only.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...domain.errors import InvalidInput
from ...extensions import db
from ...forms import add_error
from ...models import ApiToken, Competition, Event, Unit
from ...models.base import utcnow
from ...permissions import signed_in
from ..admin.forms import ROLE_LABELS
from . import services
from .forms import TokenCreateForm, TokenRevokeForm

bp = Blueprint("api_tokens", __name__, url_prefix="/account/tokens")


def role_label(assignment) -> str:
    """A role assignment as a person reads it: the role and where it applies."""
    where = next(
        (
            db.session.get(model, key)
            for model, key in (
                (Event, assignment.event_id),
                (Competition, assignment.competition_id),
                (Unit, assignment.unit_id),
            )
            if key is not None
        ),
        None,
    )
    role = str(ROLE_LABELS[assignment.role])
    return f"{role} · {where.name}" if where is not None else role


def _form(formdata=True) -> TokenCreateForm:
    form = TokenCreateForm() if formdata else TokenCreateForm(formdata=None)
    return form.set_roles(current_user.assignments, role_label)


def _page(form: TokenCreateForm, *, new_token: str | None = None, status: int = 200):
    return (
        render_template(
            "account/tokens.html",
            form=form,
            revoke_form=TokenRevokeForm(),
            tokens=services.tokens_of(current_user),
            new_token=new_token,
            now=utcnow(),
        ),
        status,
    )


@bp.route("")
@signed_in
def token_list():
    return _page(_form())


@bp.route("", methods=["POST"])
@signed_in
def create_token():
    form = _form()
    if form.validate_on_submit():
        try:
            _token, plain = services.create_api_token(
                current_user, current_user, **form.service_kwargs(utcnow())
            )
        except InvalidInput as exc:
            db.session.rollback()
            add_error(form, exc, default="name")
        else:
            db.session.commit()
            # Shown on this answer only (no redirect: the token must not pass through the
            # session or a flash message); the page is sent with Cache-Control: no-store.
            return _page(_form(formdata=False), new_token=plain, status=201)
    return _page(form, status=422)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@signed_in
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    form = TokenRevokeForm()
    if not form.validate_on_submit():
        abort(400)
    if services.revoke_api_token(current_user, token):
        db.session.commit()
        flash(_("Token %(name)s revoked.", name=token.name), "success")
    return redirect(url_for(".token_list"))
