"""Certificate checks through the API: the verification page's data for a number, valid or
revoked; a mistyped number is a 422, an unknown one a 404; never a full name or ID number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from compete.blueprints.awards import certificates as service
from compete.domain.awards import Award
from compete.domain.lifecycle import EventState
from compete.domain.people import mask_name
from compete.domain.tokens import CHECK_ALPHABET, certificate_number
from compete.extensions import db
from compete.models import AwardGrant, Event, Person

from ..factories import make_competition, make_user
from ..scenario import ranked_event
from .conftest import bearer, make_token, schema_errors

NOW = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
ISSUER = "广东省人力资源和社会保障厅"


@dataclass(frozen=True)
class Issued:
    numbers: list[str]  # first prize, second prize
    names: list[str]
    id_numbers: list[str]
    prefix: str
    token: str


@pytest.fixture
def issued(app) -> Issued:
    with app.app_context():
        competition = make_competition(name="技能大赛", organiser=ISSUER, year=2026)
        s = ranked_event(3, state=EventState.FINAL, competition=competition)
        for entry_id, award in zip(s.entry_ids, (Award.FIRST, Award.SECOND, None), strict=True):
            db.session.add(
                AwardGrant(
                    event_id=s.event_id,
                    entry_id=entry_id,
                    award=None if award is None else award.value,
                )
            )
        db.session.flush()
        event = db.session.get(Event, s.event_id)
        report = service.issue_certificates(None, event, now=NOW)
        by_person = {c.person_id: c for c in report.issued}
        first, second = by_person[s.person_ids[0]], by_person[s.person_ids[1]]
        service.revoke_certificate(None, second, reason="成绩更正", now=NOW)
        people = [db.session.get(Person, pid) for pid in s.person_ids[:2]]
        token = make_token(make_user())  # any signed-in token holder may check a certificate
        db.session.commit()
        return Issued(
            numbers=[first.number, second.number],
            names=[p.name for p in people],
            id_numbers=[p.id_number for p in people],
            prefix=service.number_prefix(competition),
            token=token,
        )


def _check(client, issued: Issued, number: str, *, token: bool = True):
    headers = bearer(issued.token) if token else {}
    return client.get(f"/api/v1/certificates/{number}", headers=headers)


def test_valid_certificate_shows_the_verification_data(client, issued):
    response = _check(client, issued, issued.numbers[0])
    assert response.status_code == 200
    body = response.get_json()
    assert schema_errors(body, "Certificate") == []
    assert body["number"] == issued.numbers[0]
    assert body["status"] == "valid"
    assert body["kind"] == "award"
    assert body["masked_name"] == mask_name(issued.names[0])
    assert body["issuer"] == ISSUER
    assert body["competition"] == "技能大赛"
    assert body["issued_on"] == "2027-01-05"
    assert body["revoked_on"] is None
    assert body["wording"]
    text = response.get_data(as_text=True)
    assert issued.names[0] not in text
    assert issued.id_numbers[0] not in text


def test_revoked_certificate_says_so(client, issued):
    body = _check(client, issued, issued.numbers[1]).get_json()
    assert body["status"] == "revoked"
    assert body["revoked_on"] == "2027-01-05"
    assert body["masked_name"] == mask_name(issued.names[1])


def test_number_as_typed_by_hand(client, issued):
    number = issued.numbers[0]
    typed = f"{number[:4]}-{number[4:8]} {number[8:]}".lower()
    response = _check(client, issued, typed)
    assert response.status_code == 200
    assert response.get_json()["number"] == number


def test_mistyped_number_gets_422(client, issued):
    number = issued.numbers[0]
    wrong = next(c for c in CHECK_ALPHABET if c != number[-1])
    response = _check(client, issued, number[:-1] + wrong)
    assert response.status_code == 422
    body = response.get_json()
    assert body["field"] == "number"
    assert schema_errors(body, "Error") == []


@pytest.mark.parametrize("number", ["x", "%E4%B8%AD%E6%96%87", "A" * 200])
def test_garbage_gets_422(client, issued, number):
    assert _check(client, issued, number).status_code == 422


def test_unknown_number_gets_404(client, issued):
    unknown = certificate_number(issued.prefix, 2026, 999_999)
    response = _check(client, issued, unknown)
    assert response.status_code == 404
    assert schema_errors(response.get_json(), "Error") == []


def test_needs_a_token(client, issued):
    assert _check(client, issued, issued.numbers[0], token=False).status_code == 401
