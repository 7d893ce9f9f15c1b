"""A ranked event at any lifecycle stage, built straight in the database for tests of what comes
after scoring (publication, awards, certificates, QR pages, nomination).

``ranked_event(n=37)`` makes a competition and an event (default preset: Guangdong 省级二类,
employee group), a scheme of one practical module (M1, two criteria 60 + 40), ``n`` units with
one approved contestant each (real-looking names and valid ID numbers), drawn numbers, stations,
admission numbers, QR tokens and marking codes, and stored ``EntryScore`` rows ranked by the
pure engine. ``finals`` gives the final scores in entry order (default 95.00, 94.50, … ); equal
finals stay tied unless ``modules`` separates them. At ``PUBLICITY`` or later every anonymisation
layer is open and a current ``Publication`` exists; at ``FINAL`` or later it is finalised.
The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from compete.blueprints.competitions.schemes import add_criterion, add_module
from compete.blueprints.judging.unseal import LAYERS
from compete.demo import demo_people
from compete.domain.lifecycle import EventState
from compete.domain.ranking import rank_entries
from compete.domain.scoring import EntryResult
from compete.domain.tokens import new_token
from compete.extensions import db
from compete.models import (
    Entry,
    EntryMember,
    EntryScore,
    EntryStatus,
    Person,
    Publication,
    ReviewCode,
    Unit,
    Unsealing,
)

from .factories import make_competition, make_event

NOW = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)
AFTER_PUBLICATION = (EventState.PUBLICITY, EventState.FINAL, EventState.AWARDS_ISSUED)


@dataclass
class Scenario:
    event_id: int
    competition_id: int
    entry_ids: list[int]  # in the order given (entry 0 has finals[0])
    person_ids: list[int]
    unit_ids: list[int]
    tokens: list[str]  # QR tokens, same order
    codes: list[str]  # marking codes, same order
    publication_id: int | None = None
    extra: dict = field(default_factory=dict)


def ranked_event(
    n: int = 37,
    *,
    finals: list[object] | None = None,
    modules: list[object] | None = None,
    grades: list[int | None] | None = None,
    state: EventState | str = EventState.FINAL,
    group: str = "employee",
    preset_version=None,
    competition=None,
    occupation: str = "电工",
    people_seed: int = 2026,
    published_at: datetime = NOW,
) -> Scenario:
    state = EventState(state)
    finals = [
        Decimal(str(v)) for v in (finals or [Decimal(95) - Decimal("0.5") * i for i in range(n)])
    ]
    if len(finals) != n:
        raise ValueError("finals must have n values")
    modules = [Decimal(str(v)) for v in (modules or finals)]
    competition = competition or make_competition()
    fields = {"group": group, "occupation": occupation}
    if preset_version is not None:
        fields["preset_version"] = preset_version
    event = make_event(competition, **fields)
    module = add_module(None, event, code="M1", name="实操")
    for code, top in (("C1", 60), ("C2", 40)):
        add_criterion(
            None,
            event,
            module,
            code=code,
            description=code,
            kind="measurement",
            max_mark=Decimal(top),
            step=Decimal("0.5"),
            judges=1,
            aggregation=None,
            tolerance=None,
        )
    people = demo_people(n, seed=people_seed)
    entries, persons, units, tokens, codes = [], [], [], [], []
    for i, (name, sex, number, phone) in enumerate(people):
        unit = Unit(name=f"{occupation}参赛单位{event.id}-{i + 1:03d}", region="广州市")
        person = Person(name=name, gender=sex, id_number=number, phone=phone)
        db.session.add_all([unit, person])
        db.session.flush()
        entry = Entry(
            event_id=event.id,
            unit_id=unit.id,
            status=EntryStatus.APPROVED,
            entry_number=f"{i + 1:03d}",
            station_number=f"S{i + 1:03d}",
            admission_no=f"A{event.id:03d}{i + 1:04d}",
            qr_token=new_token(),
            coaches=[{"name": f"教练{i + 1}", "phone": ""}],
        )
        db.session.add(entry)
        db.session.flush()
        grade = grades[i] if grades is not None else 3
        db.session.add(
            EntryMember(
                entry_id=entry.id,
                event_id=event.id,
                person_id=person.id,
                position=1,
                is_lead=True,
                current_grade=grade,
                employer=unit.name,
                declared_group=group,
            )
        )
        code = f"R{i + 1:03d}"
        db.session.add(ReviewCode(event_id=event.id, entry_id=entry.id, code=code))
        entries.append(entry)
        persons.append(person)
        units.append(unit)
        tokens.append(entry.qr_token)
        codes.append(code)
    db.session.flush()

    results = [
        EntryResult(
            entry_id=str(entry.id),
            criterion_scores={},
            module_scores={"M1": modules[i]},
            practical=finals[i],
            theory=None,
            final=finals[i],
            passed=finals[i] >= 60,
        )
        for i, entry in enumerate(entries)
    ]
    places = {p.entry_id: p for p in rank_entries(results, module_order=(("M1", Decimal(100)),))}
    for result in results:
        place = places[result.entry_id]
        db.session.add(
            EntryScore(
                event_id=event.id,
                entry_id=int(result.entry_id),
                criterion_scores={},
                module_scores={k: str(v) for k, v in result.module_scores.items()},
                practical=result.practical,
                theory=None,
                final=result.final,
                passed=result.passed,
                rank=place.rank,
                needs_decision=place.needs_decision,
                computed_at=published_at - timedelta(hours=1),
                marks_seq=event.mark_seq,
            )
        )
    scenario = Scenario(
        event_id=event.id,
        competition_id=competition.id,
        entry_ids=[e.id for e in entries],
        person_ids=[p.id for p in persons],
        unit_ids=[u.id for u in units],
        tokens=tokens,
        codes=codes,
    )
    if state in AFTER_PUBLICATION or state is EventState.UNDER_REVIEW:
        for layer in LAYERS:
            db.session.add(
                Unsealing(
                    event_id=event.id,
                    layer=layer,
                    requested_at=published_at - timedelta(minutes=30),
                    confirmed_at=published_at - timedelta(minutes=20),
                )
            )
    if state in AFTER_PUBLICATION:
        publication = Publication(
            event_id=event.id,
            published_at=published_at,
            publicity_start=published_at.date(),
            publicity_end=published_at.date() + timedelta(days=6),
            appeal_deadline=published_at + timedelta(hours=2),
            chain_head=event.mark_head,
            marks_seq=event.mark_seq,
        )
        if state is not EventState.PUBLICITY:
            publication.finalised_at = published_at + timedelta(days=8)
        db.session.add(publication)
        db.session.flush()
        scenario.publication_id = publication.id
    event.state = state
    event.results_version = (event.results_version or 0) + 1
    db.session.flush()
    return scenario


def publicity_day(published_at: datetime = NOW) -> date:
    return published_at.date()
