"""The chief judge's signed score protocol (评分记录表), downloaded as a PDF."""

from __future__ import annotations

from io import BytesIO

from flask import g, send_file
from flask_login import current_user

from ...extensions import db
from ...models.base import utcnow
from ...permissions import Permission, permission_required
from . import protocol
from .views import bp


@bp.route("/events/<int:event_id>/protocol.pdf")
@permission_required(Permission.PANEL_CONSOLE)
def protocol_pdf(event_id: int):
    """Marking codes × criteria with every judge's mark, the chain head and signature lines."""
    return _download(g.event)


@bp.route("/events/<int:event_id>/supervision/protocol.pdf")
@permission_required(Permission.RECHECK)
def supervisor_protocol_pdf(event_id: int):
    """The same protocol for the event's supervisors (监督仲裁组): read only, audited."""
    return _download(g.event)


def _download(event):
    pdf, _protocol = protocol.print_protocol(current_user, event, now=utcnow())
    db.session.commit()
    response = send_file(
        BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"protocol-{event.code}.pdf",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
