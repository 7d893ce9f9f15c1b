"""The read endpoints: scope from the token's roles, JSON shapes, pagination, 404 and 422."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from compete.blueprints.competitions.presets import default_preset
from compete.blueprints.competitions.services import create_event
from compete.extensions import db
from compete.models import Event

from ..factories import make_competition, make_user
from .conftest import bearer, make_token


def _get(client, world, who: str, path: str, **kwargs):
    return client.get(path, headers=bearer(world.tokens[who]), **kwargs)


# ------------------------------------------------------------------ scope


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("organiser_a", "/api/v1/competitions/{competition_a}", 200),
        ("organiser_a", "/api/v1/competitions/{competition_a}/events", 200),
        ("organiser_a", "/api/v1/events/{event_a}", 200),
        ("organiser_a", "/api/v1/events/{event_a}/scheme", 200),
        ("organiser_a", "/api/v1/competitions/{competition_b}", 403),
        ("organiser_a", "/api/v1/competitions/{competition_b}/events", 403),
        ("organiser_a", "/api/v1/events/{event_b}", 403),
        ("organiser_a", "/api/v1/events/{event_b}/scheme", 403),
        ("organiser_b", "/api/v1/competitions/{competition_a}", 403),
        ("organiser_b", "/api/v1/events/{event_a}/scheme", 403),
        ("organiser_b", "/api/v1/events/{event_b}", 200),
        ("chief_judge_a", "/api/v1/events/{event_a}", 200),
        ("chief_judge_a", "/api/v1/events/{event_a}/scheme", 200),
        ("chief_judge_a", "/api/v1/events/{event_b}", 403),
        ("chief_judge_a", "/api/v1/competitions/{competition_a}", 403),
        ("judge_a", "/api/v1/events/{event_a}", 403),
        ("nobody", "/api/v1/events/{event_a}", 403),
        ("admin", "/api/v1/events/{event_b}/scheme", 200),
        ("admin", "/api/v1/competitions/{competition_a}/events", 200),
    ],
)
def test_token_acts_with_exactly_its_users_roles(client, world, who, path, status):
    url = path.format(**vars(world))
    response = _get(client, world, who, url)
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 403:
        assert response.get_json()["error"] == "forbidden"


def test_competition_list_shows_only_what_the_user_may_view(client, world):
    def names(who):
        body = _get(client, world, who, "/api/v1/competitions").get_json()
        return [item["name"] for item in body["items"]]

    assert names("organiser_a") == ["竞赛甲"]
    assert names("organiser_b") == ["竞赛乙"]
    assert names("admin") == ["竞赛甲", "竞赛乙"]  # newest year first
    assert names("chief_judge_a") == []
    assert names("nobody") == []


@pytest.mark.parametrize(
    "path", ["/api/v1/competitions/999999", "/api/v1/events/999999", "/api/v1/events/999999/scheme"]
)
def test_unknown_ids_get_404_json(client, world, path):
    response = _get(client, world, "admin", path)
    assert response.status_code == 404
    assert set(response.get_json()) >= {"error", "message"}


def test_unknown_api_path_gets_404_json(client, world):
    response = _get(client, world, "admin", "/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


# ------------------------------------------------------------------ shapes


def test_event_shows_state_rules_and_times_in_utc(app, client, world):
    with app.app_context():
        event = db.session.get(Event, world.event_a)
        event.start_at = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
        event.overrides = {"award_ratio_first": "0.15"}
        preset_key = event.preset_version.preset.key
        preset_version = event.preset_version.version
        expected_rules = {**event.preset_version.params, "award_ratio_first": "0.15"}
        db.session.commit()
    body = _get(client, world, "organiser_a", f"/api/v1/events/{world.event_a}").get_json()
    assert body["id"] == world.event_a
    assert body["competition_id"] == world.competition_a
    assert body["code"] == "E01"
    assert body["state"] == "draft"
    assert body["group"] == "employee"
    assert body["team_size"] == 1
    assert body["occupation"] == "电工"
    assert body["standard_grade"] == 3
    assert body["start_at"] == "2026-05-01T08:30:00+00:00"
    assert body["end_at"] is None
    assert body["created_at"].endswith("+00:00")
    assert body["preset"] == {"key": preset_key, "version": preset_version}
    assert body["rules"] == expected_rules


def test_scheme_gives_marks_as_strings(client, world):
    body = _get(client, world, "chief_judge_a", f"/api/v1/events/{world.event_a}/scheme").get_json()
    assert body["event_id"] == world.event_a
    assert body["max_mark"] == "17.50"
    [module] = body["modules"]
    assert module["code"] == "M1"
    assert module["max_mark"] == "17.50"
    first, second = module["criteria"]
    assert first == {
        "code": "M1.1",
        "description": "接线正确",
        "kind": "measurement",
        "max_mark": "10.00",
        "step": "0.50",
        "judges": 1,
        "aggregation": "sum",
        "tolerance": None,
        "double_entry": False,
        "position": 1,
    }
    assert second["kind"] == "judgement"
    assert second["max_mark"] == "7.50"
    assert second["step"] == "0.25"
    assert second["judges"] == 3
    assert second["aggregation"] == "mean"
    assert second["tolerance"] == "1.50"


def test_event_without_scheme_has_no_modules(client, world):
    body = _get(client, world, "organiser_b", f"/api/v1/events/{world.event_b}/scheme").get_json()
    assert body == {
        "event_id": world.event_b,
        "max_mark": "0.00",
        "updated_at": None,
        "modules": [],
    }


def test_competition_shape(client, world):
    body = _get(client, world, "organiser_a", f"/api/v1/competitions/{world.competition_a}")
    data = body.get_json()
    assert data["id"] == world.competition_a
    assert data["name"] == "竞赛甲"
    assert data["tier"] == "provincial_2"
    assert data["year"] == 2026
    assert data["start_date"] is None


def test_me_lists_roles_with_their_scopes(client, world):
    body = _get(client, world, "chief_judge_a", "/api/v1/me").get_json()
    assert body["username"] == world.users["chief_judge_a"]
    assert body["roles"] == [
        {
            "role": "chief_judge",
            "scope": "event",
            "competition_id": None,
            "event_id": world.event_a,
            "unit_id": None,
        }
    ]
    assert body["token"]["name"] == "script"
    assert body["token"]["expires_at"].endswith("+00:00")


# ------------------------------------------------------------------ pagination


@pytest.fixture
def many_competitions(app, world):
    """Five more competitions, older than A and B, for the admin to page through."""
    with app.app_context():
        for year in range(2010, 2015):
            make_competition(name=f"历届{year}", year=year)
        db.session.commit()
    return world


def test_competitions_are_paged(client, many_competitions):
    world = many_competitions
    first = _get(client, world, "admin", "/api/v1/competitions?per_page=3").get_json()
    assert first["page"] == 1
    assert first["per_page"] == 3
    assert first["total"] == 7
    assert [c["name"] for c in first["items"]] == ["竞赛甲", "竞赛乙", "历届2014"]
    last = _get(client, world, "admin", "/api/v1/competitions?per_page=3&page=3").get_json()
    assert [c["name"] for c in last["items"]] == ["历届2010"]
    beyond = _get(client, world, "admin", "/api/v1/competitions?per_page=3&page=9").get_json()
    assert beyond["items"] == []
    assert beyond["total"] == 7


def test_default_page_size_is_50_and_200_is_allowed(client, world):
    body = _get(client, world, "admin", "/api/v1/competitions").get_json()
    assert (body["page"], body["per_page"]) == (1, 50)
    body = _get(client, world, "admin", "/api/v1/competitions?per_page=200").get_json()
    assert body["per_page"] == 200


def test_events_are_paged(app, client, world):
    with app.app_context():
        competition = db.session.get(Event, world.event_a).competition
        for n in range(2, 5):
            create_event(
                None,
                competition,
                preset_version=default_preset().latest,
                code=f"E0{n}",
                name=f"赛项{n}",
                occupation="焊工",
                standard_grade=3,
                group="student",
            )
        db.session.commit()
    url = f"/api/v1/competitions/{world.competition_a}/events?per_page=2&page=2"
    body = _get(client, world, "organiser_a", url).get_json()
    assert body["total"] == 4
    assert [e["code"] for e in body["items"]] == ["E03", "E04"]


@pytest.mark.parametrize(
    "query",
    [
        "per_page=abc",
        "per_page=0",
        "per_page=201",
        "per_page=-5",
        "per_page=",
        "page=0",
        "page=-1",
        "page=1.5",
        "page=abc",
        "page=١",  # an Arabic-Indic digit is not a page number here
        "page=99999999999999999999999999",
        "page=1000001",
        "per_page=" + "9" * 5000,
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/competitions", "/api/v1/competitions/{competition_a}/events"]
)
def test_bad_paging_values_get_422_json(client, world, query, path):
    url = path.format(competition_a=world.competition_a) + "?" + query
    response = _get(client, world, "admin", url)
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "InvalidInput"
    assert body["field"] == query.split("=")[0]
    assert body["message"]


def test_paging_check_comes_after_sign_in(client, world):
    assert client.get("/api/v1/competitions?per_page=abc").status_code == 401


def test_a_new_token_for_a_new_user_sees_nothing_until_given_a_role(app, client, world):
    with app.app_context():
        token = make_token(make_user())
        db.session.commit()
    response = client.get("/api/v1/competitions", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["total"] == 0
