"""The chief judge's signed score protocol (评分记录表) as a PDF: A4 landscape.

One table per module: rows are marking codes (评审号), columns the module's criteria, each cell
every judge's mark in force (J1…Jn by panel seat), the number of marks against the number
expected and a flag where the judges disagree beyond the tolerance. Then a summary per judge,
the head and length of the mark chain with the result of checking it, and signature lines.

Judges see marking codes only before unsealing (domain §4.3): the protocol never shows a
contestant's name, unit, admission or entry number, only the codes.

Rendering uses Flask's ``render_template``: call these functions inside a request or app
context. WeasyPrint loads the stylesheets from the static folder on disk, never the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import render_template
from sqlalchemy import select

from ... import audit
from ...extensions import db
from ...models import Entry, Event, PanelMember, PanelRole, ReviewCode
from ...pdf import html_to_pdf
from ..registration.tickets import schedule
from . import services


@dataclass(frozen=True)
class JudgeMark:
    label: str  # J1…Jn
    value: str  # "8.50", or "—" when this judge has not marked yet


@dataclass(frozen=True)
class ProtocolCell:
    marks: tuple[JudgeMark, ...]  # only the judges expected to mark this cell
    marked: int
    expected: int
    flagged: bool


@dataclass(frozen=True)
class ProtocolRow:
    code: str
    cells: tuple[ProtocolCell, ...]


@dataclass(frozen=True)
class ModuleTable:
    code: str
    name: str
    criteria: tuple[tuple[str, str, str], ...]  # (code, description, max mark)
    rows: tuple[ProtocolRow, ...]


@dataclass(frozen=True)
class JudgeLine:
    label: str
    name: str
    role: str  # 裁判长 or 评分裁判
    module: str
    given: int
    expected: int


@dataclass(frozen=True)
class Protocol:
    competition: str
    event_code: str
    event_name: str
    when: str
    modules: tuple[ModuleTable, ...]
    judges: tuple[JudgeLine, ...]
    chain_head: str
    chain_length: int
    broken_link: int | None
    flags: int
    done: int
    cells: int
    printed_at: str

    @property
    def chain_intact(self) -> bool:
        return self.broken_link is None


def _fmt(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value):.2f}"


def _marking_members(event: Event) -> list[PanelMember]:
    """The marking judges in panel-seat order, as ``services.panel_progress`` counts them."""
    return [
        m for m in services.panel_of(event) if m.role in services.MARKING_ROLES and m.judge.user_id
    ]


def build_protocol(event: Event, *, now: datetime) -> Protocol:
    """What the protocol shows, built from the marks in force and the chain as stored."""
    progress = services.panel_progress(event)
    members = _marking_members(event)
    labels = {m.id: f"J{i}" for i, m in enumerate(members, start=1)}
    codes = dict(
        db.session.execute(
            select(ReviewCode.code, ReviewCode.entry_id).where(ReviewCode.event_id == event.id)
        ).all()
    )
    units = dict(
        db.session.execute(select(Entry.id, Entry.unit_id).where(Entry.event_id == event.id)).all()
    )
    marks = services.current_marks(event)

    modules: dict[int, tuple] = {}
    for criterion in progress.criteria:
        module = criterion.module
        modules.setdefault(module.id, (module, []))[1].append(criterion)

    tables = []
    for module, criteria in modules.values():
        markers = [m for m in members if m.module_code in (None, module.code)]
        rows = []
        for code in progress.codes:
            entry_id = codes[code]
            cells = []
            for criterion in criteria:
                cell = progress.cells[(code, criterion.id)]
                shown = []
                for m in markers:
                    if m.judge.unit_id is not None and m.judge.unit_id == units.get(entry_id):
                        continue  # recused: never marks their own unit's contestant
                    mark = marks.get((m.judge.user_id, entry_id, criterion.id))
                    shown.append(JudgeMark(labels[m.id], _fmt(mark.value if mark else None)))
                cells.append(
                    ProtocolCell(
                        marks=tuple(shown),
                        marked=cell.marked,
                        expected=cell.expected,
                        flagged=cell.flagged,
                    )
                )
            rows.append(ProtocolRow(code=code, cells=tuple(cells)))
        tables.append(
            ModuleTable(
                code=module.code,
                name=module.name,
                criteria=tuple((c.code, c.description, _fmt(c.max_mark)) for c in criteria),
                rows=tuple(rows),
            )
        )

    judges = tuple(
        JudgeLine(
            label=labels[m.id],
            name=m.judge.name,
            role="裁判长" if m.role is PanelRole.CHIEF else "评分裁判",
            module=m.module_code or "全部",
            given=given,
            expected=expected,
        )
        for m, (_name, given, expected) in zip(members, progress.judges, strict=True)
    )
    competition = event.competition
    return Protocol(
        competition=competition.name,
        event_code=event.code,
        event_name=event.name,
        when=schedule(
            event.start_at or competition.start_date, event.end_at or competition.end_date
        ),
        modules=tuple(tables),
        judges=judges,
        chain_head=event.mark_head,
        chain_length=event.mark_seq,
        broken_link=services.verify_marks(event),
        flags=progress.flags,
        done=progress.done,
        cells=len(progress.cells),
        printed_at=f"{now:%Y-%m-%d %H:%M} UTC",
    )


def protocol_html(protocol: Protocol) -> str:
    return render_template("judging/protocol_pdf.html", p=protocol)


def protocol_pdf(protocol: Protocol) -> bytes:
    """The PDF; WeasyPrint's base is the static folder on disk, never the app's URL."""
    return html_to_pdf(protocol_html(protocol))


def print_protocol(actor, event: Event, *, now: datetime) -> tuple[bytes, Protocol]:
    """The protocol PDF; the download is audited with the chain head (the caller commits)."""
    protocol = build_protocol(event, now=now)
    pdf = protocol_pdf(protocol)
    audit.record(
        actor,
        "protocol.printed",
        event,
        after={
            "chain_head": protocol.chain_head,
            "chain_length": protocol.chain_length,
            "broken_link": protocol.broken_link,
        },
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return pdf, protocol
