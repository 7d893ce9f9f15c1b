"""Panels, marking codes and marks: each mark stored once, append-only, chained by hash."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import and_, bindparam, func, insert, literal, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError

from ... import audit
from ...domain import N_
from ...domain.aggregation import flag_disagreement
from ...domain.draws import draw_numbers, new_seed
from ...domain.errors import Conflict, DomainError, InvalidInput, NotAllowed
from ...domain.hashchain import GENESIS, Link, link_hash, verify_chain
from ...domain.lifecycle import EventState
from ...domain.scheme import CriterionSpec, check_mark
from ...extensions import db
from ...models import (
    Draw,
    DrawKind,
    Entry,
    EntryStatus,
    Event,
    Judge,
    MarkEvent,
    MarkingScheme,
    MarkKind,
    PanelMember,
    PanelRole,
    ReviewCode,
    RulePresetVersion,
    SchemeCriterion,
    SchemeModule,
    User,
)
from ...models.jobs import DEAD_JOB_AFTER, Job, recompute_waiting

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


@dataclass(frozen=True)
class MarkAnswer:
    """What a tablet is told about one mark of a batch.

    ``status``: stored, duplicate (this client id was stored before: ``mark_id`` is that
    copy), conflict (a stale edit, ``error`` is a StaleMark) or refused (``error`` says why).
    """

    client_id: str
    status: str
    mark_id: int | None = None
    value: Decimal | None = None
    error: DomainError | None = None


class StaleMark(Conflict):
    message = N_(
        "A newer mark is stored for this criterion (%(value)s). Check it and enter"
        " yours again with a reason."
    )


@dataclass(frozen=True)
class MarkContext:
    """What one judge may mark in one event, read once for a whole batch of marks.

    Only the marking codes and criteria the batch names are read: ``entries`` maps each
    assigned code to its entry (codes of the judge's own unit left out, §4.2), ``criteria``
    each assigned criterion (of the judge's module) to its spec.
    """

    user_id: int
    entries: dict[str, int]
    criteria: dict[int, CriterionSpec]
    ws_judgement: bool


def find_submission(user: User, client_id: str) -> MarkEvent | None:
    return db.session.scalar(
        select(MarkEvent).where(
            MarkEvent.judge_user_id == user.id, MarkEvent.client_id == client_id
        )
    )


# The statements of the mark path, built once: a tablet's batch costs the same few small
# statements whatever its size (seat and criteria, codes, lock, known marks, insert, the new
# ids when there are several, head), and nothing is loaded as an ORM object.
_T_MARK = MarkEvent.__table__
_T_EVENT = Event.__table__
_J, _PM = Judge.__table__, PanelMember.__table__
_C, _M, _S = SchemeCriterion.__table__, SchemeModule.__table__, MarkingScheme.__table__
_RC, _EN, _PV = ReviewCode.__table__, Entry.__table__, RulePresetVersion.__table__

_SEAT_AND_CRITERIA = (
    select(
        _J.c.unit_id,
        _PV.c.params["ws_judgement"].as_boolean(),
        _T_EVENT.c.competition_id,
        _T_EVENT.c.state,
        _T_EVENT.c.overrides,
        _C.c.id,
        _C.c.code,
        _C.c.kind,
        _C.c.max_mark,
        _C.c.step,
    )
    .select_from(
        _J.join(
            _PM,
            and_(
                _PM.c.judge_id == _J.c.id,
                _PM.c.event_id == bindparam("event_id"),
                _PM.c.removed_at.is_(None),
                _PM.c.role.in_([r.value for r in MARKING_ROLES]),
            ),
        )
        .join(_T_EVENT, _T_EVENT.c.id == _PM.c.event_id)
        .join(_PV, _PV.c.id == _T_EVENT.c.preset_version_id)
        .outerjoin(
            _C.join(_M, _M.c.id == _C.c.module_id).join(_S, _S.c.id == _M.c.scheme_id),
            and_(
                _S.c.event_id == _PM.c.event_id,
                _C.c.id.in_(bindparam("criterion_ids", expanding=True)),
                or_(_PM.c.module_code.is_(None), _M.c.code == _PM.c.module_code),
            ),
        )
    )
    .where(_J.c.user_id == bindparam("user_id"))
)
_CODES = (
    select(_RC.c.code, _RC.c.entry_id, _EN.c.unit_id)
    .select_from(_RC.join(_EN, _EN.c.id == _RC.c.entry_id))
    .where(
        _RC.c.event_id == bindparam("event_id"), _RC.c.code.in_(bindparam("codes", expanding=True))
    )
)
_WAITING_RECOMPUTE = (
    select(Job.id)
    .where(recompute_waiting(bindparam("event_id"), bindparam("alive")))
    .limit(1)
    .scalar_subquery()
)
_LOCK = (
    update(_T_EVENT)
    .where(_T_EVENT.c.id == bindparam("event_id"))
    .values(mark_seq=_T_EVENT.c.mark_seq)
    .returning(
        _T_EVENT.c.mark_seq,
        _T_EVENT.c.mark_head,
        _T_EVENT.c.state,
        _WAITING_RECOMPUTE.label("recompute_waiting"),
    )
)
_HEAD = (
    update(_T_EVENT)
    .where(_T_EVENT.c.id == bindparam("event_id"))
    .values(mark_seq=bindparam("new_seq"), mark_head=bindparam("new_head"))
)
_KNOWN = union_all(
    select(
        literal("d").label("found"),
        _T_MARK.c.id,
        _T_MARK.c.client_id,
        _T_MARK.c.entry_id,
        _T_MARK.c.criterion_id,
        _T_MARK.c.value,
        _T_MARK.c.seq,
    ).where(
        _T_MARK.c.judge_user_id == bindparam("user_id"),
        _T_MARK.c.client_id.in_(bindparam("client_ids", expanding=True)),
    ),
    select(
        literal("l"),
        _T_MARK.c.id,
        _T_MARK.c.client_id,
        _T_MARK.c.entry_id,
        _T_MARK.c.criterion_id,
        _T_MARK.c.value,
        _T_MARK.c.seq,
    ).where(
        _T_MARK.c.event_id == bindparam("event_id"),
        _T_MARK.c.judge_user_id == bindparam("user_id"),
        _T_MARK.c.entry_id.in_(bindparam("entry_ids", expanding=True)),
        _T_MARK.c.criterion_id.in_(bindparam("criterion_ids", expanding=True)),
    ),
)  # no ORDER BY: it would make SQLite walk the event's whole chain by seq instead of the cells
# The new ids with their places in the chain, from the insert itself: one statement for the
# batch (SQLite cannot promise the order of RETURNING rows, so they are matched by seq).
_INSERT_RETURNING = insert(_T_MARK).returning(_T_MARK.c.seq, _T_MARK.c.id)


@dataclass(frozen=True)
class MarkingEvent:
    """The event as the mark path needs it (``submit_batch`` takes it as it takes an
    ``Event``), read with the judge's seat."""

    id: int
    competition_id: int
    state: EventState

    @property
    def competition(self) -> SimpleNamespace:
        """What ``has_permission`` reads of the event's competition: its id."""
        return SimpleNamespace(id=self.competition_id)


def mark_context(user: User, event: Event, *, codes, criterion_ids) -> MarkContext:
    """The judge's seat with the asked-for criteria, and the asked-for codes: two reads.

    NotAllowed when ``user`` is not a marking judge of ``event`` (as ``assignment_for``).
    """
    seated = seated_context(user.id, event.id, codes=codes, criterion_ids=criterion_ids)
    if seated is None:
        raise NotAllowed(N_("You are not a marking judge of this event."))
    return seated[0]


def seated_context(
    user_id: int, event_id: int, *, codes, criterion_ids
) -> tuple[MarkContext, MarkingEvent] | None:
    """``mark_context`` by ids, with the event read alongside; None when the user has no
    marking seat on the event (or there is no such event)."""
    conn = db.session.connection()
    rows = conn.execute(
        _SEAT_AND_CRITERIA,
        {
            "event_id": event_id,
            "user_id": user_id,
            "criterion_ids": sorted({int(i) for i in criterion_ids}),
        },
    ).all()
    if not rows:
        return None
    unit_id, preset_ws, competition_id, state, overrides = rows[0][:5]
    criteria = {
        cid: CriterionSpec(code=code, max_mark=Decimal(top), step=Decimal(step), kind=kind)
        for *_event, cid, code, kind, top, step in rows
        if cid is not None
    }
    entries: dict[str, int] = {}
    wanted = sorted({str(c) for c in codes})
    if wanted:
        # Never mark your own unit's contestant (回避): those codes are not assigned.
        entries = {
            code: entry_id
            for code, entry_id, entry_unit in conn.execute(
                _CODES, {"event_id": event_id, "codes": wanted}
            )
            if unit_id is None or entry_unit != unit_id
        }
    ws = (overrides or {}).get("ws_judgement", preset_ws)
    context = MarkContext(
        user_id=user_id, entries=entries, criteria=criteria, ws_judgement=bool(ws)
    )
    return context, MarkingEvent(event_id, competition_id, EventState(state))


def record_marks(
    user: User,
    event: Event,
    marks: list[MarkInput],
    *,
    now: datetime,
    context: MarkContext | None = None,
) -> list[MarkAnswer]:
    """Apply a batch of marks from one judge, each exactly once; one answer per mark, in order.

    See :func:`_record_marks`; the caller commits.
    """
    return _record_marks(user, event, marks, now=now, context=context)[0]


def _record_marks(
    user: User,
    event: Event,
    marks: list[MarkInput],
    *,
    now: datetime,
    context: MarkContext | None = None,
) -> tuple[list[MarkAnswer], ChainLock | None]:
    """Apply a batch of marks from one judge, each exactly once; one answer per mark, in order,
    and the chain as locked (None when the batch needed no lock).

    A replayed ``client_id`` answers with the first copy, even once the event is locked.
    Otherwise a mark is refused for a locked event, a code or criterion not assigned to the
    judge, a value out of range or off the step, and a stale edit (``base`` is not the latest
    mark of the cell, or a change of a stored mark without a reason). Everything that needs
    no database is checked first; the event's chain is then locked once for the whole batch,
    the client ids and the cells' latest marks read under the lock, and the new links appended
    with one insert. The caller commits right after, which releases the lock.
    """
    context = context or mark_context(
        user,
        event,
        codes={m.code for m in marks},
        criterion_ids={m.criterion_id for m in marks},
    )
    answers: list[MarkAnswer | None] = [None] * len(marks)
    checked: dict[int, tuple[int, Decimal, str | None]] = {}  # index -> entry, value, reason
    problems: dict[int, DomainError] = {}  # refusals a replay of a stored mark overrides
    for index, mark in enumerate(marks):
        if not mark.client_id or len(mark.client_id) > 64:
            answers[index] = _refused(
                mark, InvalidInput(N_("Each mark needs a client id."), field="client_id")
            )
            continue
        try:
            checked[index] = _check_input(context, mark)
        except DomainError as exc:
            problems[index] = exc

    client_ids = sorted({m.client_id for i, m in enumerate(marks) if answers[i] is None})
    is_open = event.state is EventState.IN_PROGRESS
    chain = None
    if is_open and checked:
        chain = _lock_chain_for_batch(event, now)
        is_open = chain.state is EventState.IN_PROGRESS
    cells = {(entry_id, marks[i].criterion_id) for i, (entry_id, _v, _r) in checked.items()}
    earlier, latest = _known_marks(user, event, client_ids, cells if is_open else set())

    new_rows: list[dict] = []
    new_by_client: dict[str, tuple[int, int]] = {}  # client id -> (row position, mark index)
    for index, mark in enumerate(marks):
        if answers[index] is not None:
            continue
        if (row := earlier.get(mark.client_id)) is not None:
            answers[index] = MarkAnswer(mark.client_id, "duplicate", row[0], row[1])
            continue
        if mark.client_id in new_by_client:
            continue  # the same mark twice in this batch: answered after the insert
        if not is_open:
            answers[index] = _refused(mark, Conflict(N_("Marking is closed for this event.")))
            continue
        if index in problems:
            answers[index] = _refused(mark, problems[index])
            continue
        entry_id, value, reason = checked[index]
        cell = (entry_id, mark.criterion_id)
        current = latest.get(cell)  # (mark id, value); id None for a link of this batch
        try:
            _check_edit(current, mark.base, reason)
        except DomainError as exc:
            answers[index] = _refused(mark, exc)
            continue
        new_by_client[mark.client_id] = (len(new_rows), index)
        new_rows.append(
            {
                "judge_user_id": user.id,
                "entry_id": entry_id,
                "criterion_id": mark.criterion_id,
                "kind": MarkKind.CORRECTION if current is not None else MarkKind.MARK,
                "value": value,
                "client_id": mark.client_id,
                "device": (mark.device or "")[:120],
                "entered_at": _utc(mark.entered_at),
                "recorded_at": _utc(now),
                "supersedes_id": current[0] if current is not None else None,
                "reason": reason,
            }
        )
        latest[cell] = (None, value)

    ids = _append_batch(event, new_rows, chain) if new_rows else []
    for index, mark in enumerate(marks):
        if answers[index] is None:  # stored now, or a twin earlier in this batch was
            position, stored_at = new_by_client[mark.client_id]
            status = "stored" if stored_at == index else "duplicate"
            answers[index] = MarkAnswer(
                mark.client_id, status, ids[position], new_rows[position]["value"]
            )
    return answers, chain


def _refused(mark: MarkInput, exc: DomainError) -> MarkAnswer:
    status = "conflict" if isinstance(exc, StaleMark) else "refused"
    return MarkAnswer(mark.client_id, status, error=exc)


def _utc(moment: datetime | None) -> datetime | None:
    """Stored in UTC, and hashed as stored: a tablet's +08:00 would not read back the same."""
    return moment.astimezone(UTC) if moment is not None else None


def _check_input(context: MarkContext, mark: MarkInput) -> tuple[int, Decimal, str | None]:
    """The checks that need no database: assigned code and criterion, range and step."""
    entry_id = context.entries.get(mark.code)
    if entry_id is None:
        raise NotAllowed(N_("The marking code %(code)s is not assigned to you."), code=mark.code)
    criterion = context.criteria.get(mark.criterion_id)
    if criterion is None:
        raise NotAllowed(N_("This criterion is not assigned to you."))
    if mark.value is None:
        raise InvalidInput(N_("Enter a mark."), field="value")
    value = check_mark(criterion, mark.value, ws_judgement=context.ws_judgement)
    return entry_id, value, (mark.reason or "").strip() or None


def _check_edit(
    current: tuple[int | None, Decimal | None] | None, base: int | None, reason: str | None
) -> None:
    """The edit must start from the cell's latest mark; changing a stored mark needs a why."""
    if current is None and base is None:
        return
    if current is None or current[0] is None or current[0] != base:
        shown = f"{current[1]:.2f}" if current is not None and current[1] is not None else "—"
        raise StaleMark(value=shown)
    if reason is None:
        raise InvalidInput(N_("Changing a stored mark needs a reason."), field="reason")


_LOCK_FILES: dict[str, str | None] = {}


def _lock_file() -> str | None:
    """The file SQLite writers of mark chains take turns on; None for other databases."""
    url = db.engine.url
    key = str(url)
    if key not in _LOCK_FILES:
        database = url.database or ""
        sqlite_file = url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
        _LOCK_FILES[key] = f"{database}.marks-lock" if sqlite_file else None
    return _LOCK_FILES[key]


@contextmanager
def chain_write_turn() -> Iterator[None]:
    """Hold around appending to a mark chain and the commit that follows.

    On SQLite every writer needs the one database write lock, and a writer that finds it taken
    sleeps in growing naps (1, 2, 5, 10… ms) before it looks again: a few tablets posting at
    once then wait far longer than the writes take. Here writers queue on an OS file lock
    instead and each starts the moment the one before has committed. Each turn opens the file
    anew, so threads of one process queue too. Nothing to do on PostgreSQL, whose row lock on
    the event wakes the next writer at once.
    """
    path = _lock_file()
    if path is None:
        yield
        return
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock


@dataclass(frozen=True)
class ChainLock:
    """The event's chain as read under its lock, and whether a recompute still waits to read."""

    seq: int
    head: str
    state: EventState
    recompute_waiting: bool


def _lock_chain_for_batch(event: Event, now: datetime) -> ChainLock:
    """Lock the event's chain (as ``lock_chain``) and read its head and state under the lock."""
    row = (
        db.session.connection()
        .execute(_LOCK, {"event_id": event.id, "alive": _utc(now) - DEAD_JOB_AFTER})
        .one()
    )
    return ChainLock(row[0], row[1], EventState(row[2]), row[3] is not None)


def lock_chain(event_id: int) -> None:
    """Take the event's write lock before reading anything a new link depends on (the caller
    commits, which releases it).

    PostgreSQL locks the event row; SQLite takes its database write lock, waiting up to the
    busy timeout, so a mark never starts from a snapshot another writer has moved past. A
    recompute takes it as it starts reading: a batch that saw it still waiting (and so did not
    ask for another) holds the lock until it commits, so the reading sees that batch.
    """
    db.session.execute(update(Event).where(Event.id == event_id).values(mark_seq=Event.mark_seq))


def _known_marks(
    user: User, event: Event, client_ids: list[str], cells: set[tuple[int, int]]
) -> tuple[dict[str, tuple[int, Decimal]], dict[tuple[int, int], tuple[int, Decimal]]]:
    """Marks this judge already stored: by client id, and the latest per (entry, criterion)."""
    earlier: dict[str, tuple[int, Decimal]] = {}
    latest: dict[tuple[int, int], tuple[int, Decimal]] = {}
    if not client_ids and not cells:
        return earlier, latest
    rows = db.session.connection().execute(
        _KNOWN,
        {
            "user_id": user.id,
            "event_id": event.id,
            "client_ids": client_ids,
            "entry_ids": sorted({e for e, _c in cells}),
            "criterion_ids": sorted({c for _e, c in cells}),
        },
    )
    for found, mark_id, client_id, entry_id, criterion_id, value, _seq in sorted(
        rows, key=lambda row: row[6]
    ):
        if found == "d":
            earlier[client_id] = (mark_id, value)
        elif (entry_id, criterion_id) in cells:  # in chain order: the last one is in force
            latest[(entry_id, criterion_id)] = (mark_id, value)
    return earlier, latest


def _append_batch(event: Event, rows: list[dict], chain: ChainLock) -> list[int]:
    """Append ``rows`` to the chain locked as ``chain``: one insert, one head update.

    Each link's hash covers ``MarkEvent.payload()`` of its fields, as ``verify_marks`` reads
    them back (times in UTC).
    """
    seq, head = chain.seq, chain.head
    for fields in rows:
        seq += 1
        fields.update(event_id=event.id, seq=seq, prev_hash=head)
        head = fields["hash"] = link_hash(head, MarkEvent.payload(SimpleNamespace(**fields)))
    conn = db.session.connection()
    by_seq = dict(conn.execute(_INSERT_RETURNING, rows).all())  # seq -> id, in any order
    ids = [by_seq[fields["seq"]] for fields in rows]
    conn.execute(_HEAD, {"event_id": event.id, "new_seq": seq, "new_head": head})
    if isinstance(event, Event):  # loaded in the session: its head is no longer the chain's
        db.session.expire(event, ["mark_seq", "mark_head"])
    return ids


def record_mark(
    user: User,
    event: Event,
    mark: MarkInput,
    *,
    now: datetime,
    assignment: Assignment | None = None,
) -> MarkOutcome:
    """Store one mark exactly once; a replayed ``client_id`` returns the first copy.

    The one-mark form of :func:`record_marks`: raises the refusal instead of answering it.
    """
    answer = record_marks(user, event, [mark], now=now)[0]
    if answer.error is not None:
        raise answer.error
    return MarkOutcome(answer.status, db.session.get(MarkEvent, answer.mark_id))


@dataclass(frozen=True)
class BatchOutcome:
    """The answers to a tablet's batch, and whether the results need a recompute asked for
    (something was stored and no recompute is still waiting to read the chain)."""

    answers: list[MarkAnswer]
    recompute: bool


def submit_batch(
    user: User, event: Event, marks: list[MarkInput], *, context: MarkContext, now: datetime
) -> BatchOutcome:
    """Record a batch of marks and commit: the tablet page's and the API's one way in.

    One transaction for the batch; if it fails on a uniqueness check (the same client id
    arriving at once from elsewhere), each mark is tried again in its own.
    """
    if not marks:
        return BatchOutcome([], False)
    try:
        with chain_write_turn():
            answers, chain = _record_marks(user, event, marks, now=now, context=context)
            _commit_keeping_loaded()
        waiting = chain is not None and chain.recompute_waiting
    except IntegrityError:
        db.session.rollback()
        answers = [_one_by_one(user, event, mark, context, now) for mark in marks]
        waiting = False
    stored = any(a.status == "stored" for a in answers)
    return BatchOutcome(answers, stored and not waiting)


def _commit_keeping_loaded() -> None:
    """Commit without expiring what this request loaded (the user, the event): what follows
    (the answer, the recompute request) then needs no second read of them. The chain head the
    batch moved is expired by ``_append_batch``."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _one_by_one(user, event, mark, context, now) -> MarkAnswer:
    """The slow path: one mark in its own transaction; a lost race answers as a duplicate."""
    try:
        with chain_write_turn():
            answer = record_marks(user, event, [mark], now=now, context=context)[0]
            db.session.commit()
        return answer
    except IntegrityError:
        db.session.rollback()
    earlier = find_submission(user, mark.client_id)
    if earlier is None:
        return MarkAnswer(
            mark.client_id, "conflict", error=Conflict(N_("Please send this mark again."))
        )
    return MarkAnswer(mark.client_id, "duplicate", earlier.id, earlier.value)


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
