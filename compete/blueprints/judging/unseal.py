"""Unsealing (解密): the anonymisation layers opened in reverse, one by one, by two people.

评审号 → 赛位号 → 参赛号 → 选手 (C RULES "逆向逐层"): an encryption judge requests each layer
and a supervisor, another person, confirms it; only then is the layer open. Each step is a
row in ``Unsealing`` and an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict, InvalidInput, NotAllowed
from ...domain.lifecycle import EventState
from ...extensions import db
from ...models import Entry, Event, ReviewCode, Role, User
from ...models.unsealing import Unsealing
from ...permissions import _in_scope

# In the order they are opened; each needs the one before it.
LAYERS = ("review_code", "station", "entry_number", "person")
LAYER_LABELS = {
    "review_code": N_("Marking code → station (评审号 → 赛位号)"),
    "station": N_("Station → entry number (赛位号 → 参赛号)"),
    "entry_number": N_("Entry number → admission (参赛号 → 准考证号)"),
    "person": N_("Contestant and unit (选手)"),
}
OPEN_STATES = (
    EventState.UNDER_REVIEW,
    EventState.PUBLICITY,
    EventState.FINAL,
    EventState.AWARDS_ISSUED,
)


@dataclass(frozen=True)
class LayerState:
    layer: str
    row: Unsealing | None
    available: bool  # the layer before it is open

    @property
    def status(self) -> str:  # sealed, requested, open
        if self.row is None:
            return "sealed"
        return "open" if self.row.is_open else "requested"


def _holds(user: User, role: Role, event: Event) -> bool:
    return any(
        a.role is role and _in_scope(a, competition=event.competition, event=event, unit=None)
        for a in user.assignments
    )


def _rows(event: Event) -> dict[str, Unsealing]:
    rows = db.session.scalars(select(Unsealing).where(Unsealing.event_id == event.id))
    return {row.layer: row for row in rows}


def layers(event: Event) -> list[LayerState]:
    rows = _rows(event)
    states, previous_open = [], True
    for layer in LAYERS:
        row = rows.get(layer)
        states.append(LayerState(layer=layer, row=row, available=previous_open))
        previous_open = row is not None and row.is_open
    return states


def unsealed(event: Event, now: datetime | None = None) -> bool:
    """Lifecycle guard: every layer open."""
    rows = _rows(event)
    return all(layer in rows and rows[layer].is_open for layer in LAYERS)


def unseal_step(user: User, event: Event, layer: str, *, now: datetime) -> Unsealing:
    """Request (encryption judge) or confirm (supervisor, another person) one layer."""
    if layer not in LAYERS:
        raise InvalidInput(N_("Choose a layer to unseal."), field="layer")
    if event.state not in OPEN_STATES:
        raise Conflict(N_("Unsealing starts only once the scores are submitted and rechecked."))
    rows = _rows(event)
    index = LAYERS.index(layer)
    if index > 0:
        before = rows.get(LAYERS[index - 1])
        if before is None or not before.is_open:
            raise Conflict(N_("Open the layers in order: the layer before this one is sealed."))
    row = rows.get(layer)
    if row is not None and row.is_open:
        raise Conflict(N_("This layer is already open."))
    context = {"competition_id": event.competition_id, "event_id": event.id}
    if row is None:
        if not _holds(user, Role.ENCRYPTION_JUDGE, event):
            raise NotAllowed(N_("An encryption judge starts the unsealing of each layer."))
        row = Unsealing(event_id=event.id, layer=layer, requested_by_id=user.id, requested_at=now)
        db.session.add(row)
        db.session.flush()
        audit.record(
            user,
            "unseal.requested",
            row,
            after={"layer": layer, "role": Role.ENCRYPTION_JUDGE.value, "at": now.isoformat()},
            **context,
        )
        return row
    if row.requested_by_id == user.id:
        raise NotAllowed(N_("A second person, a supervisor, must confirm the unsealing."))
    if not _holds(user, Role.SUPERVISOR, event):
        raise NotAllowed(N_("A supervisor confirms the unsealing of each layer."))
    row.confirmed_by_id = user.id
    row.confirmed_at = now
    db.session.flush()
    audit.record(
        user,
        "unseal.confirmed",
        row,
        after={"layer": layer, "role": Role.SUPERVISOR.value, "at": now.isoformat()},
        **context,
    )
    return row


def mapping(event: Event) -> tuple[list[str], list[list[str]]]:
    """The columns open so far and one row per coded entry (sealed layers are left out)."""
    states = {s.layer: s.status == "open" for s in layers(event)}
    columns = [N_("Marking code")]  # msgids: the page shows them in the reader's language
    if states["review_code"]:
        columns.append(N_("Station"))
    if states["station"]:
        columns.append(N_("Entry number"))
    if states["entry_number"]:
        columns.append(N_("Admission number"))
    if states["person"]:
        columns += [N_("Contestant"), N_("Unit")]
    rows = []
    pairs = db.session.execute(
        select(ReviewCode.code, Entry)
        .join(Entry, Entry.id == ReviewCode.entry_id)
        .where(ReviewCode.event_id == event.id)
        .order_by(ReviewCode.code)
    ).all()
    for code, entry in pairs:
        row = [code]
        if states["review_code"]:
            row.append(entry.station_number or "—")
        if states["station"]:
            row.append(entry.entry_number or "—")
        if states["entry_number"]:
            row.append(entry.admission_no or "—")
        if states["person"]:
            row += [entry.display_name or "—", entry.unit.name if entry.unit else "—"]
        rows.append(row)
    return columns, rows
