"""Results through the API: readers of the results list see the stored rows at any time (by
marking code while sealed); everyone else only once published, as the public page shows them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from compete.domain.awards import Award
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import AwardGrant, Person, Role

from ..factories import make_user
from ..scenario import ranked_event
from .conftest import bearer, make_token, schema_errors

FINALS = ["95", "90.5", "90.5", "70", "55"]


@dataclass(frozen=True)
class Ranked:
    event_id: int
    entry_ids: list[int]
    codes: list[str]
    names: list[str]
    tokens: dict[str, str]


def _ranked(app, state: EventState, *, awards: bool = False) -> Ranked:
    with app.app_context():
        s = ranked_event(len(FINALS), finals=FINALS, state=state)
        if awards:
            for entry_id, award in zip(s.entry_ids[:2], (Award.FIRST, Award.SECOND), strict=True):
                db.session.add(AwardGrant(event_id=s.event_id, entry_id=entry_id, award=award))
            # an earlier allocation, replaced: not shown
            db.session.add(
                AwardGrant(
                    event_id=s.event_id,
                    entry_id=s.entry_ids[3],
                    award=Award.THIRD.value,
                    is_current=False,
                )
            )
        users = {
            "organiser": make_user(Role.ORGANISER, competition_id=s.competition_id),
            "chief": make_user(Role.CHIEF_JUDGE, event_id=s.event_id),
            "judge": make_user(Role.JUDGE, event_id=s.event_id),
            "nobody": make_user(),
        }
        tokens = {key: make_token(user) for key, user in users.items()}
        names = [db.session.get(Person, pid).name for pid in s.person_ids]
        db.session.commit()
        return Ranked(s.event_id, s.entry_ids, s.codes, names, tokens)


def _results(client, ranked: Ranked, who: str | None):
    headers = bearer(ranked.tokens[who]) if who else {}
    return client.get(f"/api/v1/events/{ranked.event_id}/results", headers=headers)


@pytest.mark.parametrize("who", ["nobody", "judge"])
@pytest.mark.parametrize("state", [EventState.SCORING_LOCKED, EventState.UNDER_REVIEW])
def test_hidden_from_others_before_publication(app, client, who, state):
    ranked = _ranked(app, state)
    response = _results(client, ranked, who)
    assert response.status_code == 404
    assert schema_errors(response.get_json(), "Error") == []
    assert ranked.codes[0] not in response.get_data(as_text=True)


def test_needs_a_token(app, client):
    ranked = _ranked(app, EventState.FINAL)
    assert _results(client, ranked, None).status_code == 401


@pytest.mark.parametrize("who", ["organiser", "chief"])
def test_insiders_see_marking_codes_only_while_sealed(app, client, who):
    ranked = _ranked(app, EventState.SCORING_LOCKED)
    response = _results(client, ranked, who)
    assert response.status_code == 200
    body = response.get_json()
    assert schema_errors(body, "Results") == []
    assert (body["status"], body["published"], body["sealed"]) == ("provisional", False, True)
    assert [item["code"] for item in body["items"]] == ranked.codes
    assert [item["rank"] for item in body["items"]] == [1, 2, 2, 4, None]  # 55 fails: unranked
    assert [item["final"] for item in body["items"]] == [
        "95.00",
        "90.50",
        "90.50",
        "70.00",
        "55.00",
    ]
    assert body["items"][0]["module_scores"] == {"M1": "95.00"}
    assert [item["passed"] for item in body["items"]] == [True, True, True, True, False]
    for item in body["items"]:
        assert (item["entry_id"], item["entry_number"], item["unit"]) == (None, None, None)
        assert item["names"] == []
    text = response.get_data(as_text=True)
    assert not any(name in text for name in ranked.names)


def test_insiders_see_names_with_codes_once_unsealed(app, client):
    ranked = _ranked(app, EventState.UNDER_REVIEW)
    body = _results(client, ranked, "organiser").get_json()
    assert body["sealed"] is False and body["published"] is False
    first = body["items"][0]
    assert first["code"] == ranked.codes[0]
    assert first["entry_id"] == ranked.entry_ids[0]
    assert first["entry_number"] == "001"
    assert first["names"] == [ranked.names[0]]


def test_everyone_sees_published_results_as_the_public_page(app, client):
    ranked = _ranked(app, EventState.PUBLICITY, awards=True)
    response = _results(client, ranked, "nobody")
    assert response.status_code == 200
    body = response.get_json()
    assert schema_errors(body, "Results") == []
    assert (body["status"], body["published"], body["sealed"]) == ("provisional", True, False)
    items = body["items"]  # the ranked rows, as the public page lists them
    assert [item["names"] for item in items] == [[name] for name in ranked.names[:4]]
    assert [item["rank"] for item in items] == [1, 2, 2, 4]
    assert [item["award"] for item in items] == ["first", "second", None, None]
    assert all(item["code"] is None and item["entry_id"] is None for item in items)
    assert items[0]["unit"]
    assert items[1]["final"] == "90.50"


@pytest.mark.parametrize("state", [EventState.FINAL, EventState.AWARDS_ISSUED])
def test_status_is_final_once_final(app, client, state):
    ranked = _ranked(app, state)
    for who in ("nobody", "organiser"):
        body = _results(client, ranked, who).get_json()
        assert body["status"] == "final"


def test_unranked_rows_are_for_insiders_only(app, client):
    ranked = _ranked(app, EventState.PUBLICITY)
    public = _results(client, ranked, "nobody").get_json()
    assert ranked.names[4] not in [name for item in public["items"] for name in item["names"]]
    insider = _results(client, ranked, "organiser").get_json()
    assert len(insider["items"]) == 5
    assert insider["items"][-1]["rank"] is None
    assert insider["items"][-1]["names"] == [ranked.names[4]]


def test_unknown_event_is_404(app, client):
    ranked = _ranked(app, EventState.FINAL)
    response = client.get("/api/v1/events/999999/results", headers=bearer(ranked.tokens["nobody"]))
    assert response.status_code == 404
