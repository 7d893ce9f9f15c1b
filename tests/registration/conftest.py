"""Registration data: a competition with one event open for registration and two units, built
and committed in a short app context; tests act through the client with the returned ids."""

from __future__ import annotations

import html as html_lib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask_babel import gettext
from openpyxl import load_workbook
from sqlalchemy import func, select

from compete.blueprints.competitions import schemes
from compete.blueprints.competitions.lifecycle import transition_event
from compete.blueprints.registration import services
from compete.blueprints.registration.importer import SHEET_TITLE, MemberInput, build_template
from compete.domain.idnumber import IdType, parse_id_number, with_check_digit
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import (
    Competition,
    Entry,
    EntryStatus,
    Event,
    Role,
    RoleAssignment,
    Unit,
    User,
)

from ..factories import csrf_from, make_competition, make_event, make_unit, make_user

# The event starts 2026-10-01 09:00 in Beijing: the reference date for ages is 2026-10-01.
START = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
UNIT_NAME = "广州市技师学院"
OTHER_UNIT_NAME = "深圳技师学院"


def id_for(born: date, seq: int = 123, area: str = "440106") -> str:
    """A valid resident ID number; an odd ``seq`` is a man, an even one a woman."""
    return with_check_digit(f"{area}{born:%Y%m%d}{seq:03d}")


def with_wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


ZHANG = id_for(date(1990, 3, 7), 123)  # 张三, man
LI = id_for(date(1995, 12, 31), 246)  # 李四, woman
WANG = id_for(date(1988, 5, 20), 135)  # 王五, man
ZHAO = id_for(date(1992, 1, 15), 357)  # 赵六, man


@dataclass(frozen=True)
class World:
    competition: int
    event: int
    unit: int
    other_unit: int
    organiser: int  # a user id (not signed in): the actor for set-up steps


def scheme_of_100(event: Event) -> None:
    module = schemes.add_module(None, event, code="M1", name="实操")
    schemes.add_criterion(
        None,
        event,
        module,
        code="M1.1",
        description="工艺",
        kind="measurement",
        max_mark=Decimal("100"),
        step=Decimal("0.5"),
        judges=1,
        aggregation="sum",
        tolerance=None,
    )


def open_event(competition, organiser: User, **fields) -> Event:
    """A new event with a complete scheme, moved to registration_open through the lifecycle."""
    fields.setdefault("start_at", START)
    event = make_event(competition, **fields)
    scheme_of_100(event)
    transition_event(organiser, event, "registration_open", reason=None, now=NOW)
    return event


@pytest.fixture
def world(app) -> World:
    """2026 广东省 电工 competition: event E01 (individual) open, two units with quota 1 each."""
    with app.app_context():
        competition = make_competition(name="2026年广东省电工职业技能竞赛", year=2026)
        organiser = make_user(Role.ORGANISER, competition_id=competition.id)
        event = open_event(competition, organiser, code="E01", name="电工")
        unit = make_unit(name=UNIT_NAME)
        other = make_unit(name=OTHER_UNIT_NAME, region="深圳市")
        db.session.commit()
        return World(competition.id, event.id, unit.id, other.id, organiser.id)


# ---------------------------------------------------------------- data set-up in an app context


def another_event(
    app, world: World, code: str, name: str, *, new_competition: bool = False, **fields
) -> int:
    """One more event open for registration, in the same competition or a new one."""
    with app.app_context():
        organiser = db.session.get(User, world.organiser)
        competition = db.session.get(Competition, world.competition)
        if new_competition:
            competition = make_competition(name=f"2026年{name}技能竞赛", year=2026)
            db.session.add(
                RoleAssignment(
                    user_id=organiser.id, role=Role.ORGANISER, competition_id=competition.id
                )
            )
            db.session.flush()
            db.session.refresh(organiser)
        event_id = open_event(competition, organiser, code=code, name=name, **fields).id
        db.session.commit()
        return event_id


def member(name: str, number: str, phone: str = "13812345678", grade: int | None = None):
    """A checked member as the form or the importer would hand it to the services."""
    info = parse_id_number(number, today=date(2026, 6, 1))
    return MemberInput(
        name=name,
        gender=info.sex,
        id_type=IdType.RESIDENT_ID,
        id_number=info.number,
        birth_date=info.birth_date,
        phone=phone,
        current_grade=grade,
        grade_certificate_no="",
        employer="",
        row=0,
    )


def register(app, event_id: int, unit_id: int, *people: tuple[str, str]) -> int:
    """Register one entry (``people`` = (name, id number), the lead first); returns its id."""
    with app.app_context():
        event, unit = db.session.get(Event, event_id), db.session.get(Unit, unit_id)
        entry = services.register_entry(
            None, event, unit, members=[member(name, number) for name, number in people]
        )
        db.session.commit()
        return entry.id


def set_state(app, event_id: int, state: EventState | str) -> None:
    with app.app_context():
        db.session.get(Event, event_id).state = EventState(state)
        db.session.commit()


def set_overrides(app, event_id: int, **overrides) -> None:
    with app.app_context():
        event = db.session.get(Event, event_id)
        event.overrides = {**(event.overrides or {}), **overrides}
        db.session.commit()


def set_quota(app, world: World, unit_id: int, quota: int) -> None:
    with app.app_context():
        services.set_quota(
            db.session.get(User, world.organiser),
            db.session.get(Event, world.event),
            db.session.get(Unit, unit_id),
            quota=quota,
        )
        db.session.commit()


def decide(app, entry_id: int, decision: str = "approve", reason: str = "") -> None:
    with app.app_context():
        entry = db.session.get(Entry, entry_id)
        services.decide_entry(None, entry, decision=decision, reason=reason, now=NOW)
        db.session.commit()


def approved_event(app, world: World, count: int = 3) -> list[int]:
    """``count`` approved entries (quota raised), registration closed; returns entry ids."""
    set_quota(app, world, world.unit, count)
    people = [("张三", ZHANG), ("李四", LI), ("王五", WANG), ("赵六", ZHAO)]
    ids = [register(app, world.event, world.unit, p) for p in people[:count]]
    for entry_id in ids:
        decide(app, entry_id)
    set_state(app, world.event, EventState.REGISTRATION_CLOSED)
    return ids


def draw_numbers(app, event_id: int, seed: str = "seed-1") -> int:
    with app.app_context():
        draw = services.draw_entry_numbers(None, db.session.get(Event, event_id), seed=seed)
        db.session.commit()
        return draw.id


def drawn_event(app, world: World, count: int = 3) -> list[int]:
    """Approved entries with entry numbers drawn and the event marked drawn."""
    ids = approved_event(app, world, count)
    draw_numbers(app, world.event)
    set_state(app, world.event, EventState.DRAWN)
    return ids


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def entry_statuses(app, event_id: int) -> list[EntryStatus]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Entry.status).where(Entry.event_id == event_id).order_by(Entry.id)
            )
        )


# ---------------------------------------------------------------- pages and files


def text(app, msgid: str, **params) -> str:
    """``msgid`` in the language the pages use by default."""
    with app.test_request_context():
        return gettext(msgid, **params)


def page(response) -> str:
    """The page's HTML with entities decoded, to compare with plain messages."""
    return html_lib.unescape(response.get_data(as_text=True))


def flashes(response) -> list[str]:
    return [
        html_lib.unescape(m.strip())
        for m in re.findall(
            r'<p class="flash flash-\w+">([^<]*)</p>', response.get_data(as_text=True), re.S
        )
    ]


@pytest.fixture
def csrf(client):
    """The signed-in user's CSRF token (one per session)."""

    def _token(path: str = "/") -> str:
        return csrf_from(client.get(path).get_data(as_text=True))

    return _token


def entry_form(token: str, *people: dict, coaches: str = "", note: str = "") -> dict:
    """The registration form as a browser sends it; each person a dict of member fields."""
    data = {"csrf_token": token, "coaches": coaches, "note": note}
    for index, person in enumerate(people):
        values = {
            "id_type": "resident_id",
            "phone": "13812345678",
            "current_grade": "",
            "grade_certificate_no": "",
            "employer": "",
            "gender": "",
            "birth_date": "",
            **person,
        }
        for key, value in values.items():
            data[f"members-{index}-{key}"] = value
    return data


def workbook(rows: Sequence[dict], *, team_size: int = 1) -> bytes:
    """The real template, filled with ``rows`` (dicts keyed by Chinese header)."""
    wb = load_workbook(io.BytesIO(build_template(team_size=team_size)))
    sheet = wb[SHEET_TITLE]
    headers = [cell.value for cell in sheet[1]]
    for offset, row in enumerate(rows, start=2):
        for header, value in row.items():
            sheet.cell(row=offset, column=headers.index(header) + 1, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_text(rows: Sequence[dict]) -> str:
    headers = list(dict.fromkeys(h for row in rows for h in row))
    lines = [",".join(headers)] + [",".join(str(r.get(h, "")) for h in headers) for r in rows]
    return "\r\n".join(lines) + "\r\n"
