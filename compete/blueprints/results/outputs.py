"""Results outputs: the organisers' results list (Excel, PDF), the publicity notice (公示), the
public results page and the big screen.

Everything here reads the stored rows (``services.stored_results``); nothing recomputes. What a
document shows depends on who reads it and when:

- organisers (results list): before every anonymisation layer is open, marking codes only, never
  names, units or entry numbers; after, names and units, with ID numbers masked
  (``4401**********1234``, the event's ``id_mask``) unless a holder of ``PERSONAL_DATA_VIEW``
  asks for the full list, which is audited like every export;
- the public (notice, results page, big screen): nothing before publication; after, rank, name,
  unit, final score and award of the ranked entries: no ID number, phone or birth date (§7).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from io import BytesIO

from flask import render_template
from flask_babel import gettext
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ... import audit
from ...domain import N_
from ...domain.awards import AWARD_LABELS
from ...domain.idnumber import mask_id_number
from ...domain.tiers import GROUP_LABELS
from ...extensions import db
from ...models import (
    AwardGrant,
    Competition,
    Entry,
    EntryMember,
    EntryScore,
    Event,
    Publication,
    ReviewCode,
)
from ...pdf import html_to_pdf
from ..judging.unseal import unsealed
from ..registration.tickets import page_counter_css
from . import services

TIE_KEY_LABELS: Mapping[str, str] = {
    "top_module": N_("the heaviest module"),
    "all_modules": N_("the modules in order"),
    "practical": N_("the practical score"),
    "theory": N_("the theory score"),
    "time": N_("the completion time"),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def award_label(value: str | None) -> str:
    """The award's name in the user's language; "" for none, the raw value if unknown."""
    if not value:
        return ""
    try:
        return gettext(AWARD_LABELS[value])
    except KeyError:
        return value


def current_awards(event: Event) -> dict[int, str | None]:
    """Entry id → ``Award`` value from the event's current allocation (empty if none yet)."""
    stmt = select(AwardGrant.entry_id, AwardGrant.award).where(
        AwardGrant.event_id == event.id, AwardGrant.is_current.is_(True)
    )
    return {entry_id: award for entry_id, award in db.session.execute(stmt)}


def tie_note_text(raw: str | None, *, names: Mapping[str, str], needs_decision: bool) -> str:
    """A stored tie note (JSON naming the entry above by marking code) as a sentence.

    ``names`` maps a marking code to what the reader may see instead (the entry number once
    unsealed); an unknown code is shown as it is.
    """
    parts = []
    if raw:
        note = json.loads(raw)
        above = names.get(note.get("above") or "", note.get("above") or "")
        key = note.get("key")
        if key == "shared":
            parts.append(gettext("equal to %(code)s on every key", code=above))
        elif key == "decision":
            parts.append(gettext("below %(code)s by decision", code=above))
        elif note.get("module"):
            parts.append(
                gettext(
                    "below %(code)s on module %(module)s (%(value)s < %(other)s)",
                    code=above,
                    module=note["module"],
                    value=note.get("value") or "—",
                    other=note.get("above_value") or "—",
                )
            )
        else:
            label = TIE_KEY_LABELS.get(key or "")
            parts.append(
                gettext(
                    "below %(code)s on %(key)s (%(value)s vs %(other)s)",
                    code=above,
                    key=gettext(label) if label else key,
                    value=note.get("value") or "—",
                    other=note.get("above_value") or "—",
                )
            )
    if needs_decision:
        parts.append(gettext("needs a decision"))
    return " · ".join(parts)


def _decimal(value: object) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def _entries(event: Event, entry_ids: Iterable[int]) -> dict[int, Entry]:
    ids = list(entry_ids)
    if not ids:
        return {}
    stmt = (
        select(Entry)
        .where(Entry.event_id == event.id, Entry.id.in_(ids))
        .options(
            joinedload(Entry.unit),
            selectinload(Entry.members).joinedload(EntryMember.person),
        )
    )
    return {entry.id: entry for entry in db.session.scalars(stmt).unique()}


def _codes(event: Event) -> dict[int, str]:
    stmt = select(ReviewCode.entry_id, ReviewCode.code).where(ReviewCode.event_id == event.id)
    return {entry_id: code for entry_id, code in db.session.execute(stmt)}


def _people(entry: Entry | None):
    if entry is None:
        return []
    return [m.person for m in sorted(entry.members, key=lambda m: (not m.is_lead, m.position))]


# ---------------------------------------------------------------- organisers' results list


@dataclass(frozen=True)
class ModuleColumn:
    code: str
    name: str


@dataclass(frozen=True)
class ResultLine:
    """One stored row as the organisers' list shows it (identity blank while sealed)."""

    entry_id: int
    rank: int | None
    code: str  # marking code (评审号)
    entry_number: str
    name: str
    unit: str
    id_numbers: tuple[str, ...]  # masked unless the full list was asked for
    theory: Decimal | None
    modules: tuple[Decimal | None, ...]  # in the order of ``ResultsList.modules``
    practical: Decimal
    final: Decimal
    passed: bool
    award: str  # label, "" when none
    note: str  # tie-break note, "" when none


@dataclass(frozen=True)
class ResultsList:
    competition: str
    event_code: str
    event_name: str
    occupation: str
    group: str  # label
    state: str  # label
    modules: tuple[ModuleColumn, ...]
    lines: tuple[ResultLine, ...]
    sealed: bool  # identities hidden: the codes are not unsealed yet
    full_ids: bool
    has_theory: bool
    has_awards: bool
    marks_seq: int | None  # the chain length the stored rows come from
    chain_head: str | None  # the published chain head, if published
    generated_at: datetime


def results_list(event: Event, *, full_ids: bool = False, now: datetime) -> ResultsList:
    """The stored results of ``event`` as the organisers' list (see the module docstring)."""
    from ..competitions.lifecycle import STATE_LABELS  # imports this package: import late

    rows = services.stored_results(event)
    sealed = not unsealed(event)
    full_ids = full_ids and not sealed
    codes = _codes(event)
    entries = {} if sealed else _entries(event, (row.entry_id for row in rows))
    awards = current_awards(event)
    head, tail = (event.rules.get("id_mask") or (4, 4))[:2]
    modules = tuple(
        ModuleColumn(code=m.code, name=m.name)
        for m in (event.scheme.modules if event.scheme else [])
    )
    # Tie notes name the entry above by marking code; once unsealed, by its entry number.
    names = {code: entries[e].entry_number or code for e, code in codes.items() if e in entries}
    lines = []
    for row in rows:
        entry = entries.get(row.entry_id)
        people = _people(entry)
        lines.append(
            ResultLine(
                entry_id=row.entry_id,
                rank=row.rank,
                code=codes.get(row.entry_id, ""),
                entry_number="" if entry is None else (entry.entry_number or ""),
                name="" if entry is None else "、".join(p.name for p in people),
                unit="" if entry is None else entry.unit.name,
                id_numbers=tuple(
                    p.id_number if full_ids else mask_id_number(p.id_number, int(head), int(tail))
                    for p in people
                ),
                theory=_decimal(row.theory),
                modules=tuple(_decimal((row.module_scores or {}).get(m.code)) for m in modules),
                practical=Decimal(row.practical),
                final=Decimal(row.final),
                passed=row.passed,
                award=award_label(awards.get(row.entry_id)),
                note=tie_note_text(row.tie_note, names=names, needs_decision=row.needs_decision),
            )
        )
    publication = services.current_publication(event)
    return ResultsList(
        competition=event.competition.name,
        event_code=event.code,
        event_name=event.name,
        occupation=event.occupation,
        group=gettext(GROUP_LABELS[event.group]),
        state=gettext(STATE_LABELS[event.state]),
        modules=modules,
        lines=tuple(lines),
        sealed=sealed,
        full_ids=full_ids,
        has_theory=any(line.theory is not None for line in lines),
        has_awards=bool(awards),
        marks_seq=rows[0].marks_seq if rows else None,
        chain_head=publication.chain_head if publication else None,
        generated_at=now,
    )


def _columns(rl: ResultsList) -> list[tuple[str, str, int]]:
    """(key, header, width) of each column, identity columns only once unsealed."""
    columns = [("rank", gettext("Rank"), 8), ("code", gettext("Marking code"), 12)]
    if not rl.sealed:
        columns += [
            ("entry_number", gettext("Entry no."), 10),
            ("name", gettext("Name"), 14),
            ("unit", gettext("Unit"), 30),
            ("id_numbers", gettext("ID number"), 22),
        ]
    if rl.has_theory:
        columns.append(("theory", gettext("Theory"), 9))
    columns += [
        (f"module:{i}", gettext("Module %(code)s", code=m.code), 10)
        for i, m in enumerate(rl.modules)
    ]
    columns += [
        ("practical", gettext("Practical"), 10),
        ("final", gettext("Final score"), 10),
        ("award", gettext("Award"), 12),
        ("note", gettext("Tie-break"), 36),
    ]
    return columns


def _cell(line: ResultLine, key: str):
    if key == "rank":
        return line.rank if line.rank is not None else gettext("unranked")
    if key == "id_numbers":
        return "、".join(line.id_numbers)
    if key.startswith("module:"):
        return line.modules[int(key.split(":", 1)[1])]
    return getattr(line, key)


NUMBER_KEYS = ("theory", "practical", "final")
CENTS = Decimal("0.01")


def _show(value) -> str:
    """A cell as printed: scores with two decimals, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value.quantize(CENTS))
    return str(value)


def results_workbook(rl: ResultsList) -> bytes:
    """The results list as an Excel workbook: the list on sheet 1, what it is on sheet 2."""
    wb = Workbook()
    ws = wb.active
    ws.title = gettext("Results")[:31]
    columns = _columns(rl)
    ws.append([header for _key, header, _width in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    ws.freeze_panes = "A2"
    for line in rl.lines:
        ws.append([_cell(line, key) for key, _header, _width in columns])
    for index, (key, _header, width) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = width
        for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
            if key in NUMBER_KEYS or key.startswith("module:"):
                cell.number_format = "0.00"
            elif key in ("code", "entry_number", "id_numbers"):
                cell.number_format = "@"
    info = wb.create_sheet(gettext("About")[:31])
    facts = [
        (gettext("Competition"), rl.competition),
        (gettext("Event"), f"{rl.event_code} {rl.event_name}"),
        (gettext("Occupation"), rl.occupation),
        (gettext("Group"), rl.group),
        (gettext("State"), rl.state),
        (gettext("Marks in the chain"), rl.marks_seq if rl.marks_seq is not None else ""),
        (gettext("Score chain head"), rl.chain_head or ""),
        (gettext("Exported at"), rl.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        (
            gettext("Identities"),
            gettext("sealed: marking codes only")
            if rl.sealed
            else gettext("full ID numbers")
            if rl.full_ids
            else gettext("ID numbers masked"),
        ),
    ]
    for label, value in facts:
        info.append([label, value])
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 70
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def results_html(rl: ResultsList) -> str:
    """The results list as a printable document (A4 landscape)."""
    return render_template(
        "results/export_pdf.html",
        rl=rl,
        columns=_columns(rl),
        cell=lambda line, key: _show(_cell(line, key)),
        number_keys=NUMBER_KEYS,
        page_counter=page_counter_css(),
    )


def export_results(
    actor, event: Event, *, fmt: str, full_ids: bool = False, now: datetime
) -> tuple[bytes, ResultsList]:
    """The results list as ``xlsx`` or ``pdf``; the export is audited (the caller commits)."""
    rl = results_list(event, full_ids=full_ids, now=now)
    data = results_workbook(rl) if fmt == "xlsx" else html_to_pdf(results_html(rl))
    audit.record(
        actor,
        "results.exported",
        event,
        after={
            "format": fmt,
            "full_ids": rl.full_ids,
            "sealed": rl.sealed,
            "rows": len(rl.lines),
        },
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return data, rl


# ---------------------------------------------------------------- public outputs


@dataclass(frozen=True)
class PublicLine:
    """What the public sees of a ranked entry: no ID number, phone or birth date."""

    rank: int
    name: str
    unit: str
    final: Decimal
    award: str  # label, "" when none


def public_lines(event: Event) -> list[PublicLine]:
    """The ranked entries of a published event, by rank (the caller checks publication)."""
    rows = [row for row in services.stored_results(event) if row.rank is not None]
    entries = _entries(event, (row.entry_id for row in rows))
    awards = current_awards(event)
    lines = []
    for row in rows:
        entry = entries.get(row.entry_id)
        if entry is None:
            continue
        lines.append(
            PublicLine(
                rank=row.rank,
                name="、".join(p.name for p in _people(entry)),
                unit=entry.unit.name,
                final=Decimal(row.final),
                award=award_label(awards.get(row.entry_id)),
            )
        )
    return lines


def entrant_count(event: Event) -> int:
    """How many entries have a stored result (ranked or not): the N of "rank r of N"."""
    stmt = select(func.count()).select_from(EntryScore).where(EntryScore.event_id == event.id)
    return db.session.scalar(stmt) or 0


def published(event: Event) -> Publication | None:
    """The publication in force if the public may see the event's results, else None."""
    if event.state not in services.PUBLISHED_STATES:
        return None
    return services.current_publication(event)


def page_key(kind: str, event: Event, publication: Publication | None, locale: str, *extra):
    """A cache key naming everything a public page of ``event`` shows."""
    return (
        kind,
        event.id,
        event.public_code,
        event.results_version,
        event.state.value,
        event.code,
        event.name,
        event.competition.name,
        publication.id if publication else None,
        locale,
        *extra,
    )


@dataclass(frozen=True)
class Notice:
    """The publicity notice (公示): the window, how to appeal, the ranked list, the chain head."""

    competition: Competition
    event: Event
    group: str
    publication: Publication
    lines: list[PublicLine]
    entrants: int
    final: bool


def notice(event: Event, publication: Publication) -> Notice:
    return Notice(
        competition=event.competition,
        event=event,
        group=gettext(GROUP_LABELS[event.group]),
        publication=publication,
        lines=public_lines(event),
        entrants=entrant_count(event),
        final=services.is_final(event),
    )


def notice_pdf(event: Event, publication: Publication) -> bytes:
    """The notice as an A4 PDF to post and archive."""
    html = render_template(
        "results/notice_pdf.html", n=notice(event, publication), page_counter=page_counter_css()
    )
    return html_to_pdf(html)


def published_events(competition: Competition) -> list[tuple[Event, Publication]]:
    """The competition's events the public may see, by code, each with its publication."""
    events = [e for e in competition.events if e.state in services.PUBLISHED_STATES]
    if not events:
        return []
    stmt = (
        select(Publication)
        .where(
            Publication.event_id.in_([e.id for e in events]),
            Publication.withdrawn_at.is_(None),
        )
        .order_by(Publication.id)
    )
    newest = {p.event_id: p for p in db.session.scalars(stmt)}  # later rows win
    return [(e, newest[e.id]) for e in events if e.id in newest]


def ranked_counts(events: Sequence[Event]) -> dict[int, int]:
    """Event id → number of ranked entries, in one query."""
    if not events:
        return {}
    stmt = (
        select(EntryScore.event_id, func.count())
        .where(EntryScore.event_id.in_([e.id for e in events]), EntryScore.rank.is_not(None))
        .group_by(EntryScore.event_id)
    )
    return {event_id: count for event_id, count in db.session.execute(stmt)}


@dataclass(frozen=True)
class Slide:
    """One screenful of the big screen: a page of one published event's ranking."""

    event: Event
    publication: Publication
    page: int  # from 0
    pages: int


def screen_slides(competition: Competition, *, rows: int) -> list[Slide]:
    """The big screen's slides: each published event's ranking in pages of ``rows``."""
    pairs = published_events(competition)
    counts = ranked_counts([event for event, _ in pairs])
    slides = []
    for event, publication in pairs:
        pages = max(1, math.ceil(counts.get(event.id, 0) / rows))
        slides.extend(Slide(event, publication, page, pages) for page in range(pages))
    return slides
