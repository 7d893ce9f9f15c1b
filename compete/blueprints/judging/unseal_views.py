"""The unsealing page (解密): layers opened in reverse, each by two people, logged."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...extensions import db
from ...models import User
from ...models.base import utcnow
from ...permissions import Permission, permission_required
from . import unseal
from .views import bp


@bp.route("/events/<int:event_id>/unseal", methods=["GET", "POST"])
@permission_required(Permission.DECRYPT)
def unseal_page(event_id: int):
    event = g.event
    if request.method == "POST":
        row = unseal.unseal_step(
            current_user, event, (request.form.get("layer") or "").strip(), now=utcnow()
        )
        db.session.commit()
        label = _(unseal.LAYER_LABELS[row.layer])
        if row.is_open:
            flash(_("Layer %(layer)s is open.", layer=label), "success")
        else:
            flash(_("Layer %(layer)s requested; a supervisor confirms it.", layer=label), "info")
        return redirect(url_for(".unseal_page", event_id=event.id))
    return _page(event, read_only=False)


@bp.route("/events/<int:event_id>/unseal/status")
@permission_required(Permission.PANEL_CONSOLE)
def unseal_status(event_id: int):
    """The chief judge sees which layers are open and by whom, never the mapping itself."""
    return _page(g.event, read_only=True)


def _page(event, *, read_only: bool):
    states = unseal.layers(event)
    user_ids = {
        uid
        for s in states
        if s.row
        for uid in (s.row.requested_by_id, s.row.confirmed_by_id)
        if uid
    }
    names = {
        u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))
    }
    columns, rows = ([], []) if read_only else unseal.mapping(event)
    return render_template(
        "judging/unseal.html",
        event=event,
        tab="unseal",
        states=states,
        labels=unseal.LAYER_LABELS,
        names=names,
        columns=columns,
        rows=rows,
        may_unseal=event.state in unseal.OPEN_STATES,
        done=unseal.unsealed(event),
        read_only=read_only,
    )
