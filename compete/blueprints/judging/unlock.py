"""Unlocking locked scoring: the chief judge, a supervisor's consent and a reason (§3).

A supervisor of the event records consent, with a reason, while scoring is locked. The
lifecycle guard ``supervisor_consent`` holds while such a consent is unused, and the chief
judge's unlock (scoring_locked → in_progress, with the chief judge's own reason) must call
``use_consent`` in the same transaction, so one consent reopens scoring once. A consent given
before the event's latest locking does not count.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict, InvalidInput, NotAllowed
from ...domain.lifecycle import EventState
from ...extensions import db
from ...models import Event, EventTransition, Role, UnlockConsent, User
from ...permissions import _in_scope

MAX_REASON = 2000


def is_supervisor(user: User, event: Event) -> bool:
    """Whether ``user`` holds the supervisor role (监督仲裁组) for ``event``."""
    return any(
        a.role is Role.SUPERVISOR
        and _in_scope(a, competition=event.competition, event=event, unit=None)
        for a in user.assignments
    )


def _locked_since(event: Event) -> datetime | None:
    return db.session.scalar(
        select(func.max(EventTransition.at)).where(
            EventTransition.event_id == event.id,
            EventTransition.to_state == EventState.SCORING_LOCKED,
        )
    )


def open_consent(event: Event) -> UnlockConsent | None:
    """The unused consent given since scoring was last locked, while it is locked."""
    if event.state is not EventState.SCORING_LOCKED:
        return None
    return _unused_consent(event)


def _unused_consent(event: Event) -> UnlockConsent | None:
    stmt = (
        select(UnlockConsent)
        .where(UnlockConsent.event_id == event.id, UnlockConsent.used_at.is_(None))
        .order_by(UnlockConsent.id.desc())
        .limit(1)
    )
    since = _locked_since(event)
    if since is not None:
        stmt = stmt.where(UnlockConsent.given_at >= since)
    return db.session.scalar(stmt)


def supervisor_consent(event: Event, now: datetime | None = None) -> bool:
    """Lifecycle guard: a supervisor has agreed to reopen scoring and the consent is unused."""
    return open_consent(event) is not None


def consents(event: Event) -> list[UnlockConsent]:
    """Every consent of the event, newest first (the page's history)."""
    return db.session.scalars(
        select(UnlockConsent)
        .where(UnlockConsent.event_id == event.id)
        .order_by(UnlockConsent.id.desc())
    ).all()


def give_consent(actor: User, event: Event, *, reason: str | None, now: datetime) -> UnlockConsent:
    """A supervisor of the event agrees, with a reason, that the chief judge may unlock."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(N_("Consent to unlock needs a reason."), field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(N_("The reason is too long (2,000 characters at most)."), field="reason")
    if not is_supervisor(actor, event):
        raise NotAllowed(N_("Only a supervisor of this event consents to unlocking."))
    if event.state is not EventState.SCORING_LOCKED:
        raise Conflict(N_("Scoring is not locked: there is nothing to unlock."))
    if open_consent(event) is not None:
        raise Conflict(N_("A supervisor has already consented; the next unlock uses it."))
    consent = UnlockConsent(event_id=event.id, supervisor_id=actor.id, reason=reason, given_at=now)
    db.session.add(consent)
    db.session.flush()
    audit.record(
        actor,
        "scoring.unlock_consented",
        consent,
        after={"state": event.state, "given_at": now},
        reason=reason,
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return consent


def withdraw_consent(actor: User, event: Event, *, now: datetime) -> None:
    """The supervisor who consented takes it back before it is used (audited, row removed)."""
    consent = open_consent(event)
    if consent is None:
        raise Conflict(N_("There is no open consent to withdraw."))
    if consent.supervisor_id != actor.id:
        raise NotAllowed(N_("Only the supervisor who consented can withdraw the consent."))
    audit.record(
        actor,
        "scoring.unlock_consent_withdrawn",
        consent,
        before={"reason": consent.reason, "given_at": consent.given_at},
        after={"withdrawn_at": now},
        event_id=event.id,
        competition_id=event.competition_id,
    )
    db.session.delete(consent)
    db.session.flush()


def use_consent(event: Event, actor: User, now: datetime) -> UnlockConsent:
    """Spend the open consent on the chief judge's unlock; call it on that transition.

    Conflict when there is none (the guard should have refused the unlock already). Works
    before or after the event's state has been set to in_progress.
    """
    consent = _unused_consent(event)
    if consent is None:
        raise Conflict(N_("Unlocking needs a supervisor's consent first."))
    consent.used_at = now
    db.session.flush()
    audit.record(
        actor,
        "scoring.unlock_consent_used",
        consent,
        after={"supervisor": consent.supervisor_id, "used_at": now},
        reason=consent.reason,
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return consent
