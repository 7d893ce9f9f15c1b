"""Stored results and the live provisional ranking, derived from the mark chain.

The rules are the pure engine's (``domain.scoring``, ``domain.ranking``); this module only
gathers the marks in force, maps the event's parameters onto the engine and stores the figures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from ...domain.lifecycle import EventState
from ...domain.ranking import DEFAULT_TIE_CHAIN, RankedEntry, TieNote, rank_entries
from ...domain.scoring import EntryResult, ScoringRules, score_entry
from ...extensions import db
from ...models import Entry, EntryScore, EntryStatus, Event, Publication, ReviewCode
from ..judging.services import current_marks

DECISION = "decision"


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
class Provisional:
    """The provisional ranking: stored rows by rank, each with its marking code (评审号)."""

    rows: list[EntryScore]
    codes: dict[int, str]  # entry id → marking code
    marks_seq: int
    pending: int  # approved entries with a code whose marks are not complete yet


def _coded_entries(event: Event) -> dict[int, str]:
    """Approved entries that carry a marking code: entry id → code."""
    stmt = (
        select(Entry.id, ReviewCode.code)
        .join(ReviewCode, ReviewCode.entry_id == Entry.id)
        .where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED)
    )
    return {entry_id: code for entry_id, code in db.session.execute(stmt)}


def _marks_by_entry(event: Event) -> dict[int, dict[str, dict[str, Decimal]]]:
    """``{entry id: {criterion code: {judge user id: value}}}`` from the marks in force.

    A withdrawn (void) mark has no value and leaves that judge out of that criterion.
    """
    codes = {c.id: c.code for m in event.scheme.modules for c in m.criteria}
    marks: dict[int, dict[str, dict[str, Decimal]]] = {}
    for (judge_id, entry_id, criterion_id), mark in current_marks(event).items():
        if mark.value is None or criterion_id not in codes:
            continue
        by_criterion = marks.setdefault(entry_id, {})
        by_criterion.setdefault(codes[criterion_id], {})[str(judge_id)] = Decimal(mark.value)
    return marks


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


def _row(
    event: Event, result: EntryResult, place: RankedEntry, codes: Mapping[str, str], now
) -> EntryScore:
    return EntryScore(
        event_id=event.id,
        entry_id=int(result.entry_id),
        criterion_scores={code: str(v) for code, v in result.criterion_scores.items()},
        module_scores={code: str(v) for code, v in result.module_scores.items()},
        practical=result.practical,
        theory=result.theory,
        final=result.final,
        passed=result.passed,
        rank=place.rank,
        tie_note=_tie_note(place.tie_note, codes),
        needs_decision=place.needs_decision,
        computed_at=now,
        marks_seq=event.mark_seq,
    )


def stored_results(event: Event) -> list[EntryScore]:
    """The event's stored rows: ranked first by rank, then the unranked by final score."""
    stmt = select(EntryScore).where(EntryScore.event_id == event.id)
    rows = list(db.session.scalars(stmt))
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, -r.final, r.entry_id))


def compute_results(event: Event, *, now: datetime) -> list[EntryScore]:
    """Score and rank every fully marked, approved entry with a marking code; store the rows.

    - Marks in force: the latest per (judge, entry, criterion) by chain position; void marks
      are left out. An entry with a criterion nobody has marked yet is not scored (pending).
    - Figures: ``score_entry`` with the event's rules; no theory score is recorded yet, so
      ``theory=None``: with ``theory_weight`` 0 the final is the practical score; with a
      weight above 0 the engine refuses ("The theory score is missing.", ``InvalidInput``)
      and nothing is stored.
    - Places: ``rank_entries`` (module order from the scheme, chain from the rules).
    - The event's rows are replaced in one go (delete, insert, flush); the caller commits.
      When every stored row already comes from the current chain length, they are returned
      as they are.
    """
    stored = stored_results(event)
    if stored and all(row.marks_seq == event.mark_seq for row in stored):
        return stored
    results = _score(event)
    spec = event.scheme.spec()
    chain, strict = tie_settings(event.rules)
    places = rank_entries(
        results, module_order=spec.module_weights(), tie_chain=chain, strict=strict
    )
    by_id = {result.entry_id: result for result in results}
    codes = {str(entry_id): code for entry_id, code in _coded_entries(event).items()}
    db.session.execute(delete(EntryScore).where(EntryScore.event_id == event.id))
    rows = [_row(event, by_id[place.entry_id], place, codes, now) for place in places]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def _score(event: Event) -> list[EntryResult]:
    if event.scheme is None:
        return []
    spec = event.scheme.spec()
    criteria = [criterion.code for _module, criterion in spec.criteria()]
    rules = scoring_rules(event.rules)
    marks = _marks_by_entry(event)
    results = []
    for entry_id in sorted(_coded_entries(event)):
        entry_marks = marks.get(entry_id, {})
        if not all(entry_marks.get(code) for code in criteria):
            continue  # pending: not every criterion has a mark yet
        results.append(score_entry(spec, entry_marks, entry_id=str(entry_id), rules=rules))
    return results


def provisional_ranking(event: Event, *, now: datetime) -> Provisional:
    """The live provisional ranking, recomputed first when the mark chain has grown."""
    coded = _coded_entries(event)
    rows = compute_results(event, now=now) if event.scheme is not None else []
    rows = sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, -r.final, r.entry_id))
    return Provisional(
        rows=rows,
        codes=coded,
        marks_seq=rows[0].marks_seq if rows else event.mark_seq,
        pending=len(set(coded) - {row.entry_id for row in rows}),
    )


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


def schedule_recompute(event: Event, *, actor=None):
    """Queue a recomputation of the event's stored results (off the request path)."""
    from ... import jobs

    return jobs.submit("results.recompute", actor=actor, event_id=event.id, dedupe=True)


def _register_jobs() -> None:
    from ... import jobs
    from ...models.base import utcnow

    @jobs.job("results.recompute")
    def recompute(record, **_params):
        event = db.session.get(Event, record.event_id)
        if event is None:
            return {"rows": 0}
        rows = compute_results(event, now=utcnow())
        db.session.commit()
        return {"rows": len(rows)}


_register_jobs()
