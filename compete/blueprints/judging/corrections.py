"""Corrections found in the score review (复核): new links on the event's mark chain.

A stored mark is never edited. During the review the supervisor or the chief judge corrects a
judge's mark by appending a ``CORRECTION`` mark event for the same cell (same judge, entry and
criterion) that supersedes the mark in force, with the reason written down. The chain stays
append-only and hash-linked; who corrected it is in the link itself (``client_id``/``device``)
and in the audit trail.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict, InvalidInput, NotAllowed
from ...domain.lifecycle import EventState
from ...domain.scheme import check_mark
from ...extensions import db
from ...models import (
    Entry,
    EntryStatus,
    Event,
    MarkEvent,
    MarkKind,
    ReviewCode,
    Role,
    SchemeCriterion,
    SchemeModule,
    User,
)
from ...permissions import _in_scope
from .services import _append, current_marks, lock_chain

# Who may correct a mark during the review: the supervision panel and the chief judge (§4.7).
CORRECTING_ROLES = (Role.SUPERVISOR, Role.CHIEF_JUDGE)
MAX_REASON = 2000


@dataclass(frozen=True)
class Correction:
    """One judge's mark for one criterion, to be replaced by ``value``."""

    judge_user_id: int
    criterion_id: int
    value: Decimal


def may_correct(user: User, event: Event) -> bool:
    """Whether ``user`` is the event's supervisor or chief judge (the roles that correct)."""
    return any(
        a.role in CORRECTING_ROLES
        and _in_scope(a, competition=event.competition, event=event, unit=None)
        for a in user.assignments
    )


def _criteria(event: Event) -> dict[int, SchemeCriterion]:
    if event.scheme is None:
        return {}
    stmt = (
        select(SchemeCriterion).join(SchemeModule).where(SchemeModule.scheme_id == event.scheme.id)
    )
    return {c.id: c for c in db.session.scalars(stmt)}


def correct_marks(
    actor: User,
    event: Event,
    entry: Entry,
    changes: Sequence[Correction],
    *,
    reason: str | None,
    now: datetime,
) -> list[MarkEvent]:
    """Append one CORRECTION link per change; every check runs before anything is written.

    Refused (nothing changed): an event not under review (Conflict), an actor who is neither
    the event's supervisor nor its chief judge (NotAllowed), a blank reason (InvalidInput,
    field ``reason``), no change, an entry without a marking code, a cell nobody marked, a
    value out of range or off the step, or a value equal to the mark in force.
    """
    if event.state is not EventState.UNDER_REVIEW:
        raise Conflict(N_("Marks can be corrected only while the scores are under review."))
    if not may_correct(actor, event):
        raise NotAllowed(N_("Only the supervisor or the chief judge may correct a mark."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(N_("A correction needs a reason."), field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(N_("The reason is too long (2,000 characters at most)."), field="reason")
    if not changes:
        raise InvalidInput(N_("Change at least one mark."), field="marks")
    coded = db.session.scalar(select(ReviewCode.code).where(ReviewCode.entry_id == entry.id))
    if entry.event_id != event.id or entry.status is not EntryStatus.APPROVED or coded is None:
        raise InvalidInput(N_("This entry has no marking code in this event."), field="entry")
    criteria = _criteria(event)
    in_force = current_marks(event, entry_id=entry.id)
    ws = bool(event.rules.get("ws_judgement"))
    planned: list[tuple[Correction, MarkEvent, Decimal]] = []
    seen: set[tuple[int, int]] = set()
    for change in changes:
        key = (change.judge_user_id, change.criterion_id)
        if key in seen:
            raise InvalidInput(N_("The same mark is corrected twice."), field="marks")
        seen.add(key)
        criterion = criteria.get(change.criterion_id)
        current = in_force.get((change.judge_user_id, entry.id, change.criterion_id))
        if criterion is None or current is None or current.value is None:
            raise InvalidInput(N_("Only a mark that was given can be corrected."), field="marks")
        value = check_mark(criterion.spec(), change.value, ws_judgement=ws)
        if Decimal(current.value) == value:
            raise InvalidInput(
                N_("The corrected mark for %(code)s is the same as the mark in force."),
                field="marks",
                code=criterion.code,
            )
        planned.append((change, current, value))

    lock_chain(event.id)
    # Under the lock: a mark may have been added to these cells meanwhile.
    in_force = current_marks(event, entry_id=entry.id)
    links = []
    for change, current, value in planned:
        latest = in_force[(change.judge_user_id, entry.id, change.criterion_id)]
        if latest.id != current.id:
            raise Conflict(N_("Another correction of this mark was stored meanwhile."))
        links.append(
            _append(
                event,
                judge_user_id=change.judge_user_id,
                entry_id=entry.id,
                criterion_id=change.criterion_id,
                kind=MarkKind.CORRECTION,
                value=value,
                client_id=f"review-{actor.id}-{secrets.token_hex(12)}",
                device=f"review by user {actor.id}",
                entered_at=now,
                recorded_at=now,
                supersedes_id=current.id,
                reason=reason,
            )
        )
    audit.record(
        actor,
        "marks.corrected",
        entry,
        before={
            "marks": [
                {"judge": c.judge_user_id, "criterion": c.criterion_id, "value": m.value}
                for c, m, _v in planned
            ]
        },
        after={
            "code": coded,
            "marks": [
                {"judge": link.judge_user_id, "criterion": link.criterion_id, "value": link.value}
                for link in links
            ],
            "seq": [link.seq for link in links],
        },
        reason=reason,
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return links
