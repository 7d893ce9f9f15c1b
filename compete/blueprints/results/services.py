"""Stored results and the live provisional ranking, derived from the mark chain and the theory
scores and completion times in force.

The rules are the pure engine's (``domain.scoring``, ``domain.ranking``); this module gathers the
marks and inputs in force, maps the event's parameters onto the engine and stores the figures.

Recomputing is incremental and off the request path:

- ``recompute_results`` puts through the engine only the entries whose marks (a mark event
  after the stored rows' ``marks_seq``), theory score or time (different from the stored row)
  changed, plus entries with no row yet; the others keep their stored figures. Every entry is
  then ranked again from the stored figures, the standardised scale is redrawn, and only rows
  whose figures or place changed are written. The result equals a full recompute.
- ``schedule_recompute`` queues the job ``results.recompute`` after a change is committed; a
  job that has not read the chain yet absorbs later changes, so a burst of marks runs one job.
- Pages read the stored rows (``provisional_ranking``) and ``freshness`` says whether they
  lag behind the chain or the inputs; they never compute while a job can.
"""

from __future__ import annotations

import gc
import json
import time as clock
from collections.abc import Collection, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, delete, func, insert, select, type_coerce, update
from sqlalchemy.types import NullType

from ...domain.errors import DomainError, InvalidInput
from ...domain.lifecycle import EventState
from ...domain.numbers import quantize
from ...domain.ranking import DEFAULT_TIE_CHAIN, RankedEntry, TieNote, rank_entries
from ...domain.scoring import (
    EntryResult,
    ScoringRules,
    StandardiseMethod,
    score_entry,
    standardise,
    validate_rules,
)
from ...extensions import db
from ...models import (
    Entry,
    EntryInput,
    EntryScore,
    EntryStatus,
    Event,
    InputKind,
    Job,
    JobStatus,
    Judge,
    MarkEvent,
    PanelMember,
    Publication,
    ReviewCode,
    SchemeCriterion,
    SchemeModule,
    User,
)
from ...models.base import utcnow
from ...models.jobs import DEAD_JOB_AFTER, RECOMPUTE_JOB, recompute_waiting
from ..judging import services as judging

DECISION = "decision"
WAIT_FOR_EARLIER_S = 120
STANDARD_METHOD_LENGTH = 120

# Why an entry has no stored row yet.
PENDING_THEORY = "theory"  # theory weight above 0 and no theory score in force
PENDING_MARKS = "marks"  # a criterion nobody has marked yet
PENDING_ERROR = "error"  # the engine refused its marks (the message says why)


# ---------------------------------------------------------------- parameters


def scoring_rules(params: Mapping[str, Any]) -> ScoringRules:
    """The engine's ``ScoringRules`` from an event's parameters (§6); absent keys keep defaults."""
    mapping = {
        "theory_weight": ("theory_weight", Decimal),
        "theory_weight_max": ("theory_weight_max", Decimal),
        "pass_mark": ("pass_mark", Decimal),
        "pass_rule": ("pass_rule", str),
        "trim_level": ("trim_level", str),
        "trim_min_judges": ("trim_min_judges", int),
        "trim_each_side": ("trim_each_side", int),
        "score_dp": ("dp", int),
        "ws_judgement": ("ws_judgement", bool),
        "ws_max_spread": ("ws_max_spread", int),
    }
    kwargs = {
        name: convert(str(params[key]) if convert is Decimal else params[key])
        for key, (name, convert) in mapping.items()
        if params.get(key) is not None
    }
    return ScoringRules(**kwargs)


def tie_settings(params: Mapping[str, Any]) -> tuple[tuple[str, ...], bool]:
    """The tie chain for ``rank_entries`` and whether ranks must be strict (no shared rank).

    Strict when ``boundary_tie`` is ``forbidden`` or the chain ends with ``decision`` (an
    organiser decision orders the entries still equal, which is what ``strict`` does).
    """
    chain = tuple(params.get("tie_chain") or ())
    strict = params.get("boundary_tie") == "forbidden"
    if chain and chain[-1] == DECISION:
        chain, strict = chain[:-1], True
    return chain or tuple(key.value for key in DEFAULT_TIE_CHAIN), strict


@dataclass(frozen=True)
class StandardSettings:
    """The WorldSkills scale an event asks for (``standardise``, ``std_center``,
    ``std_spread_pts``): median → centre, spread 1.4826·MAD (SD when MAD = 0), clamped 0–1000."""

    center: Decimal
    spread_pts: Decimal
    method: StandardiseMethod = StandardiseMethod.WS_MAD


def standard_settings(params: Mapping[str, Any]) -> StandardSettings | None:
    """The event's standardisation, or None when its rules do not ask for one."""
    if not params.get("standardise"):
        return None
    return StandardSettings(
        center=Decimal(str(params.get("std_center", 700))),
        spread_pts=Decimal(str(params.get("std_spread_pts", 30))),
    )


# ---------------------------------------------------------------- what the figures come from


def _coded_entries(event: Event) -> dict[int, str]:
    """Approved entries that carry a marking code: entry id → code."""
    stmt = (
        select(Entry.id, ReviewCode.code)
        .join(ReviewCode, ReviewCode.entry_id == Entry.id)
        .where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED)
    )
    return {entry_id: code for entry_id, code in db.session.execute(stmt)}


def _criteria(event: Event) -> dict[int, str]:
    """The scheme's criteria: criterion id → code."""
    if event.scheme is None:
        return {}
    stmt = (
        select(SchemeCriterion.id, SchemeCriterion.code)
        .join(SchemeModule, SchemeModule.id == SchemeCriterion.module_id)
        .where(SchemeModule.scheme_id == event.scheme.id)
    )
    return dict(db.session.execute(stmt).all())


def chain_length(event: Event) -> int:
    """The event's mark chain length as stored now (the ORM attribute may lag)."""
    return db.session.scalar(select(Event.mark_seq).where(Event.id == event.id)) or 0


def _marks_in_force(
    event_id: int,
    criteria: Mapping[int, str],
    *,
    upto: int,
    entry_ids: Collection[int] | None = None,
) -> dict[int, dict[str, dict[int, Decimal]]]:
    """``{entry id: {criterion code: {judge user id: value}}}`` from the chain's first ``upto``
    links: the latest mark per (judge, entry, criterion); a withdrawn (void) mark leaves that
    judge out of that criterion. Reads the needed columns only.

    The whole chain is read in chain order; a few entries are read through the cell index
    and put in chain order here.
    """
    table = MarkEvent.__table__
    columns = (
        table.c.judge_user_id,
        table.c.entry_id,
        table.c.criterion_id,
        type_coerce(table.c.value, NullType()),  # as the driver gives it, see _exact
    )
    if entry_ids is None:
        stmt = (
            select(*columns)
            .where(table.c.event_id == event_id, table.c.seq <= upto)
            .order_by(table.c.seq)
        )
        rows = db.session.execute(stmt).all()
    else:
        stmt = select(table.c.seq, *columns).where(
            table.c.event_id == event_id, table.c.entry_id.in_(sorted(entry_ids))
        )
        rows = [row[1:] for row in sorted(db.session.execute(stmt).all()) if row[0] <= upto]
    marks: dict[int, dict[str, dict[int, Decimal]]] = {}
    numbers: dict[object, Decimal] = {}  # one Decimal per distinct stored value
    for judge, entry_id, criterion_id, value in rows:
        code = criteria.get(criterion_id)
        if code is None:
            continue
        by_criterion = marks.get(entry_id)
        if by_criterion is None:
            by_criterion = marks[entry_id] = {}
        cell = by_criterion.get(code)
        if cell is None:
            cell = by_criterion[code] = {}
        if value is None:
            cell.pop(judge, None)
            continue
        number = numbers.get(value)
        if number is None:
            number = numbers[value] = _exact(value)
        cell[judge] = number
    return marks


def _exact(value: object) -> Decimal:
    """A stored mark as an exact Decimal. PostgreSQL gives ``Decimal``; SQLite keeps a
    ``NUMERIC(6, 2)`` as an integer or a double, whose shortest repr is the two-place
    decimal that was stored."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


@contextmanager
def _batch():
    """Many short-lived objects (a row per mark, Decimals, dicts): the cyclic garbage
    collector would rescan them again and again; reference counting frees them anyway."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class InputInForce:
    """The newest ``EntryInput`` of one entry and kind (``value`` None: withdrawn)."""

    id: int
    value: Decimal | None
    source: str
    reason: str | None
    recorded_by_id: int | None
    recorded_at: datetime


def inputs_in_force(event: Event) -> dict[int, dict[InputKind, InputInForce]]:
    """Theory scores and completion times in force: entry id → kind → the newest row."""
    table = EntryInput.__table__
    stmt = (
        select(
            table.c.id,
            table.c.entry_id,
            table.c.kind,
            table.c.value,
            table.c.source,
            table.c.reason,
            table.c.recorded_by_id,
            table.c.recorded_at,
        )
        .where(table.c.event_id == event.id)
        .order_by(table.c.id)
    )
    latest: dict[int, dict[InputKind, InputInForce]] = {}
    for row in db.session.execute(stmt):
        latest.setdefault(row.entry_id, {})[InputKind(row.kind)] = InputInForce(
            id=row.id,
            value=row.value,
            source=row.source,
            reason=row.reason,
            recorded_by_id=row.recorded_by_id,
            recorded_at=row.recorded_at,
        )
    return latest


Figures = tuple[Decimal | None, int, Decimal | None]  # theory, id of its row, time
NO_FIGURES: Figures = (None, 0, None)


def input_figures(event: Event) -> dict[int, Figures]:
    """What scoring needs of the inputs in force: entry id → (theory score, id of the theory
    row in force, time); None where missing or withdrawn. Reads four columns only."""
    table = EntryInput.__table__
    stmt = (
        select(table.c.id, table.c.entry_id, table.c.kind, table.c.value)
        .where(table.c.event_id == event.id)
        .order_by(table.c.id)
    )
    theory: dict[int, tuple[Decimal | None, int]] = {}
    time: dict[int, Decimal | None] = {}
    for row_id, entry_id, kind, value in db.session.execute(stmt).all():
        if kind == InputKind.THEORY:
            theory[entry_id] = (value, row_id)
        else:
            time[entry_id] = value
    return {
        entry_id: (*theory.get(entry_id, (None, 0)), time.get(entry_id))
        for entry_id in theory.keys() | time.keys()
    }


def _input_stamp(event: Event, *, upto: int | None = None) -> tuple[int, int]:
    """(newest input row id, number of input rows) of the event, counting rows up to ``upto``.

    The count catches a row that was committed after a newer one (ids are handed out before
    commit; PostgreSQL may commit them out of order), which the newest id alone would miss.
    """
    stmt = select(func.max(EntryInput.id), func.count(EntryInput.id)).where(
        EntryInput.event_id == event.id
    )
    if upto is not None:
        stmt = stmt.where(EntryInput.id <= upto)
    newest, count = db.session.execute(stmt).one()
    return newest or 0, count


# ---------------------------------------------------------------- stored rows

# The columns a recomputation writes, in one place: an entry's own figures, then its place.
_SCORED = ("criterion_scores", "module_scores", "practical", "theory", "final", "time", "passed")
_PLACED = ("rank", "tie_note", "needs_decision", "standardised", "standard_method")
_FIGURES = _SCORED + _PLACED


def _stored_rows(event: Event) -> dict[int, dict[str, Any]]:
    """The event's stored rows as plain dicts by entry id: id, marks_seq and the figures but
    the criterion scores, which only entries scored again need (``_add_criterion_scores``)."""
    table = EntryScore.__table__
    names = [name for name in _FIGURES if name != "criterion_scores"]
    stmt = select(
        table.c.id, table.c.entry_id, table.c.marks_seq, *(table.c[name] for name in names)
    ).where(table.c.event_id == event.id)
    return {row.entry_id: row._asdict() for row in db.session.execute(stmt).all()}


def _add_criterion_scores(stored: Mapping[int, dict[str, Any]], entry_ids: Iterable[int]) -> None:
    ids = {stored[e]["id"]: e for e in entry_ids if e in stored}
    if not ids:
        return
    table = EntryScore.__table__
    stmt = select(table.c.id, table.c.criterion_scores).where(table.c.id.in_(sorted(ids)))
    for row_id, scores in db.session.execute(stmt).all():
        stored[ids[row_id]]["criterion_scores"] = scores


def stored_results(event: Event) -> list[EntryScore]:
    """The event's stored rows: ranked first by rank, then the unranked by final score."""
    stmt = select(EntryScore).where(EntryScore.event_id == event.id)
    rows = list(db.session.scalars(stmt))
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, -r.final, r.entry_id))


def _tie_note(note: TieNote | None, codes: Mapping[str, str]) -> str | None:
    """The note as JSON, naming the entry above by its marking code only."""
    if note is None:
        return None
    return json.dumps(
        {
            "key": note.key,
            "above": codes[note.other_entry_id],
            "module": note.module,
            "value": None if note.value is None else str(note.value),
            "above_value": None if note.other_value is None else str(note.other_value),
        },
        ensure_ascii=False,
    )


def _scored_figures(result: EntryResult) -> dict[str, Any]:
    return {
        "criterion_scores": {code: str(v) for code, v in result.criterion_scores.items()},
        "module_scores": {code: str(v) for code, v in result.module_scores.items()},
        "practical": result.practical,
        "theory": result.theory,
        "final": result.final,
        "time": result.time,
        "passed": result.passed,
    }


def _result_from_row(entry_id: int, row: Mapping[str, Any]) -> EntryResult:
    """What ranking needs from a stored row (criterion figures are not needed to rank)."""
    return EntryResult(
        entry_id=str(entry_id),
        criterion_scores={},
        module_scores={code: Decimal(v) for code, v in row["module_scores"].items()},
        practical=row["practical"],
        theory=row["theory"],
        final=row["final"],
        passed=bool(row["passed"]),
        time=row["time"],
    )


def _standard_method(settings: StandardSettings, figures) -> str:
    """How the standardised scores were made, with the parameters (fits the 120-character
    column): method, basis of the spread, median, MAD, SD, centre, points per spread, clamp."""
    params = figures.params
    text = (
        f"{figures.method.value} basis={figures.basis} median={figures.median.normalize()}"
        f" mad={figures.mad.normalize()} sd={quantize(figures.sd, 4).normalize()}"
        f" center={settings.center} spread_pts={settings.spread_pts}"
        f" mad_scale={params['mad_scale']} clamp={params['lowest']}-{params['highest']}"
    )
    return text[:STANDARD_METHOD_LENGTH]


# ---------------------------------------------------------------- recomputing


@dataclass(frozen=True)
class Recompute:
    """What one recomputation did.

    ``marks_seq``: the chain length the figures come from; ``inputs_id`` and ``inputs_count``:
    the newest input row taken into account and how many rows there were; ``entries``: coded entries considered; ``rescored``: entries whose marks
    were read and put through the engine; ``pending``: entry id → why it has no row
    (``theory``, ``marks``, ``error``); ``errors``: entry id → the engine's refusal
    (``{"message", "params"}``).
    """

    marks_seq: int
    inputs_id: int
    inputs_count: int
    entries: int
    rows: int
    rescored: int
    inserted: int
    updated: int
    deleted: int
    full: bool
    pending: Mapping[int, str] = field(default_factory=dict)
    errors: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.deleted

    def summary(self, codes: Mapping[int, str]) -> dict[str, Any]:
        """A JSON-able account for the job's result; entries named by marking code only."""
        return {
            "marks_seq": self.marks_seq,
            "inputs_id": self.inputs_id,
            "inputs_count": self.inputs_count,
            "entries": self.entries,
            "rows": self.rows,
            "rescored": self.rescored,
            "changed": self.changed,
            "full": self.full,
            "pending": {
                reason: sum(1 for why in self.pending.values() if why == reason)
                for reason in (PENDING_THEORY, PENDING_MARKS, PENDING_ERROR)
            },
            "errors": sorted(
                ({"code": codes.get(e, "?"), **error} for e, error in self.errors.items()),
                key=lambda error: error["code"],
            ),
        }


def _refusal(exc: DomainError) -> dict[str, Any]:
    return {"message": exc.message, "params": {k: str(v) for k, v in exc.params.items()}}


def _score_one(
    spec,
    rules: ScoringRules,
    codes: list[str],
    entry_marks: Mapping[str, Mapping[int, Decimal]],
    theory: Decimal | None,
    time: Decimal | None,
    entry_id: int,
) -> EntryResult | str | DomainError:
    """The engine's result for one entry, or why it stays pending (the same order always:
    theory missing first, then an unmarked criterion, then the engine's refusal)."""
    if rules.theory_weight > 0 and theory is None:
        return PENDING_THEORY
    for code in codes:
        if not entry_marks.get(code):
            return PENDING_MARKS
    try:
        return score_entry(
            spec, entry_marks, entry_id=str(entry_id), theory=theory, time=time, rules=rules
        )
    except InvalidInput as exc:
        return exc


def _inputs_changed(
    row: Mapping[str, Any], theory: Decimal | None, time: Decimal | None, rules: ScoringRules
) -> bool:
    """Whether the stored row was computed from other theory/time figures than those in force."""
    if rules.theory_weight > 0:
        expected = None if theory is None else quantize(theory, rules.dp)
        if row["theory"] != expected:
            return True
    return row["time"] != time


@dataclass(frozen=True)
class _Hint:
    """What the last finished recompute answered for, when it stamped the stored rows: the
    newest input it took in and the entries it found refused (by marking code)."""

    inputs_id: int
    errors: Mapping[str, Mapping[str, Any]]


def _hint(
    event: Event, stored: Mapping[int, Mapping[str, Any]], entries: int
) -> tuple[int, _Hint | None]:
    """The chain length the stored state answers for, and the last recompute job's account
    when it is the one that left the stored rows as they are (same rows, same entries, same
    stamp); without it the stamp on the rows alone (0 when there are none)."""
    stamped = max((row["marks_seq"] for row in stored.values()), default=0)
    last = last_recompute(event)
    result = (last.result or {}) if last is not None else {}
    if (
        "error" in result
        or "inputs_id" not in result
        or result.get("entries") != entries
        or result.get("rows") != len(stored)
        or (stored and result.get("marks_seq") != stamped)
        or _input_stamp(event, upto=int(result["inputs_id"]))[1] != result.get("inputs_count")
    ):
        return stamped, None
    errors = {
        e["code"]: {"message": e["message"], "params": e["params"]}
        for e in result.get("errors", [])
    }
    return int(result["marks_seq"]), _Hint(inputs_id=int(result["inputs_id"]), errors=errors)


def recompute_results(event: Event, *, now: datetime, full: bool = False) -> Recompute:
    """Bring the event's stored rows up to date with its marks and inputs in force.

    - Candidates: with ``full``, every approved entry with a marking code. Otherwise the
      entries with a mark event after the stored rows' ``marks_seq`` (the chain length they
      answer for), the entries whose stored theory score or time differs from the one in
      force, and the entries with no row: of those, an entry still waiting for a theory score
      needs no marks read, and, when the last recompute job answered for the stored rows, an
      entry with untouched marks and no newer theory score stays pending as it was.
    - Each candidate: pending while ``theory_weight`` > 0 and no theory score is in force, or
      while a criterion has no mark (void marks leave their judge out), or when the engine
      refuses its marks; otherwise ``score_entry`` with the theory score and time in force.
    - All scored entries are ranked again (module order from the scheme, chain from the
      rules) from the new figures and the stored ones, and standardised when the rules ask.
    - Only rows whose figures or place changed are written; rows of entries now pending or no
      longer approved are removed; every row is stamped with the chain length used. Flushes;
      the caller commits. ``bump_results_version`` when anything changed.

    The outcome equals a full recompute: an entry's figures depend only on its marks, its
    theory score and time, and the event's scheme and rules (fixed once registration opens).
    """
    with _batch():
        return _recompute(event, now=now, full=full)


def _recompute(event: Event, *, now: datetime, full: bool = False) -> Recompute:
    db.session.flush()
    marks_seq = chain_length(event)
    inputs_id, inputs_count = _input_stamp(event)  # before the inputs are read
    codes = _coded_entries(event)
    stored = _stored_rows(event)
    criteria = _criteria(event) if event.scheme is not None else {}
    if not criteria or not event.scheme.modules:
        deleted = _delete_rows(event, [row["id"] for row in stored.values()])
        return Recompute(marks_seq, inputs_id, inputs_count, len(codes), 0, 0, 0, 0, deleted, full)

    spec = event.scheme.spec()
    rules = validate_rules(scoring_rules(event.rules))
    weighted = rules.theory_weight > 0
    criterion_codes = [criterion.code for _module, criterion in spec.criteria()]
    figures = input_figures(event)
    stamped = max((row["marks_seq"] for row in stored.values()), default=0)
    watermark, hint = _hint(event, stored, len(codes))
    if max(stamped, watermark) > marks_seq:  # the chain is shorter: trust nothing stored
        full = True
    if full:
        hint = None

    pending: dict[int, str] = {}
    errors: dict[int, Mapping[str, Any]] = {}
    candidates: set[int] = set()
    touched = set() if full else _touched_entries(event, after=watermark, upto=marks_seq)
    for entry_id, code in codes.items():
        theory, theory_id, time = figures.get(entry_id, NO_FIGURES)
        row = stored.get(entry_id)
        if full:
            candidates.add(entry_id)
        elif row is not None:
            if entry_id in touched or _inputs_changed(row, theory, time, rules):
                candidates.add(entry_id)
        elif weighted and theory is None:
            pending[entry_id] = PENDING_THEORY
        elif (
            hint is not None
            and entry_id not in touched
            and (not weighted or theory_id <= hint.inputs_id)
        ):
            if code in hint.errors:  # as the last recompute found it
                pending[entry_id], errors[entry_id] = PENDING_ERROR, hint.errors[code]
            else:
                pending[entry_id] = PENDING_MARKS
        else:
            candidates.add(entry_id)

    to_read = [e for e in candidates if not (weighted and figures.get(e, NO_FIGURES)[0] is None)]
    whole = len(to_read) * 2 > len(codes)  # most entries: read the chain without an id list
    marks = (
        _marks_in_force(event.id, criteria, upto=marks_seq, entry_ids=None if whole else to_read)
        if to_read
        else {}
    )

    results: dict[int, EntryResult] = {}
    for entry_id in sorted(codes):
        if entry_id in pending:
            continue
        if entry_id not in candidates:
            results[entry_id] = _result_from_row(entry_id, stored[entry_id])
            continue
        theory, _theory_id, time = figures.get(entry_id, NO_FIGURES)
        outcome = _score_one(
            spec, rules, criterion_codes, marks.get(entry_id, {}), theory, time, entry_id
        )
        if isinstance(outcome, EntryResult):
            results[entry_id] = outcome
        elif isinstance(outcome, DomainError):
            pending[entry_id], errors[entry_id] = PENDING_ERROR, _refusal(outcome)
        else:
            pending[entry_id] = outcome

    _add_criterion_scores(stored, candidates)
    placed = _place(event, spec, results, candidates, stored, codes)
    inserted, updated, removed = _write(event, placed, stored, candidates, marks_seq, now)
    changed = inserted + updated + removed
    if changed or stamped != marks_seq:
        _stamp(event, marks_seq, now)
    if changed:
        bump_results_version(event)
    _forget_cached_rows(event)
    return Recompute(
        marks_seq=marks_seq,
        inputs_id=inputs_id,
        inputs_count=inputs_count,
        entries=len(codes),
        rows=len(placed),
        rescored=len(to_read),
        inserted=inserted,
        updated=updated,
        deleted=removed,
        full=full,
        pending=pending,
        errors=errors,
    )


def _touched_entries(event: Event, *, after: int, upto: int) -> set[int]:
    """Entries with a mark event in the chain links ``after`` + 1 … ``upto``."""
    if upto <= after:
        return set()
    table = MarkEvent.__table__
    stmt = (
        select(table.c.entry_id)
        .where(table.c.event_id == event.id, table.c.seq > after, table.c.seq <= upto)
        .distinct()
    )
    return set(db.session.scalars(stmt))


def _place(
    event: Event,
    spec,
    results: Mapping[int, EntryResult],
    candidates: Collection[int],
    stored: Mapping[int, Mapping[str, Any]],
    codes: Mapping[int, str],
) -> dict[int, dict[str, Any]]:
    """Every scored entry's figures and place: rank, tie note, standardised score."""
    chain, strict = tie_settings(event.rules)
    places: list[RankedEntry] = rank_entries(
        list(results.values()), module_order=spec.module_weights(), tie_chain=chain, strict=strict
    )
    text_codes = {str(entry_id): code for entry_id, code in codes.items()}
    settings = standard_settings(event.rules)
    scaled: Mapping[str, Decimal] = {}
    method = None
    if settings is not None and results:
        figures = standardise(
            {str(e): r.final for e, r in results.items()},
            method=settings.method,
            center=settings.center,
            spread_pts=settings.spread_pts,
            dp=scoring_rules(event.rules).dp,
        )
        scaled, method = figures.scores, _standard_method(settings, figures)
    placed: dict[int, dict[str, Any]] = {}
    for place in places:
        entry_id = int(place.entry_id)
        if entry_id in candidates:
            base = _scored_figures(results[entry_id])
        else:
            row = stored[entry_id]  # unchanged: its criterion scores stay as stored
            base = {name: row[name] for name in _SCORED if name != "criterion_scores"}
        placed[entry_id] = {
            **base,
            "rank": place.rank,
            "tie_note": _tie_note(place.tie_note, text_codes),
            "needs_decision": place.needs_decision,
            "standardised": scaled.get(place.entry_id),
            "standard_method": method,
        }
    return placed


def _write(
    event: Event,
    figures: Mapping[int, Mapping[str, Any]],
    stored: Mapping[int, Mapping[str, Any]],
    candidates: Collection[int],
    marks_seq: int,
    now: datetime,
) -> tuple[int, int, int]:
    """Insert new rows, update changed ones, delete rows with no figures: (ins, upd, del).

    An entry scored again may change in any figure; any other entry only in its place."""
    table = EntryScore.__table__
    new_rows = [
        {"event_id": event.id, "entry_id": e, "computed_at": now, "marks_seq": marks_seq, **f}
        for e, f in figures.items()
        if e not in stored
    ]
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {_FIGURES: [], _PLACED: []}
    for entry_id, new in figures.items():
        old = stored.get(entry_id)
        if old is None:
            continue
        names = _FIGURES if entry_id in candidates else _PLACED
        if any(new[name] != old[name] for name in names):
            updates[names].append(
                {"row_id": old["id"], **{f"v_{name}": new[name] for name in names}}
            )
    gone = [row["id"] for e, row in stored.items() if e not in figures]
    if new_rows:
        db.session.execute(insert(table), new_rows)
    for names, params in updates.items():
        if params:
            db.session.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values({name: bindparam(f"v_{name}") for name in names}),
                params,
            )
    deleted = _delete_rows(event, gone)
    return len(new_rows), sum(len(params) for params in updates.values()), deleted


def _delete_rows(event: Event, ids: list[int]) -> int:
    if not ids:
        return 0
    table = EntryScore.__table__
    db.session.execute(delete(table).where(table.c.id.in_(ids)))
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, EntryScore) and obj.id in ids:
            db.session.expunge(obj)
    return len(ids)


def _stamp(event: Event, marks_seq: int, now: datetime) -> None:
    """Every row of the event now answers for the chain's first ``marks_seq`` links."""
    table = EntryScore.__table__
    db.session.execute(
        update(table)
        .where(table.c.event_id == event.id)
        .values(marks_seq=marks_seq, computed_at=now)
    )


def _forget_cached_rows(event: Event) -> None:
    """Rows were written without the ORM: loaded copies must be read again."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, EntryScore) and obj.event_id == event.id:
            db.session.expire(obj)


def compute_results(event: Event, *, now: datetime, full: bool = False) -> list[EntryScore]:
    """Recompute (see ``recompute_results``) and return the stored rows in rank order.

    Pending entries (theory score missing while it counts, a criterion unmarked, marks the
    engine refuses) have no row; the others are ranked. Flushes; the caller commits.
    """
    recompute_results(event, now=now, full=full)
    return stored_results(event)


# ---------------------------------------------------------------- judges' leniency


def judge_leniency(event: Event, *, upto: int | None = None) -> dict[str, Any]:
    """Each judge's mean difference from the panel mean (§ screens: per-judge leniency).

    For every marked cell (entry, criterion) with two or more marks in force, each judge's
    mark minus the cell's mean. Per criterion: the mean difference in marks. Overall: the mean
    difference as points per 100 marks of each criterion's maximum (so criteria of different
    size weigh alike). Positive = more lenient than the panel, negative = stricter.
    Judges by user id; entries are not named.
    """
    if event.scheme is None:
        return {"criteria": [], "judges": []}
    spec = event.scheme.spec()
    maxima = {criterion.code: criterion.max_mark for _m, criterion in spec.criteria()}
    order = list(maxima)
    upto = chain_length(event) if upto is None else upto
    coded = _coded_entries(event)
    marks = _marks_in_force(event.id, _criteria(event), upto=upto)
    sums: dict[tuple[int, str], list] = {}
    for entry_id, by_criterion in marks.items():
        if entry_id not in coded:
            continue
        for code, cell in by_criterion.items():
            if len(cell) < 2:
                continue
            mean = sum(cell.values(), Decimal(0)) / len(cell)
            for judge, value in cell.items():
                acc = sums.setdefault((judge, code), [Decimal(0), 0])
                acc[0] += value - mean
                acc[1] += 1
    judges: dict[int, dict[str, Any]] = {}
    for (judge, code), (total, count) in sums.items():
        entry = judges.setdefault(judge, {"norm": Decimal(0), "cells": 0, "by_criterion": {}})
        entry["by_criterion"][code] = str(quantize(total / count, 2))
        entry["norm"] += total * 100 / maxima[code]
        entry["cells"] += count
    return {
        "marks_seq": upto,
        "criteria": order,
        "judges": [
            {
                "user_id": judge,
                "overall": str(quantize(entry["norm"] / entry["cells"], 2)),
                "cells": entry["cells"],
                "by_criterion": entry["by_criterion"],
            }
            for judge, entry in sorted(judges.items())
        ],
    }


def judge_labels(event: Event, user_ids: Iterable[int]) -> dict[int, str]:
    """How a judge is named on the results pages: panel seat and display name."""
    ids = set(user_ids)
    seats = [
        user_id
        for user_id in db.session.scalars(
            select(Judge.user_id)
            .join(PanelMember, PanelMember.judge_id == Judge.id)
            .where(PanelMember.event_id == event.id, Judge.user_id.is_not(None))
            .order_by(PanelMember.id)
        )
    ]
    seat_of: dict[int, int] = {}
    for user_id in seats:
        seat_of.setdefault(user_id, len(seat_of) + 1)
    names = dict(
        db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()
    )
    return {
        user_id: (
            f"{seat_of[user_id]}. {names.get(user_id, '')}".strip()
            if user_id in seat_of
            else names.get(user_id, str(user_id))
        )
        for user_id in ids
    }


# ---------------------------------------------------------------- off the request path


FROZEN_STATES = (
    EventState.PUBLICITY,
    EventState.FINAL,
    EventState.AWARDS_ISSUED,
    EventState.CANCELLED,
)


def results_frozen(event: Event) -> bool:
    """Published, final or cancelled: the stored rows are what was published; no recompute."""
    return event.state in FROZEN_STATES


def _recompute_jobs(event_id: int, *statuses: JobStatus) -> list[Job]:
    stmt = (
        select(Job)
        .where(Job.kind == RECOMPUTE_JOB, Job.event_id == event_id, Job.status.in_(statuses))
        .order_by(Job.created_at, Job.id)
    )
    return list(db.session.scalars(stmt))


def _alive(job: Job, now: datetime) -> bool:
    since = job.started_at if job.status is JobStatus.RUNNING else job.created_at
    return since is None or since > now - DEAD_JOB_AFTER


def active_recompute(event: Event) -> Job | None:
    """A queued or running recompute of the event (the oldest), if one is alive."""
    now = utcnow()
    jobs = [
        j for j in _recompute_jobs(event.id, JobStatus.QUEUED, JobStatus.RUNNING) if _alive(j, now)
    ]
    return jobs[0] if jobs else None


def last_recompute(event: Event) -> Job | None:
    """The recompute that finished last."""
    stmt = (
        select(Job)
        .where(Job.kind == RECOMPUTE_JOB, Job.event_id == event.id, Job.status == JobStatus.DONE)
        .order_by(Job.finished_at.desc(), Job.created_at.desc())
        .limit(1)
    )
    return db.session.scalars(stmt).first()


def schedule_recompute(event: Event, *, actor=None, full: bool = False) -> Job | None:
    """Queue a recomputation of the event's stored results; call it after committing a change.

    A recompute that has not read the chain yet (queued, or running but still waiting for a
    burst of marks to settle) takes this change too and is returned instead of a new one; a
    recompute already reading gets a follow-up, which waits for it. None when the results are
    frozen (published, final or cancelled). In tests jobs run before this returns.
    """
    from ... import jobs

    if results_frozen(event):
        return None
    alive_since = utcnow() - DEAD_JOB_AFTER
    waiting = db.session.scalars(
        select(Job)
        .where(recompute_waiting(event.id, alive_since))
        .order_by(Job.created_at, Job.id)
        .limit(1)
    ).first()
    if waiting is not None:
        if full and not (waiting.params or {}).get("full"):
            waiting.params = {**(waiting.params or {}), "full": True}
            db.session.commit()
        return waiting
    return jobs.submit(RECOMPUTE_JOB, actor=actor, event_id=event.id, full=full)


def _recompute_delay(event_id: int) -> float:
    """How long a recompute waits for changes to settle: longer while marking is open."""
    from ... import jobs

    if jobs.mode() == "sync":
        return 0.0
    state = db.session.scalar(select(Event.state).where(Event.id == event_id))
    marking = state is EventState.IN_PROGRESS
    return float(
        current_app.config[
            "RESULTS_RECOMPUTE_DELAY_MARKING" if marking else "RESULTS_RECOMPUTE_DELAY"
        ]
    )


def _wait_for_earlier(record: Job) -> None:
    """Let a recompute of the same event that is already reading finish first."""
    limit = current_app.config.get("RESULTS_RECOMPUTE_WAIT", WAIT_FOR_EARLIER_S)
    deadline = clock.monotonic() + float(limit)
    while clock.monotonic() < deadline:
        now = utcnow()
        earlier = [
            job
            for job in _recompute_jobs(record.event_id, JobStatus.RUNNING)
            if job.id != record.id and job.done and _alive(job, now)
        ]
        if not earlier:
            return
        db.session.commit()  # end the read so the next look sees their progress
        clock.sleep(0.1)


def _run_recompute(record: Job, *, full: bool = False) -> dict[str, Any]:
    """The job ``results.recompute``: wait for a burst to settle, recompute, commit, then the
    judges' leniency for the charts. The result records what the rows answer for."""
    from ... import jobs

    _wait_for_earlier(record)
    delay = _recompute_delay(record.event_id)
    if delay:
        db.session.commit()  # hold no read open while waiting
        clock.sleep(delay)
    db.session.refresh(record)
    full = full or bool((record.params or {}).get("full"))
    # Reading from here on: later changes need another job. The chain lock is taken with it, so
    # a batch of marks that saw this job still waiting commits before the reading starts.
    with judging.chain_write_turn():
        judging.lock_chain(record.event_id)
        jobs.progress(record, 1, 2)
    event = db.session.get(Event, record.event_id)
    if event is None:
        return {"rows": 0}
    if results_frozen(event):
        return {"frozen": True, "marks_seq": chain_length(event)}
    before = (chain_length(event), *_input_stamp(event), len(_coded_entries(event)))
    try:
        outcome = recompute_results(event, now=utcnow(), full=full)
    except DomainError as exc:
        db.session.rollback()
        return {
            "marks_seq": before[0],
            "inputs_id": before[1],
            "inputs_count": before[2],
            "entries": before[3],
            "error": {
                "message": exc.message,
                "params": {k: str(v) for k, v in exc.params.items()},
            },
        }
    db.session.commit()
    summary = outcome.summary(_coded_entries(event))
    summary["leniency"] = judge_leniency(event, upto=outcome.marks_seq)
    return summary


def _register_jobs() -> None:
    from ... import jobs

    jobs.job(RECOMPUTE_JOB)(_run_recompute)


_register_jobs()


# ---------------------------------------------------------------- what pages read


@dataclass(frozen=True)
class Freshness:
    """Whether the stored rows answer for the chain and inputs as they are now.

    ``marks_seq``/``computed_at``: the rows' stamp; ``stale``: a mark, input or entry came
    after the last recompute; ``active``: a recompute queued or running; ``last``: the last
    finished one (its result: pending counts, errors, leniency).
    """

    marks_seq: int
    computed_at: datetime | None
    stale: bool
    active: Job | None
    last: Job | None

    @property
    def last_result(self) -> dict[str, Any]:
        return (self.last.result or {}) if self.last is not None else {}


def freshness(event: Event) -> Freshness:
    """Cheap checks only: the rows' stamp, the chain length, the newest input, the entry count."""
    table = EntryScore.__table__
    seq, computed_at = db.session.execute(
        select(func.max(table.c.marks_seq), func.max(table.c.computed_at)).where(
            table.c.event_id == event.id
        )
    ).one()
    last = last_recompute(event)
    result = (last.result or {}) if last is not None else {}
    active = active_recompute(event)
    if event.scheme is None or results_frozen(event):
        return Freshness(seq or 0, computed_at, False, active, last)
    through = max(seq or 0, int(result.get("marks_seq") or 0))
    stale = chain_length(event) > through
    if _input_stamp(event) != (result.get("inputs_id", 0), result.get("inputs_count", 0)):
        stale = True
    if last is not None and result.get("entries") != len(_coded_entries(event)):
        stale = True
    return Freshness(seq or 0, computed_at, stale, active, last)


@dataclass(frozen=True)
class Provisional:
    """The provisional ranking as stored: rows by rank, each with its marking code (评审号).

    ``pending``: coded entries with no row; of them ``missing_theory`` lack a theory score that
    counts, the rest are not fully marked (or refused, see ``errors``).
    """

    rows: list[EntryScore]
    codes: dict[int, str]  # entry id → marking code
    marks_seq: int
    computed_at: datetime | None
    pending: int
    missing_theory: int
    errors: list[dict[str, Any]]
    stale: bool
    job: Job | None
    error: dict[str, Any] | None
    leniency: dict[str, Any] | None
    standardised: bool

    @property
    def not_marked(self) -> int:
        return self.pending - self.missing_theory - len(self.errors)


def provisional_ranking(
    event: Event, *, now: datetime | None = None, state: Freshness | None = None
) -> Provisional:
    """The stored provisional ranking with what is pending and why; computes nothing."""
    state = state or freshness(event)
    coded = _coded_entries(event)
    rows = stored_results(event) if event.scheme is not None else []
    scored = {row.entry_id for row in rows}
    waiting = set(coded) - scored
    rules = scoring_rules(event.rules)
    missing_theory = 0
    if rules.theory_weight > 0 and waiting:
        figures = input_figures(event)
        missing_theory = sum(1 for e in waiting if figures.get(e, NO_FIGURES)[0] is None)
    result = state.last_result
    errors = [e for e in result.get("errors") or [] if e.get("code") in {coded[i] for i in waiting}]
    return Provisional(
        rows=rows,
        codes=coded,
        marks_seq=state.marks_seq,
        computed_at=state.computed_at,
        pending=len(waiting),
        missing_theory=missing_theory,
        errors=errors,
        stale=state.stale,
        job=state.active,
        error=result.get("error"),
        leniency=result.get("leniency"),
        standardised=standard_settings(event.rules) is not None,
    )


def ranks_computed(event: Event, now: datetime | None = None) -> bool:
    """Lifecycle guard: every approved, coded entry is ranked from the marks and the theory
    scores and times in force right now (exact check on the stored rows, no job needed)."""
    coded = _coded_entries(event)
    if event.scheme is None or not coded:
        return False
    stored = _stored_rows(event)
    if set(stored) != set(coded):
        return False
    if any(row["marks_seq"] != chain_length(event) for row in stored.values()):
        return False
    rules = scoring_rules(event.rules)
    figures = input_figures(event)
    return not any(
        _inputs_changed(row, theory, time, rules)
        for entry_id, row in stored.items()
        for theory, _theory_id, time in [figures.get(entry_id, NO_FIGURES)]
    )


# ---------------------------------------------------------------- publication


PUBLISHED_STATES = (EventState.PUBLICITY, EventState.FINAL, EventState.AWARDS_ISSUED)


def current_publication(event: Event) -> Publication | None:
    """The event's publication in force (the newest not withdrawn), or None."""
    stmt = (
        select(Publication)
        .where(Publication.event_id == event.id, Publication.withdrawn_at.is_(None))
        .order_by(Publication.id.desc())
        .limit(1)
    )
    return db.session.scalars(stmt).first()


def is_published(event: Event) -> bool:
    """Whether the public may see the event's results (公示 or final)."""
    return event.state in PUBLISHED_STATES and current_publication(event) is not None


def is_final(event: Event) -> bool:
    return event.state in (EventState.FINAL, EventState.AWARDS_ISSUED)


def bump_results_version(event: Event) -> None:
    """Mark everything derived from the results (caches, public pages) as changed."""
    event.results_version = (event.results_version or 0) + 1
