"""The contestant's own page behind the QR token: what it shows at each stage, and the token.

Lookup. The QR carries ``Entry.qr_token`` (192 random bits, ``domain.tokens.new_token``). A
look-up runs one indexed query (:data:`STAMP`) for whatever the URL holds: there is no shape or
length check that could answer a malformed token sooner than a well-formed one, so every miss
(wrong, altered, truncated or revoked token) costs the same query, the same limiter hit and the
same page. The query also returns the stamp the page cache keys on.

Privacy. The page is built into :class:`ResultPage`, already masked: names through
``mask_name``, never an ID number, phone or birth date. Scores, ranks and awards are read only
once the results are published (公示 or final); before that the page says when they will come.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, or_, select

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict, InvalidInput
from ...domain.lifecycle import EventState
from ...domain.people import mask_name
from ...domain.tokens import new_token
from ...extensions import db
from ...models import (
    AwardGrant,
    Certificate,
    CertificateStatus,
    CheckIn,
    Entry,
    EntryMember,
    EntryScore,
    EntryStatus,
    Event,
    Person,
    PromotionGrant,
    Role,
    RoleAssignment,
    TitleGrant,
    User,
)
from ..results.services import PUBLISHED_STATES, current_publication

# States in their forward order, for "has the event got this far yet?".
_ORDER = [state for state in EventState if state is not EventState.CANCELLED]

# Everything the page shows that can change without a new token: the cache key is built from
# it, so a change (a correction bumps ``results_version``, a check-in, a name fixed) is a new key.
_people_changed = (
    select(func.max(Person.updated_at))
    .join(EntryMember, EntryMember.person_id == Person.id)
    .where(EntryMember.entry_id == Entry.id)
    .correlate(Entry)
    .scalar_subquery()
)
STAMP = (
    select(
        Entry.id,
        Entry.updated_at,
        Event.results_version,
        Event.state,
        CheckIn.at,
        _people_changed,
    )
    .join(Event, Event.id == Entry.event_id)
    .outerjoin(CheckIn, CheckIn.entry_id == Entry.id)
    .where(Entry.qr_token == bindparam("token"))
)


@dataclass(frozen=True)
class Stamp:
    entry_id: int
    state: EventState
    parts: tuple  # what the cached page depends on, besides the token and the locale

    @property
    def released(self) -> bool:
        """Results released to everyone (公示 or later): the page may come from the cache."""
        return self.state in PUBLISHED_STATES


_compiled: dict[str, tuple[str, list[str] | None]] = {}


def _run_stamp(token: str) -> tuple | None:
    """Run :data:`STAMP` on a pooled DBAPI connection and return the raw row.

    This is the hot path of every QR scan, so it skips SQLAlchemy's result processing (about a
    third of the cost of ``Connection.execute``); the statement is compiled once per dialect
    and the values are only ever compared, never shown.
    """
    engine = db.engine
    compiled = _compiled.get(engine.dialect.name)
    if compiled is None:
        statement = STAMP.compile(dialect=engine.dialect)
        order = list(statement.positiontup) if statement.positional else None
        compiled = _compiled[engine.dialect.name] = (str(statement), order)
    sql, order = compiled
    params = {"token": token}
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, tuple(params[name] for name in order) if order else params)
            return cursor.fetchone()
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool, rolled back


def lookup(token: str) -> Stamp | None:
    """The entry behind ``token`` and its cache stamp, or None: one query, whatever the token."""
    row = _run_stamp(token)
    if row is None:
        return None
    entry_id, updated_at, version, state, checked_in_at, people_at = row
    return Stamp(
        entry_id=int(entry_id),
        state=EventState(state),
        parts=(entry_id, version, state, str(updated_at), str(checked_in_at), str(people_at)),
    )


class StepState(StrEnum):
    DONE = "done"
    CURRENT = "current"
    TODO = "todo"
    STOPPED = "stopped"  # the entry left the competition here (rejected, withdrawn, cancelled)


STEPS = (
    "registered",
    "approved",
    "drawn",
    "checked_in",
    "marked",
    "published",
    "final",
    "certificate",
)


@dataclass(frozen=True)
class Step:
    key: str  # one of STEPS
    state: StepState
    at: datetime | date | None = None


@dataclass(frozen=True)
class ModuleScore:
    code: str
    name: str
    score: Decimal


@dataclass(frozen=True)
class Honour:
    """A title or promotion of one member: ``what`` is the title or the grade step."""

    name: str  # masked
    what: str
    status: str  # GrantStatus value
    occupation: str = ""
    from_grade: int | None = None
    to_grade: int | None = None


@dataclass(frozen=True)
class CertificateLink:
    id: int
    own: bool  # issued on this entry (not only to one of its people in this event)
    number: str
    kind: str
    wording: str
    status: str
    token: str
    issued_at: datetime


@dataclass(frozen=True)
class Results:
    final: Decimal
    practical: Decimal
    theory: Decimal | None
    modules: list[ModuleScore]
    rank: int | None
    of: int
    passed: bool
    award: str | None  # domain.awards.Award value


@dataclass
class ResultPage:
    """What the contestant's page shows, already masked."""

    event_id: int
    competition: str
    event_name: str
    event_code: str
    occupation: str
    group: Any  # domain.tiers.Group
    state: EventState
    names: list[str]  # masked, lead first
    unit: str
    status: EntryStatus
    admission_no: str | None
    entry_number: str | None
    station_number: str | None
    session_no: int | None
    run_order: int | None
    start: datetime | date | None
    venue: str
    checked_in_at: datetime | None
    steps: list[Step]
    published: bool = False
    final: bool = False
    results: Results | None = None
    results_expected: datetime | date | None = None
    publicity_start: date | None = None
    publicity_end: date | None = None
    appeal_deadline: datetime | None = None
    appeal_open: bool = False
    titles: list[Honour] = field(default_factory=list)
    promotions: list[Honour] = field(default_factory=list)
    certificates: list[CertificateLink] = field(default_factory=list)
    has_account: bool = False  # a contestant account stands for one of the entry's people
    valid_until: datetime | None = None  # a time at which the page changes by itself


def _reached(state: EventState, target: EventState) -> bool:
    return state in _ORDER and _ORDER.index(state) >= _ORDER.index(target)


def _steps(entry: Entry, event: Event, *, published: bool, final: bool, certified) -> list[Step]:
    state = event.state
    check_in = entry.check_in
    approved = entry.status is EntryStatus.APPROVED
    done = {
        "registered": (True, entry.created_at),
        "approved": (approved, entry.decided_at if approved else None),
        "drawn": (approved and bool(entry.entry_number), None),
        "checked_in": (approved and check_in is not None, check_in.at if check_in else None),
        "marked": (approved and _reached(state, EventState.SCORING_LOCKED), None),
        "published": (approved and published, None),
        "final": (approved and final, None),
        "certificate": (approved and certified is not None, certified),
    }
    stopped = entry.status in (EntryStatus.REJECTED, EntryStatus.WITHDRAWN) or (
        state is EventState.CANCELLED
    )
    # The step in hand is the first one after the last step done; a step skipped on the way
    # (no check-in recorded, say) stays open without being the current one.
    last_done = max((i for i, key in enumerate(STEPS) if done[key][0]), default=-1)
    steps = []
    for i, key in enumerate(STEPS):
        is_done, at = done[key]
        if is_done:
            steps.append(Step(key, StepState.DONE, at))
        elif i == last_done + 1:
            steps.append(Step(key, StepState.STOPPED if stopped else StepState.CURRENT))
        else:
            steps.append(Step(key, StepState.TODO))
    return steps


def _honours(entry: Entry, event: Event, names: dict[int, str]):
    people = list(names)
    mine = or_(
        TitleGrant.entry_id == entry.id,
        (TitleGrant.event_id == event.id) & TitleGrant.person_id.in_(people),
    )
    titles = [
        Honour(name=names.get(row.person_id, ""), what=row.title, status=row.status.value)
        for row in db.session.scalars(select(TitleGrant).where(mine).order_by(TitleGrant.id))
    ]
    mine = or_(
        PromotionGrant.entry_id == entry.id,
        (PromotionGrant.event_id == event.id) & PromotionGrant.person_id.in_(people),
    )
    promotions = [
        Honour(
            name=names.get(row.person_id, ""),
            what=row.occupation,
            status=row.status.value,
            occupation=row.occupation,
            from_grade=row.from_grade,
            to_grade=row.to_grade,
        )
        for row in db.session.scalars(
            select(PromotionGrant).where(mine).order_by(PromotionGrant.id)
        )
    ]
    return titles, promotions


def _certificates(entry: Entry, event: Event, people: Sequence[int]) -> list[CertificateLink]:
    mine = or_(
        Certificate.entry_id == entry.id,
        (Certificate.event_id == event.id) & Certificate.person_id.in_(list(people)),
    )
    return [
        CertificateLink(
            id=row.id,
            own=row.entry_id == entry.id,
            number=row.number,
            kind=row.kind.value,
            wording=row.wording,
            status=row.status.value,
            token=row.token,
            issued_at=row.issued_at,
        )
        for row in db.session.scalars(select(Certificate).where(mine).order_by(Certificate.id))
    ]


def _results(entry: Entry, event: Event) -> Results | None:
    score = db.session.scalar(
        select(EntryScore).where(EntryScore.event_id == event.id, EntryScore.entry_id == entry.id)
    )
    if score is None:
        return None
    of = db.session.scalar(
        select(func.count()).select_from(EntryScore).where(EntryScore.event_id == event.id)
    )
    module_names = {m.code: m.name for m in (event.scheme.modules if event.scheme else [])}
    order = list(module_names)
    modules = [
        ModuleScore(code=code, name=module_names.get(code, code), score=Decimal(value))
        for code, value in sorted(
            (score.module_scores or {}).items(),
            key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0]),
        )
    ]
    award = db.session.scalar(
        select(AwardGrant.award)
        .where(AwardGrant.entry_id == entry.id, AwardGrant.is_current.is_(True))
        .order_by(AwardGrant.id.desc())
        .limit(1)
    )
    return Results(
        final=score.final,
        practical=score.practical,
        theory=score.theory,
        modules=modules,
        rank=score.rank,
        of=int(of or 0),
        passed=score.passed,
        award=award,
    )


def has_contestant_account(people: Sequence[Person]) -> bool:
    """Whether one of ``people`` has a contestant account.

    The account model has no link to a person; a contestant account is named by the person's
    ID number (as ``results.appeals.contestant_person_ids`` reads it). The number is only
    compared here, never shown or put in a link.
    """
    numbers = [p.id_number.strip().upper() for p in people if p.id_number]
    if not numbers:
        return False
    stmt = (
        select(User.id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            User.username.in_(numbers),
            User.is_active_account.is_(True),
            RoleAssignment.role == Role.CONTESTANT,
        )
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


def result_page(entry_id: int, *, now: datetime, cache_seconds: int = 300) -> ResultPage:
    """Everything the page of ``entry_id`` shows at ``now``, masked; scores only once published.

    ``valid_until`` is the earliest moment the page would read differently with no change in the
    database (the appeal deadline passing), capped at ``now + cache_seconds``.
    """
    entry = db.session.get(Entry, entry_id)
    event = entry.event
    competition = event.competition
    members = sorted(entry.members, key=lambda m: (not m.is_lead, m.position))
    names = {m.person_id: mask_name(m.person.name) for m in members}
    publication = current_publication(event) if event.state in PUBLISHED_STATES else None
    published = publication is not None and entry.status is EntryStatus.APPROVED
    final = published and event.state in (EventState.FINAL, EventState.AWARDS_ISSUED)
    certificates = _certificates(entry, event, list(names)) if published else []
    first_valid = min(
        (c.issued_at for c in certificates if c.status == CertificateStatus.VALID.value),
        default=None,
    )
    page = ResultPage(
        event_id=event.id,
        competition=competition.name,
        event_name=event.name,
        event_code=event.code,
        occupation=event.occupation,
        group=event.group,
        state=event.state,
        names=list(names.values()),
        unit=entry.unit.name,
        status=entry.status,
        admission_no=entry.admission_no if entry.status is EntryStatus.APPROVED else None,
        entry_number=entry.entry_number,
        station_number=entry.station_number,
        session_no=entry.session_no,
        run_order=entry.run_order,
        start=event.start_at or competition.start_date,
        venue=event.venue or competition.venue,
        checked_in_at=entry.check_in.at if entry.check_in else None,
        steps=_steps(entry, event, published=published, final=final, certified=first_valid),
        published=published,
        final=final,
        valid_until=now + timedelta(seconds=cache_seconds),
        has_account=has_contestant_account([m.person for m in members]),
    )
    if not published:
        page.results_expected = event.end_at or competition.end_date
        return page
    page.results = _results(entry, event)
    page.publicity_start = publication.publicity_start
    page.publicity_end = publication.publicity_end
    page.appeal_deadline = publication.appeal_deadline
    page.appeal_open = not final and now <= publication.appeal_deadline
    if page.appeal_open:
        page.valid_until = min(page.valid_until, publication.appeal_deadline + timedelta(seconds=1))
    page.titles, page.promotions = _honours(entry, event, names)
    page.certificates = certificates
    return page


# --- Organiser: revoke and re-issue the token -------------------------------------------------


def reissue_token(actor, entry: Entry, *, reason: str, now: datetime) -> str:
    """Give ``entry`` a new QR token; the old one (if any) stops working at once.

    Only approved entries carry a token (their tickets are printed). A reason is required and
    recorded; the token itself never enters the audit trail or a log.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(N_("Give a reason for issuing a new QR code."), field="reason")
    if entry.status is not EntryStatus.APPROVED:
        raise Conflict(N_("Only an approved registration has a QR code."))
    had = entry.qr_token is not None
    entry.qr_token = new_token()
    entry.updated_at = now
    db.session.flush()
    audit.record(
        actor,
        "entry.qr_token_reissued",
        entry,
        before={"had_token": had},
        after={"had_token": True},
        reason=reason,
        competition_id=entry.event.competition_id,
    )
    return entry.qr_token


def revoke_token(actor, entry: Entry, *, reason: str, now: datetime) -> None:
    """Withdraw ``entry``'s QR token without a new one: its page answers 404 from now on."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(N_("Give a reason for revoking the QR code."), field="reason")
    if entry.qr_token is None:
        raise Conflict(N_("This registration has no QR code to revoke."))
    entry.qr_token = None
    entry.updated_at = now
    db.session.flush()
    audit.record(
        actor,
        "entry.qr_token_revoked",
        entry,
        before={"had_token": True},
        after={"had_token": False},
        reason=reason,
        competition_id=entry.event.competition_id,
    )
