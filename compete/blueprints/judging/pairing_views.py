"""Tablet pairing by a one-time QR, and the fence around a paired tablet's session."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ...domain.errors import DomainError, NotAllowed
from ...domain.lifecycle import EventState
from ...errors import error_response, translate_error
from ...extensions import db
from ...forms import add_error, commit_or_flash
from ...models import Event, User
from ...models.base import utcnow
from ...permissions import Permission, panel_only, permission_required, public
from ...qr import qr_svg
from ..auth.sessions import SESSION_KEY, start_session
from ..competitions import lifecycle
from . import pairing, unlock
from .views import bp

# What a paired tablet may open besides its event's marking pages.
PAIRED_OPEN = frozenset(
    {
        "static",
        "judging.service_worker",
        "judging.pair_tablet",
        "auth.logout",
        "main.set_language",
        "main.healthz",
    }
)
PAIRED_EVENT_PAGES = frozenset({"judging.assignments", "judging.sheet", "judging.submit_marks"})


@bp.before_app_request
def restrict_paired_session():
    """A tablet signed in by pairing opens only its event's marking pages (and signs out)."""
    event_id = session.get(pairing.PAIRED_EVENT)
    if event_id is None or not current_user.is_authenticated:
        return None
    endpoint = request.endpoint
    if endpoint in PAIRED_OPEN:
        return None
    if endpoint in PAIRED_EVENT_PAGES and (request.view_args or {}).get("event_id") == event_id:
        return None
    if endpoint == "main.home" or (endpoint == "auth.login" and request.method == "GET"):
        return redirect(url_for("judging.assignments", event_id=event_id))
    return error_response(
        403,
        _("This tablet is signed in for marking one event only. Sign out to use other pages."),
        error="paired_tablet",
    )


def _pairing_page(*, code: str | None = None, row=None, status: int = 200):
    event = g.event
    qr = url = None
    if code is not None:
        base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
        url = base.rstrip("/") + pairing.PATH + code
        qr = Markup(qr_svg(url))  # noqa: S704 (only squares: the URL is encoded, not written)
    judges = pairing.pairable(event)
    return render_template(
        "judging/pairing.html",
        event=event,
        tab="console",
        judges=judges,
        recent=pairing.recent_pairings(event),
        names={p.user.id: p.member.judge.name for p in judges if p.user},
        qr=qr,
        url=url,
        pairing=row,
        valid_minutes=int(pairing.VALID_FOR.total_seconds() // 60),
        now=utcnow(),
    ), status


@bp.route("/events/<int:event_id>/pairing", methods=["GET", "POST"])
@permission_required(Permission.PANEL_CONSOLE)
@panel_only
def tablet_pairing(event_id: int):
    """The chief judge picks a judge; the answer shows the one-time QR for the judge's tablet."""
    event = g.event
    if pairing.seated_chief(current_user, event) is None:
        abort(403)
    if request.method == "GET":
        return _pairing_page()
    try:
        member_id = int(request.form.get("member_id") or 0) or None
    except ValueError:
        member_id = None
    try:
        row, code = pairing.create_pairing(current_user, event, member_id=member_id, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        flash(translate_error(exc), "error")
        return _pairing_page(status=422)
    db.session.commit()
    response, status = _pairing_page(code=code, row=row)
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/tablet/pair/<code>", methods=["GET", "POST"])
@public
def pair_tablet(code: str):
    """The tablet's side: GET shows whom the code signs in; POST signs the tablet in."""
    now = utcnow()
    try:
        if request.method == "GET":
            row = pairing.check_pairing(code, now=now)
            return (
                render_template(
                    "tablet/pair.html",
                    judge=db.session.get(User, row.judge_user_id),
                    event=db.session.get(Event, row.event_id),
                    expires_at=row.expires_at,
                    code=code,
                ),
                200,
                {"Cache-Control": "no-store"},
            )
        row, user = pairing.use_pairing(code, now=now, device=request.user_agent.string or "")
    except DomainError as exc:
        db.session.rollback()
        status = 404 if isinstance(exc, pairing.PairingUnknown) else 410
        if request.method == "POST" and status == 410:
            pairing.record_refusal(code, exc, device=request.user_agent.string or "")
            db.session.commit()
        return (
            render_template("tablet/pair.html", problem=translate_error(exc)),
            status,
            {"Cache-Control": "no-store"},
        )
    session.clear()
    session[SESSION_KEY] = start_session(user, user_agent=request.user_agent.string, is_tablet=True)
    session[pairing.PAIRED_EVENT] = row.event_id
    session.permanent = True
    login_user(user)
    db.session.commit()
    return redirect(url_for("judging.assignments", event_id=row.event_id))


# ---------------------------------------------------------------- unlocking with consent


class ConsentForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for reopening scoring"), validators=[DataRequired(), Length(max=2000)]
    )


def _unlock_page(form: ConsentForm | None = None, status: int = 200):
    event = g.event
    history = unlock.consents(event)
    people = {c.supervisor_id for c in history if c.supervisor_id}
    names = {
        u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(people)))
    }
    consent = unlock.open_consent(event)
    return render_template(
        "judging/unlock.html",
        event=event,
        tab="console",
        consent=consent,
        history=history,
        names=names,
        form=form or ConsentForm(formdata=None),
        is_supervisor=unlock.is_supervisor(current_user, event),
        locked=event.state is EventState.SCORING_LOCKED,
        steps=[
            s
            for s in lifecycle.next_steps(current_user, event, now=utcnow())
            if s.target is EventState.IN_PROGRESS
        ],
        guard_labels=lifecycle.GUARD_LABELS,
        action_labels=lifecycle.ACTION_LABELS,
    ), status


@bp.route("/events/<int:event_id>/unlock")
@permission_required(Permission.EVENT_VIEW)
def unlock_page(event_id: int):
    """Whether a supervisor has agreed to reopen scoring; the consent form; the unlock step."""
    return _unlock_page()


@bp.route("/events/<int:event_id>/unlock/consent", methods=["POST"])
@permission_required(Permission.RECHECK)
def give_unlock_consent(event_id: int):
    form = ConsentForm()
    if not form.validate_on_submit():
        return _unlock_page(form, 422)
    try:
        unlock.give_consent(current_user, g.event, reason=form.reason.data, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        add_error(form, exc, default="reason")
        return _unlock_page(form, 403 if isinstance(exc, NotAllowed) else 409)
    db.session.commit()
    flash(_("Your consent is recorded. The chief judge can now reopen scoring."), "success")
    return redirect(url_for(".unlock_page", event_id=event_id))


@bp.route("/events/<int:event_id>/unlock/consent/withdraw", methods=["POST"])
@permission_required(Permission.RECHECK)
def withdraw_unlock_consent(event_id: int):
    if commit_or_flash(
        unlock.withdraw_consent,
        current_user,
        g.event,
        now=utcnow(),
        success=_("Your consent is withdrawn."),
    ):
        return redirect(url_for(".unlock_page", event_id=event_id))
    return _unlock_page(status=409)


def _spend_consent(actor, event, step, now) -> None:
    """On the chief judge's unlock (scoring_locked → in_progress), use up the consent."""
    if step.from_state is EventState.SCORING_LOCKED:
        unlock.use_consent(event, actor, now)


@bp.record_once
def _join_lifecycle(_state) -> None:
    """When the app is built: unlocking locked scoring needs, and spends, a supervisor's consent.

    Module-level functions only: the hook table is shared by every app built in a process and
    ``on_enter`` adds a hook once.
    """
    lifecycle.GUARDS["supervisor_consent"] = unlock.supervisor_consent
    lifecycle.on_enter(EventState.IN_PROGRESS, _spend_consent)
