"""Appeals (申诉, §4.8): filed in writing by the contestant or their own unit, decided by the
supervision and arbitration panel; the decision is final.

- The deadline is ``appeal_window_min`` after the anchor: the event end (``event_end``, the
  default, "比赛结束后2小时内") or the publication of the provisional results
  (``result_release``). An appeal at the deadline is in time; a later one is refused and
  nothing is stored.
- Appeals are taken while the event is in progress, locked or under review when anchored to
  the event end, and during publicity (against the publication's deadline).
- Only the contestant (an account named by the contestant's ID number — the account model has
  no other link to a person) or a contact of the entry's own unit may appeal for an entry.
- An upheld appeal sends published results back to review (the publication is withdrawn) with
  a review of the appealed entry, so corrections go through the review and the results are
  recomputed and published again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.calendar import appeal_deadline, appeal_in_time
from ...domain.errors import Conflict, InvalidInput, NotAllowed
from ...domain.lifecycle import EventState
from ...extensions import db
from ...models import (
    Appeal,
    AppealStatus,
    Entry,
    EntryMember,
    EntryScore,
    EntryStatus,
    Event,
    MarkEvent,
    Person,
    Publication,
    ResultReview,
    ReviewCheck,
    Role,
    Unit,
    User,
)
from ...permissions import Permission, has_permission
from ..competitions import lifecycle
from ..judging.services import current_marks
from ..judging.unseal import unsealed
from . import publicity, services
from . import review as review_service

MAX_TEXT = 5000
# States in which appeals are taken, by anchor (§3: in_progress "SUP: appeals"; publicity
# "SUP: appeals if anchored to publication").
STATES_EVENT_END = (
    EventState.IN_PROGRESS,
    EventState.SCORING_LOCKED,
    EventState.UNDER_REVIEW,
    EventState.PUBLICITY,
)
STATES_RELEASE = (EventState.PUBLICITY,)


class AppealTooLate(Conflict):
    message = N_(
        "The deadline for appeals was %(deadline)s (Beijing time); a later appeal is refused."
    )


class AppealsClosed(Conflict):
    message = N_("Appeals are not taken for this event now.")


def _local(moment: datetime) -> str:
    return moment.astimezone(publicity.zone()).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- the window


@dataclass(frozen=True)
class AppealWindow:
    """Whether appeals are taken for the event now, and until when."""

    taking: bool  # the event is in a state that takes appeals and a deadline is known
    deadline: datetime | None
    anchor: str

    def in_time(self, moment: datetime) -> bool:
        return self.taking and self.deadline is not None and appeal_in_time(moment, self.deadline)


def appeal_window(event: Event) -> AppealWindow:
    """The event's appeal deadline as it stands: the publication's during publicity, else the
    event end + the window (when anchored to the event end)."""
    rules = event.rules
    anchor = rules.get("appeal_anchor") or "event_end"
    if event.state is EventState.PUBLICITY:
        publication = services.current_publication(event)
        if publication is not None:
            return AppealWindow(True, publication.appeal_deadline, anchor)
    if anchor == "event_end" and event.state in STATES_EVENT_END and event.end_at is not None:
        deadline = appeal_deadline(
            event.end_at, window_minutes=int(rules.get("appeal_window_min", 120))
        )
        return AppealWindow(True, deadline, anchor)
    return AppealWindow(False, None, anchor)


# ---------------------------------------------------------------- who may appeal


def contestant_person_ids(user: User) -> set[int]:
    """The people a contestant account stands for: the one whose ID number is its username."""
    if not any(a.role is Role.CONTESTANT for a in user.assignments):
        return set()
    number = (user.username or "").strip().upper()
    if not number:
        return set()
    return set(db.session.scalars(select(Person.id).where(Person.id_number == number)))


def may_appeal_for(user: User, entry: Entry) -> bool:
    """The contestant themself, or a contact of the entry's own unit."""
    for a in user.assignments:
        if a.role is Role.UNIT_CONTACT and a.unit_id == entry.unit_id:
            return True
    people = contestant_person_ids(user)
    return bool(people) and any(m.person_id in people for m in entry.members)


def entries_open_to(user: User, event: Event) -> list[Entry]:
    """The approved entries of ``event`` ``user`` may appeal for: their own (contestant) and
    their units' (unit contact)."""
    units = {a.unit_id for a in user.assignments if a.role is Role.UNIT_CONTACT and a.unit_id}
    people = contestant_person_ids(user)
    if not units and not people:
        return []
    own = select(EntryMember.entry_id).where(EntryMember.person_id.in_(people or {0}))
    stmt = (
        select(Entry)
        .where(
            Entry.event_id == event.id,
            Entry.status == EntryStatus.APPROVED,
            Entry.unit_id.in_(units or {0}) | Entry.id.in_(own),
        )
        .order_by(Entry.id)
    )
    return list(db.session.scalars(stmt))


def entries_for_contestant(user: User) -> list[Entry]:
    people = contestant_person_ids(user)
    if not people:
        return []
    stmt = (
        select(Entry)
        .join(EntryMember, EntryMember.entry_id == Entry.id)
        .where(EntryMember.person_id.in_(people), Entry.status == EntryStatus.APPROVED)
        .order_by(Entry.id.desc())
    )
    return list(db.session.scalars(stmt).unique())


def entries_for_unit(unit: Unit) -> list[Entry]:
    stmt = (
        select(Entry)
        .where(Entry.unit_id == unit.id, Entry.status == EntryStatus.APPROVED)
        .order_by(Entry.id.desc())
    )
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class Appealable:
    entry: Entry
    window: AppealWindow
    open_now: bool


def appealable(entries: list[Entry], *, now: datetime) -> list[Appealable]:
    """The entries of events past the start (where an appeal may arise), with their window."""
    rows = []
    for entry in entries:
        if entry.event.state not in STATES_EVENT_END:
            continue
        window = appeal_window(entry.event)
        rows.append(Appealable(entry, window, window.in_time(now)))
    return rows


def appeals_for_entries(entries: list[Entry]) -> list[Appeal]:
    ids = [e.id for e in entries]
    if not ids:
        return []
    stmt = select(Appeal).where(Appeal.entry_id.in_(ids)).order_by(Appeal.id.desc())
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------- filing and deciding


def file_appeal(actor: User, entry: Entry, *, text: str | None, now: datetime) -> Appeal:
    """Store a written appeal for ``entry`` if ``actor`` may file it and it is in time."""
    if not may_appeal_for(actor, entry):
        raise NotAllowed(N_("You may appeal only for your own result or your own unit's."))
    text = (text or "").strip()
    if not text:
        raise InvalidInput(N_("Write what the appeal is about."), field="text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(N_("The appeal is too long (5,000 characters at most)."), field="text")
    if entry.status is not EntryStatus.APPROVED:
        raise Conflict(N_("Only an entry that took part can appeal."))
    event = entry.event
    window = appeal_window(event)
    if not window.taking:
        raise AppealsClosed()
    if not window.in_time(now):
        raise AppealTooLate(deadline=_local(window.deadline))
    duplicate = db.session.scalar(
        select(Appeal.id).where(Appeal.entry_id == entry.id, Appeal.status == AppealStatus.OPEN)
    )
    if duplicate is not None:
        raise Conflict(N_("An appeal for this entry is already open."))
    publication = services.current_publication(event)
    appeal = Appeal(
        event_id=event.id,
        entry_id=entry.id,
        publication_id=publication.id if publication else None,
        filed_by_id=actor.id,
        filed_at=now,
        text=text,
        status=AppealStatus.OPEN,
    )
    db.session.add(appeal)
    db.session.flush()
    audit.record(
        actor,
        "appeal.filed",
        appeal,
        after={"entry": entry.id, "deadline": window.deadline, "anchor": window.anchor},
        competition_id=event.competition_id,
    )
    return appeal


def decide_appeal(
    actor: User, appeal: Appeal, *, upheld: bool, decision: str | None, now: datetime
) -> Appeal:
    """Record the panel's final decision. Upheld during publicity: back to review (publication
    withdrawn) with a review of the appealed entry; upheld under review: that review."""
    event = db.session.get(Event, appeal.event_id)
    if not has_permission(actor, Permission.APPEAL_DECIDE, event=event):
        raise NotAllowed(N_("Only the supervision and arbitration panel decides appeals."))
    if appeal.status is not AppealStatus.OPEN:
        raise Conflict(N_("This appeal has been decided; the decision is final."))
    decision = (decision or "").strip()
    if not decision:
        raise InvalidInput(N_("Write the decision and its grounds."), field="decision")
    if len(decision) > MAX_TEXT:
        raise InvalidInput(
            N_("The decision is too long (5,000 characters at most)."), field="decision"
        )
    appeal.status = AppealStatus.UPHELD if upheld else AppealStatus.DISMISSED
    appeal.decision = decision
    appeal.decided_by_id = actor.id
    appeal.decided_at = now
    db.session.flush()
    audit.record(
        actor,
        "appeal.decided",
        appeal,
        after={"status": appeal.status, "entry": appeal.entry_id},
        reason=decision,
        competition_id=event.competition_id,
    )
    if upheld:
        if event.state is EventState.PUBLICITY:
            lifecycle.transition_event(
                actor, event, EventState.UNDER_REVIEW, reason=decision[:2000], now=now
            )
        if event.state is EventState.UNDER_REVIEW:
            entry = db.session.get(Entry, appeal.entry_id)
            review_service.start_appeal_review(actor, event, entry, appeal.id, now=now)
    return appeal


# ---------------------------------------------------------------- the inbox and the history


@dataclass
class InboxItem:
    appeal: Appeal
    entry: Entry
    code: str | None
    score: EntryScore | None  # None while the codes are sealed
    marks: list[tuple[str, str, str]]  # (criterion, judge, value), empty while sealed
    history: list[dict[str, Any]] = field(default_factory=list)


def inbox(event: Event) -> list[InboxItem]:
    """The event's appeals, open first (oldest first), then decided (newest first)."""
    appeals = list(
        db.session.scalars(select(Appeal).where(Appeal.event_id == event.id).order_by(Appeal.id))
    )
    appeals.sort(
        key=lambda a: (
            a.status is not AppealStatus.OPEN,
            a.id if a.status is AppealStatus.OPEN else -a.id,
        )
    )
    codes = review_service.coded_entries(event)
    open_codes = unsealed(event)
    criteria = {}
    if event.scheme is not None:
        criteria = {c.id: c.code for m in event.scheme.modules for c in m.criteria}
    judges = _user_names(
        set(
            db.session.scalars(
                select(MarkEvent.judge_user_id).where(MarkEvent.event_id == event.id).distinct()
            )
        )
    )
    items = []
    for appeal in appeals:
        entry = db.session.get(Entry, appeal.entry_id)
        score = marks = None
        if open_codes:
            score = db.session.scalar(
                select(EntryScore).where(
                    EntryScore.event_id == event.id, EntryScore.entry_id == entry.id
                )
            )
            marks = sorted(
                (
                    criteria.get(m.criterion_id, "?"),
                    judges.get(m.judge_user_id, "—"),
                    "—" if m.value is None else f"{m.value:.2f}",
                )
                for m in current_marks(event, entry_id=entry.id).values()
            )
        items.append(
            InboxItem(
                appeal=appeal,
                entry=entry,
                code=codes.get(entry.id) if open_codes else None,
                score=score,
                marks=marks or [],
                history=appeal_history(appeal),
            )
        )
    return items


def _user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def appeal_history(appeal: Appeal) -> list[dict[str, Any]]:
    """What followed the appeal, in order: filed, decided, publication withdrawn, the review of
    the entry and its corrections, the new publication."""
    names = _user_names({appeal.filed_by_id, appeal.decided_by_id})
    steps: list[dict[str, Any]] = [
        {"kind": "filed", "at": appeal.filed_at, "by": names.get(appeal.filed_by_id)}
    ]
    if appeal.decided_at is None:
        return steps
    steps.append(
        {
            "kind": appeal.status.value,
            "at": appeal.decided_at,
            "by": names.get(appeal.decided_by_id),
            "text": appeal.decision,
        }
    )
    if appeal.status is not AppealStatus.UPHELD:
        return steps
    withdrawn = db.session.scalar(
        select(Publication)
        .where(
            Publication.event_id == appeal.event_id,
            Publication.withdrawn_at >= appeal.decided_at,
        )
        .order_by(Publication.withdrawn_at)
        .limit(1)
    )
    if withdrawn is not None:
        steps.append(
            {"kind": "withdrawn", "at": withdrawn.withdrawn_at, "head": withdrawn.chain_head}
        )
    checks = db.session.scalars(
        select(ReviewCheck)
        .join(ResultReview, ResultReview.id == ReviewCheck.review_id)
        .where(
            ResultReview.event_id == appeal.event_id,
            ResultReview.seed.startswith(review_service.APPEAL_SEED),
            ReviewCheck.entry_id == appeal.entry_id,
            ReviewCheck.checked_at >= appeal.decided_at,
        )
        .order_by(ReviewCheck.id)
    ).all()
    for check in checks:
        corrected = []
        if check.mark_event_ids:
            corrected = list(
                db.session.scalars(
                    select(MarkEvent)
                    .where(MarkEvent.id.in_(check.mark_event_ids))
                    .order_by(MarkEvent.seq)
                )
            )
        steps.append(
            {
                "kind": f"review_{check.outcome.value}",
                "at": check.checked_at,
                "by": _user_names({check.checked_by_id}).get(check.checked_by_id),
                "text": check.note,
                "marks": [(m.seq, f"{m.value:.2f}") for m in corrected],
            }
        )
    republished = db.session.scalar(
        select(Publication)
        .where(
            Publication.event_id == appeal.event_id,
            Publication.published_at >= appeal.decided_at,
        )
        .order_by(Publication.id)
        .limit(1)
    )
    if republished is not None:
        steps.append(
            {"kind": "republished", "at": republished.published_at, "head": republished.chain_head}
        )
    return steps
