"""The judge pool (裁判库) and the random panel draw: vetting judges, drawing, replaying.

Services take the actor and plain values, flush and audit; the view commits once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.draws import JudgeCandidate, PanelDraw, draw_panel, new_seed
from ...domain.errors import Conflict, InvalidInput
from ...domain.grades import Grade
from ...domain.idnumber import IdNumberInfo, mask_id_number, parse_id_number
from ...extensions import db
from ...models import (
    Draw,
    DrawKind,
    Entry,
    EntryMember,
    EntryStatus,
    Event,
    Judge,
    JudgeConflict,
    PanelMember,
    PanelRole,
    Person,
    Unit,
)
from ...models.base import utcnow
from .services import add_panel_member, panel_of

# §4.1: any one of 技师 or above, a 中级 title or above, or 考评员.
QUALIFYING_GRADE = Grade.L2
QUALIFYING_TITLES = ("中级", "副高", "正高")
TITLES = ("", "初级", "中级", "副高", "正高")

NO_QUALIFICATION = N_("A judge needs one of: grade 技师 or above, a 中级 title or above, 考评员.")
TOO_FEW_YEARS = N_("A judge needs at least %(years)d years in the occupation.")
YEARS_UNKNOWN = N_("Years in the occupation unknown: check them before the judge sits.")


# ---------------------------------------------------------------- qualification


@dataclass(frozen=True)
class Qualification:
    """Whether a judge may sit (§4.1): the grounds held, refusals and warnings (msgids)."""

    grounds: tuple[str, ...]
    problems: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def qualification(
    *, grade: int | None, title: str, is_assessor: bool, years: int | None, min_years: int
) -> Qualification:
    """Any of 技师+ grade, 中级+ title, 考评员; plus ``min_years`` in the occupation.

    Unknown years (None or 0) only warn; known years below ``min_years`` refuse.
    """
    grounds = []
    if grade is not None and grade >= QUALIFYING_GRADE:
        grounds.append("grade")
    if title in QUALIFYING_TITLES:
        grounds.append("title")
    if is_assessor:
        grounds.append("assessor")
    problems, warnings = [], []
    if not grounds:
        problems.append(NO_QUALIFICATION)
    if not years:
        warnings.append(YEARS_UNKNOWN)
    elif years < min_years:
        problems.append(TOO_FEW_YEARS)
    return Qualification(tuple(grounds), tuple(problems), tuple(warnings))


def judge_qualification(judge: Judge, *, min_years: int) -> Qualification:
    return qualification(
        grade=judge.grade,
        title=judge.title,
        is_assessor=judge.is_assessor,
        years=judge.years_in_occupation,
        min_years=min_years,
    )


# ---------------------------------------------------------------- the pool


def pool_judges() -> list[Judge]:
    return db.session.scalars(select(Judge).order_by(Judge.is_active.desc(), Judge.name)).all()


def shown_id(judge: Judge, *, full: bool) -> str:
    """The judge's ID number as the page shows it: masked unless the viewer may see it."""
    if not judge.id_number:
        return ""
    return judge.id_number if full else mask_id_number(judge.id_number)


def split_occupations(raw: str) -> list[str]:
    """A comma list (ASCII or Chinese commas, 、) → distinct names in order."""
    parts = raw.replace("，", ",").replace("、", ",").split(",")
    seen: list[str] = []
    for part in (p.strip() for p in parts):
        if part and part not in seen:
            seen.append(part)
    return seen


@dataclass(frozen=True)
class JudgeInput:
    """One judge as typed in the pool form or read from a row of the import file."""

    name: str
    id_number: str
    occupations: list[str]
    phone: str = ""
    unit_id: int | None = None
    grade: int | None = None
    title: str = ""
    is_assessor: bool = False
    years: int | None = None
    certificate_no: str = ""
    employer: str = ""


@dataclass(frozen=True)
class CheckedJudge:
    """A judge input with every problem found (InvalidInput, each naming its field)."""

    data: JudgeInput
    info: IdNumberInfo | None
    qualification: Qualification
    problems: tuple[InvalidInput, ...]


def check_judge(
    data: JudgeInput,
    *,
    min_years: int,
    today: date,
    pool_ids: Container[str],
    unit_ids: Container[int] | None = None,
) -> CheckedJudge:
    """Every check a judge must pass to enter the pool (the form and the import share it).

    Name; a valid ID number not yet in the pool (``pool_ids``); a known unit; at least one
    occupation; years not negative; a title from the list; a qualification (§4.1).
    """
    problems: list[InvalidInput] = []
    if not data.name.strip():
        problems.append(InvalidInput(N_("Enter the judge's name."), field="name"))
    info = None
    try:
        info = parse_id_number(data.id_number.strip(), today=today)
    except InvalidInput as exc:
        problems.append(exc)
    if info is not None and info.number in pool_ids:
        problems.append(
            InvalidInput(N_("This ID number is already in the pool."), field="id_number")
        )
    if data.unit_id is not None:
        if unit_ids is None:
            unit_ids = {data.unit_id} if db.session.get(Unit, data.unit_id) else set()
        if data.unit_id not in unit_ids:
            problems.append(InvalidInput(N_("Choose a unit from the list."), field="unit_id"))
    if not data.occupations:
        problems.append(InvalidInput(N_("Enter at least one occupation."), field="occupations"))
    if data.years is not None and data.years < 0:
        problems.append(InvalidInput(N_("Years cannot be negative."), field="years"))
    if data.title not in TITLES:
        problems.append(
            InvalidInput(
                N_("%(value)s is not a professional title; use %(choices)s."),
                field="title",
                value=data.title,
                choices=" / ".join(t for t in TITLES if t),
            )
        )
    result = qualification(
        grade=data.grade,
        title=data.title,
        is_assessor=data.is_assessor,
        years=data.years,
        min_years=min_years,
    )
    for problem in result.problems:
        field = "years" if problem == TOO_FEW_YEARS else "grade"
        problems.append(InvalidInput(problem, field=field, years=min_years))
    return CheckedJudge(data, info, result, tuple(problems))


class _InPool:
    """``number in _InPool()``: one lookup instead of loading every ID number of the pool."""

    def __contains__(self, number: object) -> bool:
        found = db.session.scalar(select(Judge.id).where(Judge.id_number == number))
        return found is not None


def pool_id_numbers() -> set[str]:
    return set(db.session.scalars(select(Judge.id_number).where(Judge.id_number.is_not(None))))


def store_judge(actor, checked: CheckedJudge, *, action: str = "judge.added", **extra) -> Judge:
    data, info = checked.data, checked.info
    judge = Judge(
        name=data.name.strip(),
        gender=info.sex or "",
        id_number=info.number,
        birth_date=info.birth_date,
        phone=(data.phone or "").strip(),
        unit_id=data.unit_id,
        occupations=data.occupations,
        grade=data.grade,
        title=data.title,
        is_assessor=data.is_assessor,
        years_in_occupation=data.years or 0,
        certificate_no=data.certificate_no,
        employer=data.employer,
    )
    db.session.add(judge)
    db.session.flush()
    audit.record(
        actor,
        action,
        judge,
        after={
            "name": judge.name,
            "unit": data.unit_id,
            "occupations": data.occupations,
            "grounds": checked.qualification.grounds,
            **extra,
        },
    )
    return judge


def add_judge(
    actor,
    *,
    name: str,
    id_number: str,
    phone: str = "",
    unit_id: int | None = None,
    occupations: list[str],
    grade: int | None = None,
    title: str = "",
    is_assessor: bool = False,
    years: int | None = None,
    min_years: int,
    today: date,
) -> tuple[Judge, Qualification]:
    """Vet a judge into the pool; refuses a bad ID number, a duplicate, or no qualification."""
    data = JudgeInput(
        name=(name or "").strip(),
        id_number=(id_number or "").strip(),
        phone=phone,
        unit_id=unit_id,
        occupations=occupations,
        grade=grade,
        title=title or "",
        is_assessor=is_assessor,
        years=years,
    )
    checked = check_judge(data, min_years=min_years, today=today, pool_ids=_InPool())
    if checked.problems:
        raise checked.problems[0]
    return store_judge(actor, checked), checked.qualification


# ---------------------------------------------------------------- the panel draw


def _unit_key(judge: Judge) -> str:
    # A judge without a unit is a unit of their own, so the per-unit limit never pools them.
    return f"u{judge.unit_id}" if judge.unit_id else f"j{judge.id}"


def current_panel_draw(event: Event) -> Draw | None:
    return db.session.scalar(
        select(Draw).where(
            Draw.event_id == event.id, Draw.kind == DrawKind.PANEL, Draw.is_current.is_(True)
        )
    )


def panel_draws(event: Event) -> list[Draw]:
    return db.session.scalars(
        select(Draw)
        .where(Draw.event_id == event.id, Draw.kind == DrawKind.PANEL)
        .order_by(Draw.id.desc())
    ).all()


def _draw_inputs(event: Event, *, size: int, skip: set[int]) -> dict:
    """Candidates (active pool judges of the occupation, not ``skip``) and the recusal facts."""
    entries = db.session.scalars(
        select(Entry).where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED)
    ).all()
    entry_ids = {e.id for e in entries}
    by_unit: dict[int, set[int]] = {}
    for entry in entries:
        by_unit.setdefault(entry.unit_id, set()).add(entry.id)
    by_person: dict[int, set[int]] = {}
    for person_id, entry_id in db.session.execute(
        select(EntryMember.person_id, EntryMember.entry_id).where(EntryMember.event_id == event.id)
    ):
        if entry_id in entry_ids:
            by_person.setdefault(person_id, set()).add(entry_id)
    ties: dict[int, set[int]] = {}
    for tie in db.session.scalars(select(JudgeConflict)):
        tied = set()
        if tie.person_id is not None:
            tied |= by_person.get(tie.person_id, set())
        if tie.unit_id is not None:
            tied |= by_unit.get(tie.unit_id, set())
        ties.setdefault(tie.judge_id, set()).update(tied)
    judges = db.session.scalars(select(Judge).where(Judge.is_active.is_(True))).all()
    candidates = [
        {
            "id": str(j.id),
            "unit": _unit_key(j),
            "conflicts": sorted(str(e) for e in ties.get(j.id, ())),
        }
        for j in sorted(judges, key=lambda j: j.id)
        if event.occupation in (j.occupations or []) and j.id not in skip
    ]
    rules = event.rules
    return {
        "candidates": candidates,
        "size": size,
        "contestant_units": sorted({f"u{e.unit_id}" for e in entries}),
        "contestant_entries": sorted(str(e) for e in entry_ids),
        "exclude_contestant_units": bool(rules.get("exclude_contestant_units", True)),
        "judges_per_unit_max": int(rules["judges_per_unit_max"]),
    }


def run_draw(seed: str, inputs: dict) -> PanelDraw:
    """The pure draw from a stored seed and inputs: the same both times, by construction."""
    return draw_panel(
        [
            JudgeCandidate(c["id"], c["unit"], frozenset(c["conflicts"]))
            for c in inputs["candidates"]
        ],
        seed=seed,
        size=int(inputs["size"]),
        contestant_units=inputs["contestant_units"],
        contestant_entries=inputs["contestant_entries"],
        exclude_contestant_units=inputs["exclude_contestant_units"],
        judges_per_unit_max=int(inputs["judges_per_unit_max"]),
    )


def draw_panel_for_event(
    actor,
    event: Event,
    *,
    seed: str | None = None,
    size: int | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Draw:
    """Draw the marking judges at random from the pool, honouring recusal (§4.2).

    A redraw needs a reason; it replaces only the judges the previous draw put on the panel
    (they are marked removed with the reason), never the manual members. No valid panel →
    Conflict from the domain, and nothing changes.
    """
    reason = (reason or "").strip() or None
    size = int(size or event.rules["panel_size"])
    previous = current_panel_draw(event)
    if previous is not None and reason is None:
        raise InvalidInput(
            N_("The panel has been drawn. A redraw needs a reason and is logged."), field="reason"
        )
    members = panel_of(event)
    replaced = [m for m in members if m.draw_id is not None and m.role is PanelRole.MARKING]
    staying = {m.judge_id for m in members} - {m.judge_id for m in replaced}
    seed = (seed or "").strip() or new_seed()
    inputs = _draw_inputs(event, size=size, skip=staying)
    drawn = run_draw(seed, inputs)  # Conflict before anything changes
    now = now or utcnow()
    for member in replaced:
        member.removed_at = now
        member.removed_reason = reason
    if previous is not None:
        previous.is_current = False
    draw = Draw(
        event_id=event.id,
        kind=DrawKind.PANEL,
        seed=seed,
        inputs=inputs,
        result={judge_id: PanelRole.MARKING.value for judge_id in drawn.judges},
        supersedes_id=previous.id if previous else None,
        reason=reason,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(draw)
    db.session.flush()
    for judge_id in drawn.judges:
        judge = db.session.get(Judge, int(judge_id))
        add_panel_member(actor, event, judge, role=PanelRole.MARKING, draw=draw, reason=reason)
    audit.record(
        actor,
        "panel.drawn",
        draw,
        before={"replaced": [m.judge_id for m in replaced]} if replaced else None,
        after={"seed": seed, "judges": list(drawn.judges), "excluded": list(drawn.excluded)},
        reason=reason,
        competition_id=event.competition_id,
    )
    return draw


@dataclass(frozen=True)
class Replay:
    identical: bool
    stored: tuple[str, ...]
    recomputed: tuple[str, ...]
    problem: str | None = None  # a msgid when the stored inputs no longer give a panel


def replay_panel_draw(draw: Draw) -> Replay:
    """Recompute a panel draw from its stored seed and inputs and compare with its result."""
    stored = tuple(draw.result or {})
    try:
        recomputed = run_draw(draw.seed, draw.inputs).judges
    except (Conflict, InvalidInput, KeyError, TypeError, ValueError) as exc:
        message = getattr(exc, "message", None) or N_("The stored inputs cannot be read.")
        return Replay(False, stored, (), message)
    return Replay(stored == recomputed, stored, recomputed)


# ---------------------------------------------------------------- manual changes


def add_member_manually(
    actor, event: Event, *, judge_id: int, role: PanelRole, module_code: str | None, reason: str
) -> PanelMember:
    """A judge put on the panel by hand: an active pool judge, with a reason (audited)."""
    judge = db.session.get(Judge, judge_id)
    if judge is None or not judge.is_active:
        raise InvalidInput(N_("Choose an active judge from the pool."), field="judge_id")
    return add_panel_member(
        actor, event, judge, role=role, module_code=module_code or None, reason=reason
    )


def remove_panel_member(
    actor, member: PanelMember, *, reason: str | None, now: datetime | None = None
) -> PanelMember:
    """Take a judge off the panel; needs a reason, keeps the row (removed_at), audited."""
    reason = (reason or "").strip() or None
    if reason is None:
        raise InvalidInput(N_("Removing a judge from the panel needs a reason."), field="reason")
    if member.removed_at is not None:
        raise Conflict(N_("This judge has already left the panel."))
    member.removed_at = now or utcnow()
    member.removed_reason = reason
    db.session.flush()
    audit.record(
        actor,
        "panel.member_removed",
        member,
        before={"judge": member.judge_id, "role": member.role},
        reason=reason,
    )
    return member


# ---------------------------------------------------------------- declared ties (回避)

CONFLICT_KINDS = ("relative", "coach", "teacher", "colleague", "other")


def declared_conflicts() -> list[JudgeConflict]:
    return db.session.scalars(
        select(JudgeConflict).order_by(JudgeConflict.judge_id, JudgeConflict.id)
    ).all()


def _person_by_id_number(id_number: str, *, today: date) -> Person | None:
    number = (id_number or "").strip().upper()
    with contextlib.suppress(InvalidInput):  # a passport or permit number: matched as written
        number = parse_id_number(number, today=today).number
    return db.session.scalar(select(Person).where(Person.id_number == number))


def add_conflict(
    actor,
    *,
    judge_id: int | None,
    kind: str,
    person_id_number: str = "",
    unit_id: int | None = None,
    reason: str,
    today: date,
) -> JudgeConflict:
    """Declare that a judge stands aside for a contestant or a unit; the draw honours it."""
    judge = db.session.get(Judge, judge_id) if judge_id else None
    if judge is None:
        raise InvalidInput(N_("Choose a judge from the pool."), field="judge_id")
    if kind not in CONFLICT_KINDS:
        raise InvalidInput(N_("Choose the kind of tie."), field="kind")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(N_("A declared tie needs a reason."), field="reason")
    person_id_number = (person_id_number or "").strip()
    if bool(person_id_number) == (unit_id is not None):
        raise InvalidInput(
            N_("Name either a contestant (by ID number) or a unit."), field="person_id_number"
        )
    person = None
    if person_id_number:
        person = _person_by_id_number(person_id_number, today=today)
        if person is None:
            raise InvalidInput(
                N_("No contestant with this ID number is on file."), field="person_id_number"
            )
    elif db.session.get(Unit, unit_id) is None:
        raise InvalidInput(N_("Choose a unit from the list."), field="unit_id")
    same = select(JudgeConflict.id).where(JudgeConflict.judge_id == judge.id)
    same = same.where(
        JudgeConflict.person_id == person.id
        if person is not None
        else JudgeConflict.unit_id == unit_id
    )
    if db.session.scalar(same) is not None:
        raise Conflict(N_("This tie is already declared."))
    tie = JudgeConflict(
        judge_id=judge.id,
        person_id=person.id if person else None,
        unit_id=None if person else unit_id,
        kind=kind,
        note=reason,
    )
    db.session.add(tie)
    db.session.flush()
    audit.record(
        actor,
        "judge.conflict_declared",
        tie,
        after={
            "judge": judge.id,
            "kind": kind,
            "person": person.id if person else None,
            "unit": tie.unit_id,
        },
        reason=reason,
    )
    return tie


def remove_conflict(actor, tie: JudgeConflict, *, reason: str) -> None:
    """Withdraw a declared tie; the reason and the tie itself stay in the audit trail."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(N_("Removing a declared tie needs a reason."), field="reason")
    audit.record(
        actor,
        "judge.conflict_removed",
        tie,
        before={
            "judge": tie.judge_id,
            "kind": tie.kind,
            "person": tie.person_id,
            "unit": tie.unit_id,
            "note": tie.note,
        },
        reason=reason,
    )
    db.session.delete(tie)
    db.session.flush()
