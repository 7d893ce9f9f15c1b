"""Registration: units and quotas, entries and their review, draws, tickets and check-in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from ... import audit
from ...domain import N_
from ...domain.draws import Session, draw_numbers, draw_stations, new_seed
from ...domain.eligibility import EligibilityRules, MemberFacts, check_member
from ...domain.errors import Conflict, InvalidInput, NotAllowed
from ...domain.grades import Grade
from ...domain.idnumber import mask_id_number
from ...domain.lifecycle import EventState
from ...domain.tokens import new_token
from ...extensions import db
from ...models import (
    CheckIn,
    Draw,
    DrawKind,
    Entry,
    EntryMember,
    EntryStatus,
    Event,
    Person,
    Unit,
    UnitQuota,
)
from .importer import (
    COLUMN,
    ImportContext,
    MemberInput,
    RegistrationImportError,
    RowProblem,
    read_rows,
    validate_rows,
)

ACTIVE = (EntryStatus.SUBMITTED, EntryStatus.APPROVED, EntryStatus.RETURNED)
REVIEW_STATES = (EventState.REGISTRATION_OPEN, EventState.REGISTRATION_CLOSED)
CHECKIN_STATES = (EventState.DRAWN, EventState.IN_PROGRESS)


class EntryProblem(InvalidInput):
    """A registration refused, with every reason (``problems``: (field, msgid, params))."""

    message = N_("The registration cannot be accepted.")

    def __init__(self, problems: list[tuple[str, str, dict]]):
        self.problems = problems
        field, message, params = problems[0]
        super().__init__(message, field=field, **params)


# ---------------------------------------------------------------- units and quotas


def create_unit(
    actor, *, name: str, kind: str = "enterprise", region: str = "", short_name: str = ""
) -> Unit:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(N_("A unit needs a name."), field="name")
    if db.session.scalar(select(Unit.id).where(Unit.name == name)):
        raise InvalidInput(N_("The unit %(name)s already exists."), field="name", name=name)
    unit = Unit(name=name, kind=kind, region=region.strip(), short_name=short_name.strip())
    db.session.add(unit)
    db.session.flush()
    audit.record(actor, "unit.created", unit, after={"name": name, "kind": kind})
    return unit


def default_quota(event: Event) -> int:
    return int(event.rules.get("entries_per_unit") or 1)


def quota_for(event: Event, unit: Unit) -> int:
    row = db.session.scalar(
        select(UnitQuota).where(UnitQuota.event_id == event.id, UnitQuota.unit_id == unit.id)
    )
    return row.quota if row is not None else default_quota(event)


def set_quota(
    actor,
    event: Event,
    unit: Unit,
    *,
    quota: int,
    team_leader: str = "",
    team_leader_phone: str = "",
) -> UnitQuota:
    if quota < 0 or quota > 1000:
        raise InvalidInput(N_("A quota is a whole number from 0 to 1000."), field="quota")
    used = active_entry_count(event, unit)
    if quota < used:
        raise Conflict(
            N_("%(unit)s already has %(used)s entries; the quota cannot be lower."),
            unit=unit.name,
            used=used,
        )
    row = db.session.scalar(
        select(UnitQuota).where(UnitQuota.event_id == event.id, UnitQuota.unit_id == unit.id)
    )
    before = {"quota": row.quota} if row else None
    if row is None:
        row = UnitQuota(event_id=event.id, unit_id=unit.id, quota=quota)
        db.session.add(row)
    row.quota = quota
    row.team_leader = team_leader.strip()
    row.team_leader_phone = team_leader_phone.strip()
    db.session.flush()
    audit.record(
        actor,
        "quota.set",
        row,
        before=before,
        after={"unit": unit.name, "quota": quota},
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return row


def active_entry_count(event: Event, unit: Unit) -> int:
    return (
        db.session.scalar(
            select(func.count(Entry.id)).where(
                Entry.event_id == event.id, Entry.unit_id == unit.id, Entry.status.in_(ACTIVE)
            )
        )
        or 0
    )


def event_units(event: Event) -> list[tuple[Unit, int, int]]:
    """Units with a quota row or an entry in ``event``: (unit, quota, entries in use)."""
    quotas = {
        q.unit_id: q.quota
        for q in db.session.scalars(select(UnitQuota).where(UnitQuota.event_id == event.id))
    }
    counts = dict(
        db.session.execute(
            select(Entry.unit_id, func.count(Entry.id))
            .where(Entry.event_id == event.id, Entry.status.in_(ACTIVE))
            .group_by(Entry.unit_id)
        ).all()
    )
    ids = set(quotas) | set(counts)
    units = (
        db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name)) if ids else []
    )
    default = default_quota(event)
    return [(u, quotas.get(u.id, default), counts.get(u.id, 0)) for u in units]


# ---------------------------------------------------------------- people and entries


def eligibility_rules(event: Event) -> EligibilityRules:
    # The start day where the event is held (an 07:30 start in Beijing is the day before in UTC).
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    ref = (
        event.start_at.astimezone(zone).date()
        if event.start_at
        else event.competition.start_date or date(event.competition.year, 1, 1)
    )
    return EligibilityRules.from_params(event.rules, group=event.group.value, age_ref_date=ref)


def _find_person(id_type, id_number) -> Person | None:
    return db.session.scalar(
        select(Person).where(Person.id_type == id_type, Person.id_number == id_number)
    )


PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_BOX = (600, 800)


def clean_photo(data: bytes) -> bytes:
    """A contestant's photo as a plain JPEG of at most 600×800: any image the browser sends is
    re-encoded, which drops its metadata (camera, place, time)."""
    if not data:
        raise InvalidInput(N_("The photo file is empty."), field="photo")
    if len(data) > PHOTO_MAX_BYTES:
        raise InvalidInput(N_("The photo is larger than 5 MB."), field="photo")
    try:
        with Image.open(BytesIO(data)) as image:
            image.verify()
        with Image.open(BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail(PHOTO_BOX)
            out = BytesIO()
            image.save(out, "JPEG", quality=85, optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(N_("The photo is not a JPEG or PNG image."), field="photo") from exc
    return out.getvalue()


def _set_photos(people: Sequence[Person], photos: Sequence[bytes | None]) -> None:
    for person, photo in zip(people, photos, strict=False):
        if photo:
            person.photo = photo
            person.photo_type = "image/jpeg"


def _person_for(member: MemberInput) -> Person:
    """The person with this ID, created on first registration; a different name is refused."""
    person = _find_person(member.id_type, member.id_number)
    if person is None:
        person = Person(
            name=member.name,
            gender=member.gender,
            id_type=member.id_type,
            id_number=member.id_number,
            birth_date=member.birth_date,
            phone=member.phone,
        )
        db.session.add(person)
        db.session.flush()
        return person
    if person.name != member.name:
        raise EntryProblem(
            [
                (
                    "id_number",
                    N_(
                        "This ID number is on file under another name; check the name and the number."
                    ),
                    {},
                )
            ]
        )
    if member.phone and member.phone != person.phone:
        person.phone = member.phone
    return person


def _registered_elsewhere(
    event: Event, person_ids: Iterable[int], exclude_entry: Entry | None = None
) -> list[tuple[str, str, dict]]:
    """People already in this event, or in an event the rules make exclusive.

    A person enters an event once (a unique key), so a withdrawn or rejected registration in
    this event also blocks a new one; in an exclusive event only a live registration counts.
    """
    codes = set(event.rules.get("exclusive_events") or [])
    event_ids = [event.id] + [e.id for e in event.competition.events if e.code in codes]
    rows = db.session.execute(
        select(EntryMember.person_id, Entry.id, Entry.status, Event.id, Event.code)
        .select_from(EntryMember)
        .join(Entry, Entry.id == EntryMember.entry_id)
        .join(Event, Event.id == Entry.event_id)
        .where(EntryMember.person_id.in_(list(person_ids)), EntryMember.event_id.in_(event_ids))
    ).all()
    problems = []
    for _person_id, entry_id, status, event_id, code in rows:
        if exclude_entry is not None and entry_id == exclude_entry.id:
            continue
        if event_id == event.id:
            problems.append(
                ("id_number", N_("This person is already registered in this event."), {})
                if status in ACTIVE
                else (
                    "id_number",
                    N_(
                        "This person's registration in this event was"
                        " withdrawn or rejected; they cannot be entered"
                        " again."
                    ),
                    {},
                )
            )
        elif status in ACTIVE:
            problems.append(
                (
                    "id_number",
                    N_(
                        "This person is already registered in the"
                        " event %(code)s, which excludes this one."
                    ),
                    {"code": code},
                )
            )
    return problems


def _check_members(event: Event, members: Sequence[MemberInput]) -> list[tuple[str, str, dict]]:
    problems = []
    if len(members) != event.team_size:
        problems.append(
            ("members", N_("This event takes teams of %(size)s."), {"size": event.team_size})
        )
    ids = [(m.id_type, m.id_number) for m in members]
    if len(set(ids)) != len(ids):
        problems.append(("members", N_("The same person is listed twice in the team."), {}))
    rules = eligibility_rules(event)
    for member in members:
        facts = MemberFacts(
            birth_date=member.birth_date,
            sex=member.gender,
            current_grade=Grade(member.current_grade) if member.current_grade is not None else None,
            group=member.group,
        )
        for item in check_member(facts, rules):
            problems.append((item.field, item.message, dict(item.params)))
    return problems


def _check_open(event: Event) -> None:
    if event.state is not EventState.REGISTRATION_OPEN:
        raise Conflict(N_("Registration for this event is not open."))


def _check_quota(event: Event, unit: Unit, *, adding: int = 1) -> None:
    quota, used = quota_for(event, unit), active_entry_count(event, unit)
    if used + adding > quota:
        raise Conflict(
            N_("%(unit)s has used its quota of %(quota)s for this event."),
            unit=unit.name,
            quota=quota,
        )
    limit = event.rules.get("max_entries")
    if limit:
        total = (
            db.session.scalar(
                select(func.count(Entry.id)).where(
                    Entry.event_id == event.id, Entry.status.in_(ACTIVE)
                )
            )
            or 0
        )
        if total + adding > int(limit):
            raise Conflict(N_("The event is full (%(limit)s entries)."), limit=limit)


def _clean_coaches(event: Event, coaches: Sequence[str]) -> list[dict]:
    names = [" ".join(c.split()) for c in coaches if c and c.strip()]
    if len(names) > event.max_coaches:
        raise InvalidInput(
            N_("At most %(n)s coaches per entry."), field="coaches", n=event.max_coaches
        )
    return [{"name": n} for n in names]


def _add_members(
    entry: Entry, event: Event, members: Sequence[MemberInput], people: Sequence[Person]
) -> None:
    """The entry's members in order; the first is the lead (主选手)."""
    for position, (member, person) in enumerate(zip(members, people, strict=True), start=1):
        entry.members.append(
            EntryMember(
                event_id=event.id,
                person_id=person.id,
                person=person,
                position=position,
                is_lead=position == 1,
                current_grade=member.current_grade,
                grade_certificate_no=member.grade_certificate_no,
                employer=member.employer,
                declared_group=member.group,
            )
        )


def register_entry(
    actor,
    event: Event,
    unit: Unit,
    *,
    members: Sequence[MemberInput],
    coaches: Sequence[str] = (),
    note: str = "",
    photos: Sequence[bytes | None] = (),
) -> Entry:
    """Submit a registration for review, if the event is open, within quota and eligible."""
    _check_open(event)
    _check_quota(event, unit)
    problems = _check_members(event, members)
    if problems:
        raise EntryProblem(problems)
    coach_rows = _clean_coaches(event, coaches)
    people = [_person_for(m) for m in members]
    if problems := _registered_elsewhere(event, [p.id for p in people]):
        raise EntryProblem(problems)
    _set_photos(people, photos)
    entry = Entry(
        event_id=event.id,
        unit_id=unit.id,
        status=EntryStatus.SUBMITTED,
        coaches=coach_rows,
        note=note.strip(),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(entry)
    _add_members(entry, event, members, people)
    db.session.flush()
    audit.record(
        actor,
        "entry.submitted",
        entry,
        after={"unit": unit.name, "members": [p.id for p in people]},
        competition_id=event.competition_id,
    )
    return entry


def resubmit_entry(
    actor,
    entry: Entry,
    *,
    members: Sequence[MemberInput],
    coaches: Sequence[str] = (),
    note: str = "",
    photos: Sequence[bytes | None] = (),
) -> Entry:
    """A unit fixes a returned registration (or edits one not yet decided)."""
    event = entry.event
    if entry.status not in (EntryStatus.RETURNED, EntryStatus.SUBMITTED):
        raise Conflict(N_("Only a returned or undecided registration can be changed."))
    if event.state not in REVIEW_STATES:
        raise Conflict(N_("Registrations can no longer be changed."))
    problems = _check_members(event, members)
    if problems:
        raise EntryProblem(problems)
    coach_rows = _clean_coaches(event, coaches)
    people = [_person_for(m) for m in members]
    if problems := _registered_elsewhere(event, [p.id for p in people], exclude_entry=entry):
        raise EntryProblem(problems)
    _set_photos(people, photos)
    before = {"members": [m.person_id for m in entry.members], "status": entry.status}
    entry.members.clear()
    db.session.flush()
    _add_members(entry, event, members, people)
    entry.coaches = coach_rows
    entry.note = note.strip()
    entry.status = EntryStatus.SUBMITTED
    entry.decision_reason = None
    db.session.flush()
    audit.record(
        actor,
        "entry.resubmitted",
        entry,
        before=before,
        after={"members": [p.id for p in people]},
        competition_id=event.competition_id,
    )
    return entry


WITHDRAW_STATES = (*REVIEW_STATES, EventState.DRAWN)


def withdraw_entry(actor, entry: Entry, *, reason: str) -> None:
    """A unit withdraws a registration before the event starts; later it is a 弃权 on the day."""
    if entry.status in (EntryStatus.WITHDRAWN, EntryStatus.REJECTED):
        raise Conflict(N_("This registration is already closed."))
    if entry.event.state not in WITHDRAW_STATES:
        raise Conflict(N_("Once the event has started, a withdrawal is recorded by the organiser."))
    if not reason.strip():
        raise InvalidInput(N_("Please give a reason."), field="reason")
    before = entry.status
    entry.status = EntryStatus.WITHDRAWN
    entry.decision_reason = reason.strip()
    db.session.flush()
    audit.record(
        actor,
        "entry.withdrawn",
        entry,
        before={"status": before},
        after={"status": entry.status},
        reason=reason.strip(),
        competition_id=entry.event.competition_id,
    )


DECISIONS = {
    "approve": EntryStatus.APPROVED,
    "return": EntryStatus.RETURNED,
    "reject": EntryStatus.REJECTED,
}


def _admission_no(entry: Entry) -> str:
    event = entry.event
    return f"{event.competition.year}{event.id:04d}{entry.id:05d}"


def decide_entry(actor, entry: Entry, *, decision: str, reason: str = "", now: datetime) -> Entry:
    """Approve, return with a reason (the unit can fix it) or reject with a reason."""
    event = entry.event
    if event.state not in REVIEW_STATES:
        raise Conflict(
            N_("Registrations are decided only while registration is open or under review.")
        )
    if decision not in DECISIONS:
        raise InvalidInput(N_("Unknown decision."), field="decision")
    if entry.status not in (EntryStatus.SUBMITTED, EntryStatus.APPROVED, EntryStatus.RETURNED):
        raise Conflict(N_("This registration is already closed."))
    target = DECISIONS[decision]
    if target is not EntryStatus.APPROVED and not reason.strip():
        raise InvalidInput(
            N_("Returning or rejecting a registration needs a reason."), field="reason"
        )
    before = entry.status
    entry.status = target
    entry.decision_reason = reason.strip() or None
    entry.decided_at = now
    entry.decided_by_id = getattr(actor, "id", None)
    if target is EntryStatus.APPROVED:
        entry.admission_no = entry.admission_no or _admission_no(entry)
        entry.qr_token = entry.qr_token or new_token()
    db.session.flush()
    audit.record(
        actor,
        f"entry.{decision}",
        entry,
        before={"status": before},
        after={"status": target},
        reason=entry.decision_reason,
        competition_id=event.competition_id,
    )
    return entry


def bulk_approve(actor, event: Event, entry_ids: Iterable[int], *, now: datetime) -> int:
    entries = db.session.scalars(
        select(Entry).where(
            Entry.event_id == event.id,
            Entry.id.in_(list(entry_ids)),
            Entry.status == EntryStatus.SUBMITTED,
        )
    ).all()
    for entry in entries:
        decide_entry(actor, entry, decision="approve", now=now)
    return len(entries)


def event_entries(event: Event, *, status: str | None = None, unit_id: int | None = None):
    stmt = select(Entry).where(Entry.event_id == event.id).order_by(Entry.id)
    if status:
        stmt = stmt.where(Entry.status == EntryStatus(status))
    if unit_id:
        stmt = stmt.where(Entry.unit_id == unit_id)
    return db.session.scalars(stmt).all()


def status_counts(event: Event) -> dict[str, int]:
    rows = db.session.execute(
        select(Entry.status, func.count(Entry.id))
        .where(Entry.event_id == event.id)
        .group_by(Entry.status)
    ).all()
    return {status.value: n for status, n in rows}


def entries_decided(event: Event, now: datetime | None = None) -> bool:
    """Every registration is decided and at least one is approved (a guard)."""
    counts = status_counts(event)
    undecided = counts.get("submitted", 0) + counts.get("returned", 0)
    return undecided == 0 and counts.get("approved", 0) > 0


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportOutcome:
    entries: int
    people_created: int
    warnings: list


def import_context(event: Event, *, unit: Unit | None, today: date) -> ImportContext:
    units = [unit] if unit else [u for u, _, _ in event_units(event)]
    quota_units = db.session.scalars(
        select(Unit).where(
            Unit.id.in_(select(UnitQuota.unit_id).where(UnitQuota.event_id == event.id))
        )
    ).all()
    if unit is None:
        units = list({u.id: u for u in [*units, *quota_units]}.values())
    counts = dict(
        db.session.execute(
            select(Unit.name, func.count(Entry.id))
            .join(Entry, Entry.unit_id == Unit.id)
            .where(Entry.event_id == event.id, Entry.status.in_(ACTIVE))
            .group_by(Unit.name)
        ).all()
    )
    quotas = {u.name: quota_for(event, u) for u in units}
    registered = db.session.execute(
        select(Person.id_type, Person.id_number)
        .select_from(Person)
        .join(EntryMember, EntryMember.person_id == Person.id)
        .join(Entry, Entry.id == EntryMember.entry_id)
        .where(EntryMember.event_id == event.id)
    ).all()  # withdrawn too: one entry per person
    return ImportContext(
        today=today,
        eligibility=eligibility_rules(event),
        team_size=event.team_size,
        unit_names=frozenset(u.name for u in units),
        default_unit=unit.name if unit else None,
        require_unit=unit is None,
        quotas=quotas,
        already_registered=counts,
        existing_people={},
        registered_ids=frozenset((t, n) for t, n in registered),
        max_coaches=event.max_coaches,
    )


def import_entries(
    actor,
    event: Event,
    *,
    unit: Unit | None,
    data: bytes,
    filename: str,
    today: date,
    progress: Callable[[int, int], None] | None = None,
) -> ImportOutcome:
    """Import a whole file or nothing: any bad row raises with every problem listed."""
    _check_open(event)
    try:
        rows = read_rows(data, filename)
    except RegistrationImportError as exc:
        raise ImportRejected(exc.problems) from exc
    ctx = import_context(event, unit=unit, today=today)
    result = validate_rows(rows, ctx)
    if result.problems:
        raise ImportRejected(result.problems, result.warnings)
    # People already on file under these (normalised) ID numbers must keep their name.
    members = [m for e in result.entries for m in e.members]
    known = {
        (p.id_type, p.id_number): p.name
        for p in db.session.scalars(
            select(Person).where(Person.id_number.in_([m.id_number for m in members]))
        )
    }
    if known:
        result = validate_rows(rows, replace(ctx, existing_people=known))
        if result.problems:
            raise ImportRejected(result.problems, result.warnings)
    units = {
        u.name: u
        for u in db.session.scalars(select(Unit).where(Unit.name.in_(list(ctx.unit_names))))
    }
    people = {
        (p.id_type, p.id_number): p
        for p in db.session.scalars(
            select(Person).where(
                Person.id_number.in_([m.id_number for e in result.entries for m in e.members])
            )
        )
    }
    _check_import_against_event(event, result.entries, people)
    created = 0
    total = len(result.entries)
    for index, item in enumerate(result.entries, start=1):
        entry = Entry(
            event_id=event.id,
            unit_id=units[item.unit_name].id,
            status=EntryStatus.SUBMITTED,
            coaches=[{"name": c} for c in item.coaches],
            created_by_id=getattr(actor, "id", None),
        )
        db.session.add(entry)
        for position, member in enumerate(item.members, start=1):
            person = people.get((member.id_type, member.id_number))
            if person is None:
                person = Person(
                    name=member.name,
                    gender=member.gender,
                    id_type=member.id_type,
                    id_number=member.id_number,
                    birth_date=member.birth_date,
                    phone=member.phone,
                )
                db.session.add(person)
                people[(member.id_type, member.id_number)] = person
                created += 1
            entry.members.append(
                EntryMember(
                    event_id=event.id,
                    person=person,
                    position=position,
                    is_lead=position == 1,
                    current_grade=member.current_grade,
                    grade_certificate_no=member.grade_certificate_no,
                    employer=member.employer,
                    declared_group=member.group,
                )
            )
        if progress and (index % 200 == 0 or index == total):
            progress(index, total)
    db.session.flush()
    audit.record(
        actor,
        "entries.imported",
        event,
        after={
            "entries": total,
            "people_created": created,
            "file": filename,
            "unit": unit.name if unit else None,
        },
        competition_id=event.competition_id,
        event_id=event.id,
    )
    return ImportOutcome(entries=total, people_created=created, warnings=result.warnings)


def _check_import_against_event(event: Event, entries, people: dict) -> None:
    """What the file checks cannot see: exclusive events and the event's overall limit."""
    problems = []
    for item in entries:
        for member in item.members:
            person = people.get((member.id_type, member.id_number))
            if person is None:
                continue
            for _field, message, params in _registered_elsewhere(event, [person.id]):
                problems.append(
                    RowProblem(
                        member.row,
                        COLUMN["id_number"].header,
                        mask_id_number(member.id_number),
                        message,
                        params,
                    )
                )
    limit = event.rules.get("max_entries")
    if limit:
        total = (
            db.session.scalar(
                select(func.count(Entry.id)).where(
                    Entry.event_id == event.id, Entry.status.in_(ACTIVE)
                )
            )
            or 0
        )
        if total + len(entries) > int(limit):
            problems.append(
                RowProblem(
                    None, None, None, N_("The event is full (%(limit)s entries)."), {"limit": limit}
                )
            )
    if problems:
        raise ImportRejected(problems)


class ImportRejected(InvalidInput):
    message = N_("The file has %(count)s problems; nothing was imported.")

    def __init__(self, problems, warnings=()):
        self.problems = list(problems)
        self.warnings = list(warnings)
        super().__init__(field="file", count=len(self.problems))


# ---------------------------------------------------------------- draws


def current_draw(event: Event, kind: DrawKind) -> Draw | None:
    return db.session.scalar(
        select(Draw).where(Draw.event_id == event.id, Draw.kind == kind, Draw.is_current.is_(True))
    )


def _new_draw(
    actor,
    event: Event,
    kind: DrawKind,
    *,
    seed: str,
    inputs: dict,
    result: dict,
    reason: str | None,
) -> Draw:
    previous = current_draw(event, kind)
    if previous is not None:
        if not (reason and reason.strip()):
            raise InvalidInput(
                N_("This draw has been made. A redraw needs a reason and is logged."),
                field="reason",
            )
        previous.is_current = False
    draw = Draw(
        event_id=event.id,
        kind=kind,
        seed=seed,
        inputs=inputs,
        result=result,
        supersedes_id=previous.id if previous else None,
        reason=(reason or "").strip() or None,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(draw)
    db.session.flush()
    audit.record(
        actor,
        "draw.redrawn" if previous else "draw.made",
        draw,
        after={"kind": kind, "seed": seed, "count": len(result)},
        reason=draw.reason,
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return draw


def draw_entry_numbers(
    actor,
    event: Event,
    *,
    seed: str | None = None,
    reason: str | None = None,
    prefix: str = "",
    width: int = 3,
) -> Draw:
    """The first draw (参赛号) over the approved entries, seeded and replayable."""
    if event.state not in (EventState.REGISTRATION_CLOSED, EventState.DRAWN):
        raise Conflict(
            N_("Entry numbers are drawn once registration has closed, before the event starts.")
        )
    if not entries_decided(event):
        raise Conflict(
            N_("Every registration must be decided, with at least one approved, before the draw.")
        )
    entries = event_entries(event, status=EntryStatus.APPROVED.value)
    ids = sorted(str(e.id) for e in entries)
    seed = seed or new_seed()
    numbers = draw_numbers(ids, seed=seed, prefix=prefix, width=width)
    draw = _new_draw(
        actor,
        event,
        DrawKind.ENTRY_NUMBER,
        seed=seed,
        inputs={"entries": ids, "prefix": prefix, "width": width},
        result=dict(numbers),
        reason=reason,
    )
    by_id = {str(e.id): e for e in entries}
    # Clear first, on every entry: numbers are unique per event, and an entry rejected since
    # the last draw keeps none.
    for entry in event_entries(event):
        entry.entry_number = None
    db.session.flush()
    for entry_id, number in numbers.items():
        by_id[entry_id].entry_number = number
    db.session.flush()
    return draw


def _sessions(sessions: Sequence[tuple[int, int]]) -> list[Session]:
    """Sessions (场次 number, stations); station codes are unique across sessions."""
    if len(sessions) == 1:
        number, capacity = sessions[0]
        return [
            Session(code=str(number), stations=tuple(f"{i:02d}" for i in range(1, capacity + 1)))
        ]
    return [
        Session(
            code=str(number), stations=tuple(f"{number}-{i:02d}" for i in range(1, capacity + 1))
        )
        for number, capacity in sessions
    ]


def _station_result(ids: Sequence[str], seed: str, sessions) -> dict[str, dict]:
    result = draw_stations(ids, seed=seed, sessions=_sessions(sessions))
    return {
        eid: {"station": s.station, "session": int(s.session), "order": s.run_order}
        for eid, s in result.items()
    }


def draw_station_numbers(
    actor,
    event: Event,
    *,
    sessions: Sequence[tuple[int, int]],
    seed: str | None = None,
    reason: str | None = None,
) -> Draw:
    """The second draw (赛位号, 场次, 顺序号) over entries holding an entry number."""
    if event.state not in (EventState.DRAWN, EventState.IN_PROGRESS):
        raise Conflict(N_("Stations are drawn once the event is drawn, at check-in."))
    entries = [e for e in event_entries(event, status=EntryStatus.APPROVED.value) if e.entry_number]
    if not entries:
        raise Conflict(N_("Draw the entry numbers first."))
    capacity = sum(c for _, c in sessions)
    if capacity < len(entries):
        raise InvalidInput(
            N_("The sessions hold %(capacity)s stations for %(n)s entries."),
            field="sessions",
            capacity=capacity,
            n=len(entries),
        )
    ids = sorted(str(e.id) for e in entries)
    seed = seed or new_seed()
    plain = _station_result(ids, seed, sessions)
    draw = _new_draw(
        actor,
        event,
        DrawKind.STATION,
        seed=seed,
        inputs={"entries": ids, "sessions": [list(s) for s in sessions]},
        result=plain,
        reason=reason,
    )
    by_id = {str(e.id): e for e in entries}
    for entry in event_entries(event):  # stations are unique per event, as numbers are
        entry.station_number = None
    db.session.flush()
    for entry_id, place in plain.items():
        entry = by_id[entry_id]
        entry.station_number = place["station"]
        entry.session_no = place["session"]
        entry.run_order = place["order"]
    db.session.flush()
    return draw


def replay_draw(actor, draw: Draw) -> bool:
    """Recompute a draw from its seed and inputs; True when the result is identical."""
    if draw.kind is DrawKind.ENTRY_NUMBER:
        again = dict(
            draw_numbers(
                draw.inputs["entries"],
                seed=draw.seed,
                prefix=draw.inputs.get("prefix", ""),
                width=draw.inputs.get("width", 3),
            )
        )
    else:
        again = _station_result(
            draw.inputs["entries"], draw.seed, [tuple(s) for s in draw.inputs["sessions"]]
        )
    identical = again == draw.result
    audit.record(
        actor, "draw.replayed", draw, after={"identical": identical}, event_id=draw.event_id
    )
    return identical


# ---------------------------------------------------------------- check-in


@dataclass(frozen=True)
class CheckInResult:
    entry: Entry
    check_in: CheckIn
    created: bool


def find_entry_for_checkin(event: Event, *, code: str) -> Entry | None:
    """An approved entry of ``event`` by its QR token or typed admission number."""
    code = (code or "").strip()
    if not code:
        return None
    if "/" in code:  # a scanned URL: the token is its last part
        code = code.rstrip("/").rsplit("/", 1)[-1]
    entry = db.session.scalar(
        select(Entry).where(
            Entry.event_id == event.id, (Entry.qr_token == code) | (Entry.admission_no == code)
        )
    )
    if entry is None or entry.status is not EntryStatus.APPROVED:
        return None
    return entry


def check_in(actor, event: Event, entry: Entry, *, method: str, now: datetime) -> CheckInResult:
    """Mark ``entry`` present once; a repeat answers with the first check-in."""
    if event.state not in CHECKIN_STATES:
        raise Conflict(N_("Check-in is open once the draw is made and while the event runs."))
    if entry.event_id != event.id or entry.status is not EntryStatus.APPROVED:
        raise NotAllowed(N_("This ticket is not for this event."))
    existing = db.session.scalar(select(CheckIn).where(CheckIn.entry_id == entry.id))
    if existing is not None:
        return CheckInResult(entry, existing, created=False)
    row = CheckIn(
        entry_id=entry.id,
        event_id=event.id,
        at=now,
        by_id=getattr(actor, "id", None),
        method=method,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        actor,
        "entry.checked_in",
        entry,
        after={"method": method},
        competition_id=event.competition_id,
    )
    return CheckInResult(entry, row, created=True)


def absentees(event: Event) -> list[Entry]:
    checked = select(CheckIn.entry_id).where(CheckIn.event_id == event.id)
    return db.session.scalars(
        select(Entry)
        .where(
            Entry.event_id == event.id,
            Entry.status == EntryStatus.APPROVED,
            Entry.id.not_in(checked),
        )
        .order_by(Entry.entry_number, Entry.id)
    ).all()
