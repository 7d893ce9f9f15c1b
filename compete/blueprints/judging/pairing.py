"""Tablet pairing: the chief judge shows a one-time QR that signs one tablet in as one judge.

The chief judge, seated on the event's panel, picks a marking judge of the panel; the service
makes a random code, stores only its SHA-256 (``TabletPairing``), and the chief judge's screen
shows ``<base>/tablet/pair/<code>`` as a QR code. The code expires after a few minutes and
works once: the tablet that opens it (and confirms) is signed in as that judge, with a login
session restricted to this event's tablet pages (``PAIRED_EVENT`` in the signed session;
``restrict_paired_session`` refuses everything else). A new code for the same judge voids the
codes not used yet. Every step is audited; an unknown, altered, expired or used code signs
nobody in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict, InvalidInput, NotAllowed
from ...domain.tokens import hash_token, new_token
from ...extensions import db
from ...models import (
    Event,
    Judge,
    PanelMember,
    PanelRole,
    TabletPairing,
    User,
)
from ...permissions import Permission, has_permission
from ...qr import check_url
from .services import MARKING_ROLES, panel_of

VALID_FOR = timedelta(minutes=5)
PAIRED_EVENT = "paired_event"  # session key: the one event a paired tablet may open
PATH = "/tablet/pair/"


class PairingUnknown(NotAllowed):
    message = N_("This pairing code is not valid. Ask the chief judge for a new QR code.")


class PairingExpired(Conflict):
    message = N_("This pairing code has expired. Ask the chief judge for a new QR code.")


class PairingUsed(Conflict):
    message = N_("This pairing code has already been used. Ask the chief judge for a new QR code.")


@dataclass(frozen=True)
class Pairable:
    """A judge of the panel the chief judge may pair a tablet for (or why not)."""

    member: PanelMember
    user: User | None
    problem: str | None  # msgid, None when the judge can be paired


def seated_chief(user: User, event: Event) -> PanelMember | None:
    """The chief judge's seat on ``event``'s panel, if ``user`` holds one."""
    return db.session.scalar(
        select(PanelMember)
        .join(Judge, Judge.id == PanelMember.judge_id)
        .where(
            PanelMember.event_id == event.id,
            PanelMember.removed_at.is_(None),
            PanelMember.role == PanelRole.CHIEF,
            Judge.user_id == user.id,
        )
    )


def pairable(event: Event) -> list[Pairable]:
    """The marking judges of the panel, each with their account or why it cannot be paired."""
    rows = []
    for member in panel_of(event):
        if member.role not in MARKING_ROLES:
            continue
        user = member.judge.user
        problem = None
        if user is None:
            problem = N_("This judge has no account: the organiser creates one first.")
        elif not user.is_active:
            problem = N_("This judge's account is disabled.")
        elif not has_permission(user, Permission.MARKS_ENTER, event=event):
            problem = N_("This judge's account holds no judge role for this event.")
        rows.append(Pairable(member, user, problem))
    return rows


def recent_pairings(event: Event, *, limit: int = 20) -> list[TabletPairing]:
    return db.session.scalars(
        select(TabletPairing)
        .where(TabletPairing.event_id == event.id)
        .order_by(TabletPairing.id.desc())
        .limit(limit)
    ).all()


def create_pairing(
    actor: User, event: Event, *, member_id: int | None, now: datetime
) -> tuple[TabletPairing, str]:
    """A one-time code for the judge on seat ``member_id``: the row and the code (shown once).

    Only the chief judge seated on this panel; the judge must be a marking judge of the panel
    with an active account holding a judge role here. Earlier unused codes for the same judge
    and event stop working.
    """
    if seated_chief(actor, event) is None:
        raise NotAllowed(N_("Only the chief judge seated on this panel pairs tablets."))
    choice = next((p for p in pairable(event) if p.member.id == member_id), None)
    if choice is None:
        raise InvalidInput(N_("Choose a marking judge of this panel."), field="member_id")
    if choice.problem is not None:
        raise InvalidInput(choice.problem, field="member_id")
    user = choice.user
    db.session.execute(
        update(TabletPairing)
        .where(
            TabletPairing.event_id == event.id,
            TabletPairing.judge_user_id == user.id,
            TabletPairing.used_at.is_(None),
            TabletPairing.expires_at > now,
        )
        .values(expires_at=now)
    )
    code = _new_code()
    row = TabletPairing(
        event_id=event.id,
        judge_user_id=user.id,
        code_hash=hash_token(code),
        created_by_id=actor.id,
        created_at=now,
        expires_at=now + VALID_FOR,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        actor,
        "tablet.pairing_created",
        row,
        after={
            "judge_user": user.id,
            "judge": choice.member.judge.name,
            "expires_at": row.expires_at,
        },
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return row, code


def _new_code() -> str:
    """A random code that may go into a QR code (never a run of digits like an ID number)."""
    while True:
        code = new_token()
        try:
            check_url(PATH + code)
        except ValueError:
            continue
        return code


def find_pairing(code: str) -> TabletPairing | None:
    if not code or len(code) > 64:
        return None
    return db.session.scalar(
        select(TabletPairing).where(TabletPairing.code_hash == hash_token(code))
    )


def check_pairing(code: str, *, now: datetime) -> TabletPairing:
    """The pairing behind ``code`` if it may still be used; raises why not otherwise."""
    row = find_pairing(code)
    if row is None:
        raise PairingUnknown()
    if row.used_at is not None:
        raise PairingUsed()
    if row.expires_at <= now:
        raise PairingExpired()
    return row


def use_pairing(code: str, *, now: datetime, device: str) -> tuple[TabletPairing, User]:
    """Spend the code: marked used exactly once (a conditional update), audited as the judge.

    Returns the pairing and the judge's account; the caller opens the tablet's login session.
    """
    row = check_pairing(code, now=now)
    user = db.session.get(User, row.judge_user_id)
    event = db.session.get(Event, row.event_id)
    if user is None or not user.is_active or event is None:
        raise PairingUnknown()
    if not has_permission(user, Permission.MARKS_ENTER, event=event):
        raise PairingUnknown()
    spent = db.session.execute(
        update(TabletPairing)
        .where(
            TabletPairing.id == row.id,
            TabletPairing.used_at.is_(None),
            TabletPairing.expires_at > now,
        )
        .values(used_at=now, device=(device or "")[:120])
    )
    if spent.rowcount != 1:  # another tablet was quicker
        raise PairingUsed()
    db.session.refresh(row)
    audit.record(
        user,
        "tablet.paired",
        row,
        after={"device": row.device, "chief_judge": row.created_by_id},
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return row, user


def record_refusal(code: str, exc: Exception, *, device: str) -> None:
    """Audit a refused attempt to use a known code (expired or used); unknown codes name no
    pairing and are only answered."""
    row = find_pairing(code)
    if row is None:
        return
    audit.record(
        None,
        "tablet.pairing_refused",
        row,
        after={
            "why": "used" if isinstance(exc, PairingUsed) else "expired",
            "device": (device or "")[:120],
        },
        event_id=row.event_id,
    )
