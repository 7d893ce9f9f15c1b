"""The score review (复核, §4.7) after the totals are submitted: sample, checks, full recheck.

- The supervisor starts the review while the event is ``under_review``. The sample is all of
  the top ``review_top_n`` plus ⌈``review_sample_pct``% of the rest⌉, drawn over the stored
  ranking (by marking code) with a recorded random seed (``domain.review``); the ranking drawn
  from is kept in the audit trail, so anyone can replay the draw.
- Each sampled entry is confirmed, or corrected through new mark events with a reason
  (``judging.corrections``); the stored results are then recomputed.
- When the sample is complete and its error rate (entries with an error ÷ checked) is strictly
  above ``review_error_pct``, a full recheck of every entry starts at once (a new review,
  ``full``; the sample is no longer current).
- An upheld appeal sends the results back to review with a review of the appealed entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.draws import new_seed
from ...domain.errors import Conflict, DomainError, InvalidInput, NotAllowed
from ...domain.lifecycle import EventState
from ...domain.review import error_rate, needs_full_recheck, pick_recheck_sample
from ...extensions import db
from ...models import (
    AuditEntry,
    CheckOutcome,
    Entry,
    EntryScore,
    Event,
    Judge,
    MarkEvent,
    PanelMember,
    ResultReview,
    ReviewCheck,
    SchemeCriterion,
    User,
)
from ...permissions import Permission, has_permission
from ..judging.corrections import Correction, correct_marks
from ..judging.services import current_marks, panel_progress
from ..judging.unseal import unsealed
from . import services

APPEAL_SEED = "appeal:"
MAX_NOTE = 2000


# ---------------------------------------------------------------- parameters and state


def review_params(event: Event) -> tuple[int, Decimal, Decimal]:
    """``review_top_n``, ``review_sample_pct`` and ``review_error_pct`` of the event (§6)."""
    rules = event.rules
    top_n = int(rules.get("review_top_n", 10))
    sample_pct = Decimal(str(rules.get("review_sample_pct", 15)))
    error_pct = Decimal(str(rules.get("review_error_pct", 5)))
    return top_n, sample_pct, error_pct


def coded_entries(event: Event) -> dict[int, str]:
    """Approved entries with a marking code: entry id → code."""
    return services._coded_entries(event)


def results_current(event: Event) -> bool:
    """Stored results exist for every approved coded entry, all from the marks and inputs in
    force (``results.services.ranks_computed``)."""
    return services.ranks_computed(event)


def is_appeal_review(review: ResultReview) -> bool:
    return review.seed.startswith(APPEAL_SEED)


def reviews_of(event: Event) -> list[ResultReview]:
    """The event's reviews, newest first."""
    stmt = (
        select(ResultReview)
        .where(ResultReview.event_id == event.id)
        .order_by(ResultReview.id.desc())
    )
    return list(db.session.scalars(stmt))


def current_review(event: Event) -> ResultReview | None:
    stmt = (
        select(ResultReview)
        .where(ResultReview.event_id == event.id, ResultReview.is_current.is_(True))
        .order_by(ResultReview.id.desc())
        .limit(1)
    )
    return db.session.scalars(stmt).first()


@dataclass(frozen=True)
class ReviewProgress:
    """How far one review is: entries checked, entries with an error, the error rate."""

    review: ResultReview
    total: int
    checked: int
    errors: int

    @property
    def complete(self) -> bool:
        return self.checked >= self.total

    @property
    def rate(self) -> Decimal:
        """Entries with an error ÷ checked, in per cent (rounded to 0.01)."""
        return error_rate(self.checked, self.errors)

    @property
    def over_threshold(self) -> bool:
        return needs_full_recheck(self.checked, self.errors, error_pct=self.review.error_pct)


def progress_of(review: ResultReview) -> ReviewProgress:
    wanted = set(review.entry_ids)
    checks = [c for c in review.checks if c.entry_id in wanted]
    return ReviewProgress(
        review=review,
        total=len(wanted),
        checked=len(checks),
        errors=sum(c.outcome is CheckOutcome.CORRECTED for c in checks),
    )


# ---------------------------------------------------------------- lifecycle guards


def totals_submitted(event: Event, now: datetime | None = None) -> bool:
    """Guard: every approved coded entry has a stored result from the current mark chain, and
    no disagreement between judges is left open."""
    if not results_current(event):
        return False
    return panel_progress(event).flags == 0


def recheck_done(event: Event, now: datetime | None = None) -> bool:
    """Guard: the current review has checked every entry it covers. A sample whose error rate
    started a full recheck is no longer current, so the full recheck must be complete."""
    review = current_review(event)
    return review is not None and progress_of(review).complete


def ranks_computed(event: Event, now: datetime | None = None) -> bool:
    """Guard: stored results are complete for every approved coded entry and computed from the
    current chain and the theory scores and times in force (``services.ranks_computed``)."""
    return services.ranks_computed(event, now)


# ---------------------------------------------------------------- starting a review


def _ranked_codes(event: Event) -> tuple[list[str], dict[str, int]]:
    """The stored ranking as marking codes (ranked by rank, then the unranked), and code → id."""
    codes = coded_entries(event)
    order = [row.entry_id for row in services.stored_results(event) if row.entry_id in codes]
    return [codes[entry_id] for entry_id in order], {codes[e]: e for e in order}


def _require_reviewer(actor: User, event: Event) -> None:
    if not has_permission(actor, Permission.RECHECK, event=event):
        raise NotAllowed(N_("Only the supervision panel reviews the scores."))


def start_review(
    actor: User, event: Event, *, now: datetime, seed: str | None = None
) -> ResultReview:
    """Draw the review sample with a recorded seed; one review per event (not redrawn)."""
    _require_reviewer(actor, event)
    if event.state is not EventState.UNDER_REVIEW:
        raise Conflict(N_("The review starts once the chief judge has submitted the totals."))
    if current_review(event) is not None:
        raise Conflict(N_("The review has started; its sample is not drawn again."))
    if not results_current(event):
        raise Conflict(N_("The stored results are not up to date yet; wait for the recompute."))
    ranking, ids = _ranked_codes(event)
    top_n, sample_pct, error_pct = review_params(event)
    seed = (seed or "").strip() or new_seed()
    sample = pick_recheck_sample(ranking, top_n=top_n, sample_pct=sample_pct, seed=seed)
    review = ResultReview(
        event_id=event.id,
        seed=seed,
        top_n=top_n,
        sample_pct=sample_pct,
        error_pct=error_pct,
        entry_ids=[ids[code] for code in sample.entries],
        full=False,
        is_current=True,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(review)
    db.session.flush()
    audit.record(
        actor,
        "review.started",
        review,
        after={
            "seed": seed,
            "top_n": top_n,
            "sample_pct": sample_pct,
            "error_pct": error_pct,
            "ranking": ranking,
            "top": list(sample.top),
            "sampled": list(sample.sampled),
            "rest": sample.rest_count,
        },
        competition_id=event.competition_id,
    )
    return review


def replay_sample(review: ResultReview) -> bool | None:
    """Draw the sample again from the recorded ranking and seed: True when identical.

    None when nothing can be replayed (a full recheck or an appeal review draws nothing)."""
    if review.full or is_appeal_review(review):
        return None
    logged = db.session.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.action == "review.started",
            AuditEntry.target_type == "ResultReview",
            AuditEntry.target_id == review.id,
        )
        .limit(1)
    )
    if logged is None or not logged.after or "ranking" not in logged.after:
        return None
    ranking = list(logged.after["ranking"])
    again = pick_recheck_sample(
        ranking, top_n=review.top_n, sample_pct=review.sample_pct, seed=review.seed
    )
    return list(again.entries) == list(logged.after["top"]) + list(logged.after["sampled"])


def _new_review(
    actor: User | None,
    event: Event,
    *,
    entry_ids: list[int],
    seed: str,
    full: bool,
    error_pct: Decimal,
    now: datetime,
) -> ResultReview:
    for earlier in db.session.scalars(
        select(ResultReview).where(
            ResultReview.event_id == event.id, ResultReview.is_current.is_(True)
        )
    ):
        earlier.is_current = False
    review = ResultReview(
        event_id=event.id,
        seed=seed,
        top_n=len(entry_ids) if full else 0,
        sample_pct=Decimal(100) if full else Decimal(0),
        error_pct=error_pct,
        entry_ids=entry_ids,
        full=full,
        is_current=True,
        created_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(review)
    db.session.flush()
    return review


def start_appeal_review(actor: User, event: Event, entry: Entry, appeal_id: int, *, now: datetime):
    """After an upheld appeal: a review of the appealed entry (no error-rate rule applies).

    When the current review is already an unfinished appeal review, the entry joins it."""
    if event.state is not EventState.UNDER_REVIEW:
        raise Conflict(N_("The results are not under review."))
    review = current_review(event)
    if review is not None and is_appeal_review(review) and not progress_of(review).complete:
        if entry.id not in review.entry_ids:
            review.entry_ids = [*review.entry_ids, entry.id]
            review.closed_at = review.closed_by_id = None
            db.session.flush()
    else:
        review = _new_review(
            actor,
            event,
            entry_ids=[entry.id],
            seed=f"{APPEAL_SEED}{appeal_id}",
            full=False,
            error_pct=Decimal(100),
            now=now,
        )
    audit.record(
        actor,
        "review.appeal_started",
        review,
        after={"appeal": appeal_id, "code": coded_entries(event).get(entry.id)},
        competition_id=event.competition_id,
    )
    return review


# ---------------------------------------------------------------- checking entries


def _check_target(review: ResultReview, entry: Entry, event: Event) -> None:
    if event.state is not EventState.UNDER_REVIEW:
        raise Conflict(N_("The results are not under review."))
    if review.event_id != event.id or not review.is_current:
        raise Conflict(N_("This review is no longer current; open the current one."))
    if entry.id not in review.entry_ids:
        raise InvalidInput(N_("This entry is not in the review."), field="code")
    if any(check.entry_id == entry.id for check in review.checks):
        raise Conflict(N_("This entry has already been checked in this review."))


def confirm_entry(
    actor: User,
    review: ResultReview,
    entry: Entry,
    *,
    note: str | None = None,
    now: datetime,
) -> ReviewCheck:
    """The reviewer found the entry's marks and figures right."""
    event = db.session.get(Event, review.event_id)
    _require_reviewer(actor, event)
    _check_target(review, entry, event)
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise InvalidInput(N_("The note is too long (2,000 characters at most)."), field="note")
    check = ReviewCheck(
        review=review,
        entry_id=entry.id,
        outcome=CheckOutcome.CONFIRMED,
        note=note,
        mark_event_ids=[],
        checked_by_id=actor.id,
        checked_at=now,
    )
    db.session.add(check)
    db.session.flush()
    _audit_check(actor, review, event, entry, check)
    _after_check(actor, review, event, now=now)
    return check


def correct_entry(
    actor: User,
    review: ResultReview,
    entry: Entry,
    changes: Sequence[Correction],
    *,
    reason: str | None,
    now: datetime,
) -> ReviewCheck:
    """An error found: the marks are corrected on the chain (with the reason) and the entry
    counts as an entry with an error. The caller recomputes the results after committing."""
    event = db.session.get(Event, review.event_id)
    _check_target(review, entry, event)
    links = correct_marks(actor, event, entry, changes, reason=reason, now=now)
    check = ReviewCheck(
        review=review,
        entry_id=entry.id,
        outcome=CheckOutcome.CORRECTED,
        note=(reason or "").strip(),
        mark_event_ids=[link.id for link in links],
        checked_by_id=actor.id,
        checked_at=now,
    )
    db.session.add(check)
    db.session.flush()
    _audit_check(actor, review, event, entry, check)
    _after_check(actor, review, event, now=now)
    return check


def _audit_check(actor, review, event, entry, check) -> None:
    audit.record(
        actor,
        f"review.{check.outcome.value}",
        check,
        after={
            "review": review.id,
            "code": coded_entries(event).get(entry.id),
            "outcome": check.outcome,
            "marks": check.mark_event_ids,
        },
        reason=check.note,
        event_id=event.id,
        competition_id=event.competition_id,
    )


def _after_check(actor: User, review: ResultReview, event: Event, *, now: datetime) -> None:
    """Close a complete review; a complete sample above the error threshold starts the full
    recheck of every entry."""
    progress = progress_of(review)
    if not progress.complete:
        return
    review.closed_at = now
    review.closed_by_id = actor.id
    db.session.flush()
    audit.record(
        actor,
        "review.completed",
        review,
        after={"checked": progress.checked, "errors": progress.errors, "rate": progress.rate},
        competition_id=event.competition_id,
    )
    if review.full or not progress.over_threshold:
        return
    order = [row.entry_id for row in services.stored_results(event)]
    coded = coded_entries(event)
    everything = [e for e in order if e in coded] + sorted(set(coded) - set(order))
    full = _new_review(
        actor,
        event,
        entry_ids=everything,
        seed=review.seed,
        full=True,
        error_pct=review.error_pct,
        now=now,
    )
    audit.record(
        actor,
        "review.full_recheck_started",
        full,
        after={
            "after_review": review.id,
            "checked": progress.checked,
            "errors": progress.errors,
            "rate": progress.rate,
            "threshold": review.error_pct,
            "entries": len(everything),
        },
        competition_id=event.competition_id,
    )


def store_totals(actor: User, event: Event, step, now: datetime) -> None:
    """Lifecycle hook on scoring locked: store the results from the complete chain, for the
    chief judge to submit. Results that cannot be computed yet (a missing theory score) leave
    ``totals_submitted`` false and the button says why; nothing is written then."""
    try:
        services.compute_results(event, now=now)  # refuses before writing anything
    except DomainError:
        return
    services.bump_results_version(event)


# ---------------------------------------------------------------- what the review page shows


@dataclass(frozen=True)
class MarkCell:
    judge_user_id: int
    mark: MarkEvent | None

    @property
    def value(self) -> Decimal | None:
        return None if self.mark is None or self.mark.value is None else Decimal(self.mark.value)


@dataclass(frozen=True)
class CriterionLine:
    criterion: SchemeCriterion
    figure: str | None  # the stored criterion score
    cells: tuple[MarkCell, ...]  # one per judge column


@dataclass(frozen=True)
class EntryLine:
    """One entry of a review: code (names only once unsealed), figures, marks, its check."""

    entry_id: int
    code: str
    name: str | None
    unit: str | None
    score: EntryScore | None
    check: ReviewCheck | None
    in_top: bool
    judges: tuple[tuple[int, str], ...]  # (judge user id, name): the columns of ``criteria``
    criteria: tuple[CriterionLine, ...]


def judge_names(event: Event) -> dict[int, str]:
    """Judge user id → the judge's name (panel members with an account)."""
    rows = db.session.execute(
        select(Judge.user_id, Judge.name)
        .join(PanelMember, PanelMember.judge_id == Judge.id)
        .where(PanelMember.event_id == event.id, Judge.user_id.is_not(None))
    ).all()
    return dict(rows)


def entry_lines(event: Event, review: ResultReview) -> list[EntryLine]:
    codes = coded_entries(event)
    scores = {row.entry_id: row for row in services.stored_results(event)}
    checks = {check.entry_id: check for check in review.checks}
    named = unsealed(event)
    judges = judge_names(event)
    criteria = []
    if event.scheme is not None:
        criteria = [c for m in event.scheme.modules for c in m.criteria]
    marks: dict[int, dict[tuple[int, int], MarkEvent]] = {}
    for (judge_id, entry_id, criterion_id), mark in current_marks(event).items():
        if entry_id in review.entry_ids:
            marks.setdefault(entry_id, {})[(judge_id, criterion_id)] = mark
    top = set(review.entry_ids[: review.top_n]) if not review.full else set()
    entries = {
        e.id: e
        for e in db.session.scalars(select(Entry).where(Entry.id.in_(review.entry_ids or [0])))
    }
    lines = []
    for entry_id in review.entry_ids:
        entry = entries.get(entry_id)
        cells = marks.get(entry_id, {})
        columns = tuple(
            (judge_id, judges.get(judge_id, f"#{judge_id}"))
            for judge_id in sorted({judge_id for judge_id, _c in cells})
        )
        score = scores.get(entry_id)
        lines.append(
            EntryLine(
                entry_id=entry_id,
                code=codes.get(entry_id, "—"),
                name=entry.display_name if named and entry else None,
                unit=entry.unit.name if named and entry and entry.unit else None,
                score=score,
                check=checks.get(entry_id),
                in_top=entry_id in top,
                judges=columns,
                criteria=tuple(
                    CriterionLine(
                        criterion=criterion,
                        figure=(score.criterion_scores or {}).get(criterion.code)
                        if score
                        else None,
                        cells=tuple(
                            MarkCell(judge_id, cells.get((judge_id, criterion.id)))
                            for judge_id, _name in columns
                        ),
                    )
                    for criterion in criteria
                ),
            )
        )
    return lines


def entry_by_code(event: Event, code: str | None) -> Entry:
    """The approved entry with marking code ``code`` in ``event`` (InvalidInput otherwise)."""
    code = (code or "").strip()
    entry_id = {c: e for e, c in coded_entries(event).items()}.get(code)
    if not code or entry_id is None:
        raise InvalidInput(N_("Choose an entry of the review."), field="code")
    return db.session.get(Entry, entry_id)


def changes_from(
    event: Event, entry: Entry, proposed: dict[tuple[int, int], str]
) -> list[Correction]:
    """The marks a correction form changes: ``{(judge user id, criterion id): typed value}``
    compared with the marks in force; blank or unchanged values are left out."""
    in_force = current_marks(event, entry_id=entry.id)
    changes = []
    for (judge_id, criterion_id), typed in sorted(proposed.items()):
        typed = (typed or "").strip().replace("，", ".").replace(",", ".")
        if not typed:
            continue
        try:
            value = Decimal(typed)
        except ArithmeticError:
            raise InvalidInput(
                N_("%(value)s is not a number."), field="marks", value=typed
            ) from None
        if not value.is_finite():
            raise InvalidInput(N_("%(value)s is not a number."), field="marks", value=typed)
        current = in_force.get((judge_id, entry.id, criterion_id))
        if current is not None and current.value is not None and Decimal(current.value) == value:
            continue
        changes.append(Correction(judge_id, criterion_id, value))
    return changes
