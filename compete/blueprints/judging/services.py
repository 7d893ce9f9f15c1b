"""Panels, marking codes and marks: each mark stored once, append-only, chained by hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update

from ... import audit
from ...domain import N_
from ...domain.aggregation import flag_disagreement
from ...domain.draws import draw_numbers, new_seed
from ...domain.errors import Conflict, InvalidInput, NotAllowed
from ...domain.hashchain import GENESIS, Link, link_hash, verify_chain
from ...domain.lifecycle import EventState
from ...domain.scheme import check_mark
from ...extensions import db
from ...models import (
    Draw,
    DrawKind,
    Entry,
    EntryStatus,
    Event,
    Judge,
    MarkEvent,
    MarkKind,
    PanelMember,
    PanelRole,
    ReviewCode,
    SchemeCriterion,
    SchemeModule,
    User,
)

MARKING_ROLES = (PanelRole.MARKING, PanelRole.CHIEF)


# ---------------------------------------------------------------- panel and codes


def add_panel_member(
    actor,
    event: Event,
    judge: Judge,
    *,
    role: PanelRole,
    module_code: str | None = None,
    reason: str | None = None,
    draw: Draw | None = None,
) -> PanelMember:
    """Put ``judge`` on ``event``'s panel; a manual change (no draw) needs a reason."""
    if draw is None and not (reason and reason.strip()):
        raise InvalidInput(N_("A manual change to a panel needs a reason."), field="reason")
    active = db.session.scalar(
        select(PanelMember).where(
            PanelMember.event_id == event.id,
            PanelMember.judge_id == judge.id,
            PanelMember.removed_at.is_(None),
        )
    )
    if active is not None:
        raise Conflict(N_("This judge is already on the panel."))
    member = PanelMember(
        event_id=event.id,
        judge_id=judge.id,
        role=role,
        module_code=module_code,
        draw_id=draw.id if draw else None,
        is_manual=draw is None,
        reason=(reason or "").strip() or None,
    )
    db.session.add(member)
    db.session.flush()
    audit.record(
        actor,
        "panel.member_added",
        member,
        after={"judge": judge.id, "role": role, "module": module_code},
        reason=member.reason,
        competition_id=event.competition_id,
    )
    return member


def panel_of(event: Event) -> list[PanelMember]:
    return db.session.scalars(
        select(PanelMember)
        .where(PanelMember.event_id == event.id, PanelMember.removed_at.is_(None))
        .order_by(PanelMember.id)
    ).all()


def assign_review_codes(
    actor, event: Event, *, seed: str | None = None, prefix: str = "R", reason: str | None = None
) -> Draw:
    """Layer 3: a marking code (评审号) for each approved entry, drawn and recorded."""
    entries = db.session.scalars(
        select(Entry).where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED)
    ).all()
    if not entries:
        raise Conflict(N_("There are no approved entries to code."))
    previous = db.session.scalar(
        select(Draw).where(
            Draw.event_id == event.id, Draw.kind == DrawKind.REVIEW_CODE, Draw.is_current.is_(True)
        )
    )
    if previous is not None:
        if db.session.scalar(
            select(func.count(MarkEvent.id)).where(MarkEvent.event_id == event.id)
        ):
            raise Conflict(N_("Marks exist: the marking codes can no longer be redrawn."))
        if not (reason and reason.strip()):
            raise InvalidInput(
                N_("This draw has been made. A redraw needs a reason and is logged."),
                field="reason",
            )
        previous.is_current = False
    ids = sorted(str(e.id) for e in entries)
    seed = seed or new_seed()
    codes = draw_numbers(ids, seed=seed, prefix=prefix, width=3)
    draw = Draw(
        event_id=event.id,
        kind=DrawKind.REVIEW_CODE,
        seed=seed,
        inputs={"entries": ids, "prefix": prefix, "width": 3},
        result=dict(codes),
        supersedes_id=previous.id if previous else None,
        reason=(reason or "").strip() or None,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(draw)
    db.session.flush()
    db.session.execute(ReviewCode.__table__.delete().where(ReviewCode.event_id == event.id))
    for entry_id, code in codes.items():
        db.session.add(
            ReviewCode(event_id=event.id, entry_id=int(entry_id), code=code, draw_id=draw.id)
        )
    db.session.flush()
    audit.record(
        actor,
        "draw.review_codes",
        draw,
        after={"count": len(codes)},
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return draw


# ---------------------------------------------------------------- what a judge may mark


@dataclass(frozen=True)
class Assignment:
    """What one judge marks in one event: the criteria, and the entries by code."""

    member: PanelMember
    criteria: list[SchemeCriterion]
    codes: dict[str, int]  # review code -> entry id (never shown to the judge with names)


def _scheme_criteria(event: Event, *, module_code: str | None = None) -> list[SchemeCriterion]:
    """The event's criteria in scheme order (of one module when ``module_code`` is given)."""
    if event.scheme is None:
        return []
    stmt = (
        select(SchemeCriterion)
        .join(SchemeModule)
        .where(SchemeModule.scheme_id == event.scheme.id)
        .order_by(SchemeModule.position, SchemeCriterion.position)
    )
    if module_code:
        stmt = stmt.where(SchemeModule.code == module_code)
    return list(db.session.scalars(stmt))


def judge_for_user(user: User) -> Judge | None:
    return db.session.scalar(select(Judge).where(Judge.user_id == user.id))


def assignment_for(user: User, event: Event) -> Assignment:
    """The judge's assignment; NotAllowed when ``user`` is not a marking judge here."""
    judge = judge_for_user(user)
    member = None
    if judge is not None:
        member = db.session.scalar(
            select(PanelMember).where(
                PanelMember.event_id == event.id,
                PanelMember.judge_id == judge.id,
                PanelMember.removed_at.is_(None),
                PanelMember.role.in_(MARKING_ROLES),
            )
        )
    if member is None:
        raise NotAllowed(N_("You are not a marking judge of this event."))
    criteria = _scheme_criteria(event, module_code=member.module_code)
    codes = dict(
        db.session.execute(
            select(ReviewCode.code, ReviewCode.entry_id)
            .where(ReviewCode.event_id == event.id)
            .order_by(ReviewCode.code)
        ).all()
    )
    # Never mark your own unit's contestant (回避): those entries are left out.
    if member.judge.unit_id:
        own = set(
            db.session.scalars(
                select(Entry.id).where(
                    Entry.event_id == event.id, Entry.unit_id == member.judge.unit_id
                )
            )
        )
        codes = {c: e for c, e in codes.items() if e not in own}
    return Assignment(member=member, criteria=list(criteria), codes=codes)


def current_marks(
    event: Event, *, judge_user_id: int | None = None, entry_id: int | None = None
) -> dict[tuple[int, int, int], MarkEvent]:
    """The latest mark event per (judge user, entry, criterion): the values in force."""
    stmt = select(MarkEvent).where(MarkEvent.event_id == event.id).order_by(MarkEvent.seq)
    if judge_user_id is not None:
        stmt = stmt.where(MarkEvent.judge_user_id == judge_user_id)
    if entry_id is not None:
        stmt = stmt.where(MarkEvent.entry_id == entry_id)
    latest: dict[tuple[int, int, int], MarkEvent] = {}
    for mark in db.session.scalars(stmt):
        latest[(mark.judge_user_id, mark.entry_id, mark.criterion_id)] = mark
    return latest


# ---------------------------------------------------------------- recording marks


@dataclass(frozen=True)
class MarkInput:
    client_id: str
    code: str
    criterion_id: int
    value: Decimal | None
    base: int | None
    entered_at: datetime | None
    reason: str | None
    device: str


@dataclass(frozen=True)
class MarkOutcome:
    status: str  # stored, duplicate
    mark: MarkEvent


class StaleMark(Conflict):
    message = N_(
        "A newer mark is stored for this criterion (%(value)s). Check it and enter"
        " yours again with a reason."
    )


def find_submission(user: User, client_id: str) -> MarkEvent | None:
    return db.session.scalar(
        select(MarkEvent).where(
            MarkEvent.judge_user_id == user.id, MarkEvent.client_id == client_id
        )
    )


def _latest(event: Event, user: User, entry_id: int, criterion_id: int) -> MarkEvent | None:
    return db.session.scalar(
        select(MarkEvent)
        .where(
            MarkEvent.event_id == event.id,
            MarkEvent.entry_id == entry_id,
            MarkEvent.criterion_id == criterion_id,
            MarkEvent.judge_user_id == user.id,
        )
        .order_by(MarkEvent.seq.desc())
        .limit(1)
    )


def record_mark(
    user: User,
    event: Event,
    mark: MarkInput,
    *,
    now: datetime,
    assignment: Assignment | None = None,
) -> MarkOutcome:
    """Store one mark exactly once; a replayed ``client_id`` returns the first copy.

    Refuses a locked event, a criterion or entry not assigned to the judge, a value out of
    range or off the step, and a stale edit (``base`` is not the latest mark of the cell).
    The checks run first; the event's chain is then locked only to re-check what may have
    changed meanwhile and to append, so the lock is held as briefly as possible. The caller
    commits right after, which releases it.
    """
    if not mark.client_id or len(mark.client_id) > 64:
        raise InvalidInput(N_("Each mark needs a client id."), field="client_id")
    if earlier := find_submission(user, mark.client_id):
        return MarkOutcome("duplicate", earlier)
    if event.state is not EventState.IN_PROGRESS:
        raise Conflict(N_("Marking is closed for this event."))
    assignment = assignment or assignment_for(user, event)
    entry_id = assignment.codes.get(mark.code)
    if entry_id is None:
        raise NotAllowed(N_("The marking code %(code)s is not assigned to you."), code=mark.code)
    criterion = next((c for c in assignment.criteria if c.id == mark.criterion_id), None)
    if criterion is None:
        raise NotAllowed(N_("This criterion is not assigned to you."))
    if mark.value is None:
        raise InvalidInput(N_("Enter a mark."), field="value")
    value = check_mark(
        criterion.spec(), mark.value, ws_judgement=bool(event.rules.get("ws_judgement"))
    )
    reason = (mark.reason or "").strip() or None
    latest = _check_base(_latest(event, user, entry_id, criterion.id), mark.base, reason)

    _lock_chain(event)
    # Under the lock: the same mark may have arrived meanwhile, or a newer one for the cell.
    if earlier := find_submission(user, mark.client_id):
        return MarkOutcome("duplicate", earlier)
    current = _latest(event, user, entry_id, criterion.id)
    if (current.id if current else None) != (latest.id if latest else None):
        latest = _check_base(current, mark.base, reason)
    kind = MarkKind.CORRECTION if latest is not None else MarkKind.MARK
    return MarkOutcome(
        "stored",
        _append(
            event,
            judge_user_id=user.id,
            entry_id=entry_id,
            criterion_id=criterion.id,
            kind=kind,
            value=value,
            client_id=mark.client_id,
            device=mark.device[:120],
            entered_at=mark.entered_at,
            recorded_at=now,
            supersedes_id=latest.id if latest else None,
            reason=reason,
        ),
    )


def _check_base(latest: MarkEvent | None, base: int | None, reason: str | None) -> MarkEvent | None:
    """The edit must start from the cell's latest mark; changing a stored mark needs a why."""
    if (latest.id if latest else None) != base:
        shown = f"{latest.value:.2f}" if latest is not None and latest.value is not None else "—"
        raise StaleMark(value=shown)
    if latest is not None and reason is None:
        raise InvalidInput(N_("Changing a stored mark needs a reason."), field="reason")
    return latest


def _lock_chain(event: Event) -> None:
    """Take the event's write lock before reading anything the new mark depends on.

    PostgreSQL locks the event row; SQLite takes its database write lock, waiting up to the
    busy timeout, so a mark never starts from a snapshot another writer has moved past.
    """
    db.session.execute(update(Event).where(Event.id == event.id).values(mark_seq=Event.mark_seq))


def _append(event: Event, **fields) -> MarkEvent:
    """Add a link to the event's chain; the counter update serialises writers per event."""
    seq = db.session.execute(
        update(Event)
        .where(Event.id == event.id)
        .values(mark_seq=Event.mark_seq + 1)
        .returning(Event.mark_seq, Event.mark_head)
    ).one()
    number, prev_hash = seq
    row = MarkEvent(event_id=event.id, seq=number, prev_hash=prev_hash, hash="", **fields)
    row.hash = link_hash(prev_hash, row.payload())
    db.session.add(row)
    db.session.execute(update(Event).where(Event.id == event.id).values(mark_head=row.hash))
    db.session.flush()
    db.session.expire(event, ["mark_seq", "mark_head"])
    return row


def _misplaced_supersedes(rows) -> int | None:
    """The seq of the first link whose ``supersedes_id`` is not the previous link of the same
    judge, entry and criterion (the hash does not cover ids), or None."""
    last: dict[tuple[int, int, int], int] = {}
    for row in rows:
        cell = (row.judge_user_id, row.entry_id, row.criterion_id)
        if row.supersedes_id is not None and row.supersedes_id != last.get(cell):
            return row.seq
        last[cell] = row.id
    return None


def verify_marks(event: Event) -> int | None:
    """The sequence number of the first broken link of the mark chain, or None if intact."""
    rows = db.session.scalars(
        select(MarkEvent).where(MarkEvent.event_id == event.id).order_by(MarkEvent.seq)
    ).all()
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:  # a link removed or inserted
            return expected_seq
    broken = verify_chain(
        [Link(payload=row.payload(), hash=row.hash, prev_hash=row.prev_hash) for row in rows]
    )
    if broken is not None:
        return rows[broken].seq
    if (wrong := _misplaced_supersedes(rows)) is not None:
        return wrong
    head = rows[-1].hash if rows else GENESIS
    if event.mark_head != head:  # the newest links cut off
        return len(rows) + 1
    return None


# ---------------------------------------------------------------- chief judge's console


@dataclass(frozen=True)
class Cell:
    """One marking code × criterion: who has marked, and whether the marks agree."""

    marked: int
    expected: int
    values: tuple[Decimal, ...]
    flagged: bool
    mismatch: bool = False  # double entry (measurement): the entered values differ at all

    @property
    def complete(self) -> bool:
        return self.marked >= self.expected


@dataclass(frozen=True)
class Progress:
    codes: list[str]
    criteria: list[SchemeCriterion]
    cells: dict[tuple[str, int], Cell]
    judges: list[tuple[str, int, int]]  # (judge name, marks given, marks expected)

    @property
    def complete(self) -> bool:
        return bool(self.cells) and all(c.complete for c in self.cells.values())

    @property
    def flags(self) -> int:
        return sum(c.flagged for c in self.cells.values())

    @property
    def done(self) -> int:
        return sum(c.complete for c in self.cells.values())


def panel_progress(event: Event) -> Progress:
    """The grid the chief judge watches: completeness and agreement per code and criterion."""
    members = [m for m in panel_of(event) if m.role in MARKING_ROLES and m.judge.user_id]
    criteria = _scheme_criteria(event)
    codes = dict(
        db.session.execute(
            select(ReviewCode.code, ReviewCode.entry_id)
            .where(ReviewCode.event_id == event.id)
            .order_by(ReviewCode.code)
        ).all()
    )
    units = dict(
        db.session.execute(select(Entry.id, Entry.unit_id).where(Entry.event_id == event.id)).all()
    )
    marks = current_marks(event)
    default_tolerance = event.rules.get("agreement_tolerance")
    cells: dict[tuple[str, int], Cell] = {}
    given: dict[int, int] = {m.judge.user_id: 0 for m in members}
    expected_by: dict[int, int] = {m.judge.user_id: 0 for m in members}
    module_of = {c.id: c.module.code for c in criteria}
    for code, entry_id in codes.items():
        for criterion in criteria:
            markers = [
                m
                for m in members
                if (m.module_code in (None, module_of[criterion.id]))
                and m.judge.unit_id != units.get(entry_id)
            ]
            values = []
            for m in markers:
                expected_by[m.judge.user_id] += 1
                mark = marks.get((m.judge.user_id, entry_id, criterion.id))
                if mark is not None and mark.value is not None:
                    values.append(Decimal(mark.value))
                    given[m.judge.user_id] += 1
            tolerance = (
                criterion.tolerance
                if criterion.tolerance is not None
                else (Decimal(str(default_tolerance)) if default_tolerance is not None else None)
            )
            expected = min(criterion.judges, len(markers)) or len(markers)
            if criterion.double_entry:  # two judges enter the same measurement
                expected = max(expected, min(2, len(markers)))
            mismatch = criterion.double_entry and len(set(values)) > 1
            flagged = mismatch or (
                len(values) > 1 and tolerance is not None and flag_disagreement(values, tolerance)
            )
            cells[(code, criterion.id)] = Cell(
                marked=len(values),
                expected=expected,
                values=tuple(values),
                flagged=flagged,
                mismatch=mismatch,
            )
    judges = [(m.judge.name, given[m.judge.user_id], expected_by[m.judge.user_id]) for m in members]
    return Progress(codes=list(codes), criteria=list(criteria), cells=cells, judges=judges)


def sheets_complete(event: Event, now: datetime | None = None) -> bool:
    """Lifecycle guard: every cell marked by its judges and no disagreement left open."""
    progress = panel_progress(event)
    return progress.complete and progress.flags == 0


def panel_drawn(event: Event, now: datetime | None = None) -> bool:
    """Lifecycle guard: a chief judge and enough marking judges are on the panel."""
    members = panel_of(event)
    marking = sum(m.role is PanelRole.MARKING for m in members)
    chief = any(m.role is PanelRole.CHIEF for m in members)
    return chief and marking >= 1


def recusal_clean(event: Event, now: datetime | None = None) -> bool:
    """Lifecycle guard: at most the allowed number of judges per unit on the panel."""
    limit = int(event.rules.get("judges_per_unit_max") or 1)
    counts: dict[int, int] = {}
    for m in panel_of(event):
        if m.judge.unit_id:
            counts[m.judge.unit_id] = counts.get(m.judge.unit_id, 0) + 1
    return all(n <= limit for n in counts.values())
