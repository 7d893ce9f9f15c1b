"""Registrations through the API: reviewers read the event's entries, a unit contact only their
unit's, with ID numbers and phones masked unless a personal-data holder asks (and is audited)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from compete.domain.idnumber import mask_id_number
from compete.domain.lifecycle import EventState
from compete.domain.people import mask_phone
from compete.extensions import db
from compete.models import AuditEntry, Entry, EntryMember, EntryStatus, Person, Role

from ..factories import make_user
from ..scenario import ranked_event
from .conftest import bearer, make_token, schema_errors


@dataclass(frozen=True)
class Registrations:
    event_id: int
    other_event_id: int
    unit_ids: list[int]  # unit 0 has two entries here (one submitted) and one in the other event
    entry_ids: list[int]  # the three ranked entries, then unit 0's submitted one
    names: list[str]
    id_numbers: list[str]
    phones: list[str]
    tokens: dict[str, str]


@pytest.fixture
def regs(app) -> Registrations:
    with app.app_context():
        s = ranked_event(3, state=EventState.DRAWN)
        other = ranked_event(1, state=EventState.DRAWN, people_seed=7)
        unit0 = s.unit_ids[0]
        person = Person(name="欧阳娜娜", gender="F", id_number="440106199505051234", phone="")
        db.session.add(person)
        db.session.flush()
        extra = Entry(event_id=s.event_id, unit_id=unit0, status=EntryStatus.SUBMITTED)
        db.session.add(extra)
        db.session.flush()
        db.session.add(
            EntryMember(
                entry_id=extra.id,
                event_id=s.event_id,
                person_id=person.id,
                position=1,
                is_lead=True,
            )
        )
        # unit 0 also sends someone to the other event: not listed under this event
        db.session.get(Entry, other.entry_ids[0]).unit_id = unit0
        people = [db.session.get(Person, pid) for pid in s.person_ids] + [person]
        users = {
            "organiser": make_user(Role.ORGANISER, competition_id=s.competition_id),
            "other_organiser": make_user(Role.ORGANISER, competition_id=other.competition_id),
            "unit0": make_user(Role.UNIT_CONTACT, unit_id=unit0),
            "unit1": make_user(Role.UNIT_CONTACT, unit_id=s.unit_ids[1]),
            "judge": make_user(Role.JUDGE, event_id=s.event_id),
            "chief": make_user(Role.CHIEF_JUDGE, event_id=s.event_id),
        }
        tokens = {key: make_token(user) for key, user in users.items()}
        db.session.commit()
        return Registrations(
            event_id=s.event_id,
            other_event_id=other.event_id,
            unit_ids=s.unit_ids,
            entry_ids=[*s.entry_ids, extra.id],
            names=[p.name for p in people],
            id_numbers=[p.id_number for p in people],
            phones=[p.phone for p in people],
            tokens=tokens,
        )


def _event_url(regs, query: str = "") -> str:
    return f"/api/v1/events/{regs.event_id}/registrations{query}"


def _unit_url(regs, unit: int, query: str = "", event_id: int | None = None) -> str:
    event_id = event_id or regs.event_id
    return f"/api/v1/units/{regs.unit_ids[unit]}/events/{event_id}/registrations{query}"


def _get(client, regs, who: str, url: str):
    return client.get(url, headers=bearer(regs.tokens[who]))


def test_reviewer_reads_every_entry_masked(client, regs):
    response = _get(client, regs, "organiser", _event_url(regs))
    assert response.status_code == 200
    body = response.get_json()
    assert schema_errors(body, "RegistrationPage") == []
    assert body["total"] == 4
    assert [item["id"] for item in body["items"]] == regs.entry_ids
    first = body["items"][0]
    assert first["status"] == "approved"
    assert first["entry_number"] == "001"
    assert first["unit"]["id"] == regs.unit_ids[0]
    [member] = first["members"]
    assert member["name"] == regs.names[0]
    assert member["id_number"] == mask_id_number(regs.id_numbers[0])
    assert member["phone"] == mask_phone(regs.phones[0])
    assert regs.id_numbers[0] not in response.get_data(as_text=True)
    assert regs.phones[0] not in response.get_data(as_text=True)
    submitted = body["items"][3]
    assert submitted["status"] == "submitted"
    assert submitted["entry_number"] is None
    assert submitted["members"][0]["phone"] == ""


def test_full_numbers_for_a_personal_data_holder_are_audited(app, client, regs):
    response = _get(client, regs, "organiser", _event_url(regs, "?full=1&per_page=2"))
    assert response.status_code == 200
    members = [m for item in response.get_json()["items"] for m in item["members"]]
    assert [m["id_number"] for m in members] == regs.id_numbers[:2]
    assert [m["phone"] for m in members] == regs.phones[:2]
    with app.app_context():
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "entries.read_full")
        ).all()
        assert entry.event_id == regs.event_id
        assert entry.after["entry_ids"] == regs.entry_ids[:2]
        assert entry.after["via"] == "api"


def test_masked_reads_are_not_audited_as_full(app, client, regs):
    assert _get(client, regs, "organiser", _event_url(regs, "?full=0")).status_code == 200
    with app.app_context():
        stmt = select(AuditEntry).where(AuditEntry.action == "entries.read_full")
        assert db.session.scalars(stmt).all() == []


def test_unit_contact_reads_only_their_units_entries_masked(client, regs):
    response = _get(client, regs, "unit0", _unit_url(regs, 0))
    assert response.status_code == 200
    body = response.get_json()
    assert schema_errors(body, "RegistrationPage") == []
    assert [item["id"] for item in body["items"]] == [regs.entry_ids[0], regs.entry_ids[3]]
    assert {item["unit"]["id"] for item in body["items"]} == {regs.unit_ids[0]}
    assert body["items"][0]["members"][0]["id_number"] == mask_id_number(regs.id_numbers[0])
    text = response.get_data(as_text=True)
    assert regs.names[1] not in text and regs.names[2] not in text


def test_unit_contact_may_not_ask_for_full_numbers(client, regs):
    response = _get(client, regs, "unit0", _unit_url(regs, 0, "?full=1"))
    assert response.status_code == 403
    assert regs.id_numbers[0] not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        ("unit0", lambda r: _event_url(r), 403),  # the event-wide list is the reviewers'
        ("unit0", lambda r: _unit_url(r, 1), 403),  # another unit
        ("unit1", lambda r: _unit_url(r, 0), 403),
        ("judge", lambda r: _event_url(r), 403),
        ("chief", lambda r: _event_url(r), 403),
        ("other_organiser", lambda r: _event_url(r), 403),
        ("organiser", lambda r: _unit_url(r, 0), 403),  # organisers read the event-wide list
        ("organiser", lambda r: f"/api/v1/events/{r.other_event_id}/registrations", 403),
        ("organiser", lambda r: "/api/v1/events/999999/registrations", 404),
        ("organiser", lambda r: "/api/v1/events/99999999999999999999/registrations", 404),
        ("unit0", lambda r: _unit_url(r, 0, event_id=999999), 404),
    ],
)
def test_access_follows_the_registration_pages(client, regs, who, url, status):
    response = _get(client, regs, who, url(regs))
    assert response.status_code == status
    assert schema_errors(response.get_json(), "Error") == []


def test_unit_contact_of_the_other_event_sees_that_entry_there(client, regs):
    response = _get(client, regs, "unit0", _unit_url(regs, 0, event_id=regs.other_event_id))
    assert response.status_code == 200
    assert response.get_json()["total"] == 1


def test_status_filter_and_paging(client, regs):
    body = _get(client, regs, "organiser", _event_url(regs, "?status=submitted")).get_json()
    assert [item["id"] for item in body["items"]] == [regs.entry_ids[3]]
    body = _get(client, regs, "organiser", _event_url(regs, "?per_page=3&page=2")).get_json()
    assert (body["total"], body["page"], body["per_page"]) == (4, 2, 3)
    assert [item["id"] for item in body["items"]] == [regs.entry_ids[3]]


@pytest.mark.parametrize(
    "query", ["?status=lost", "?status=", "?full=yes", "?full=2", "?page=0", "?per_page=500"]
)
def test_bad_query_values_get_422(client, regs, query):
    response = _get(client, regs, "organiser", _event_url(regs, query))
    assert response.status_code == 422
    body = response.get_json()
    assert body["field"] == query[1:].split("=")[0]
    assert schema_errors(body, "Error") == []


def test_no_token_gets_401(client, regs):
    assert client.get(_event_url(regs)).status_code == 401
    assert client.get(_unit_url(regs, 0)).status_code == 401
