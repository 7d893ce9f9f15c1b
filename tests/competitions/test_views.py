"""The organiser pages through the client: forms, scheme editing, presets, rules, lifecycle."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from flask_babel import gettext
from sqlalchemy import select

from compete.blueprints.competitions import lifecycle, presets
from compete.blueprints.competitions.scheme_excel import build_workbook, parse_workbook
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import (
    AuditEntry,
    Competition,
    Event,
    EventTransition,
    MarkingScheme,
    RoleAssignment,
    RulePreset,
    RulePresetVersion,
    SchemeCriterion,
    SchemeModule,
    SelectionLink,
)
from compete.models.base import utcnow

from ..factories import make_competition, make_event, make_unit
from .conftest import (
    count,
    field_error,
    flashes,
    form_values,
    give_scheme,
    scheme_spec,
)

# ---------------------------------------------------------------- helpers


def _in_app(app, fn):
    with app.app_context():
        return fn()


def _event(app, event_id):
    """A fresh read of the event (and what tests look at) in its own app context."""
    with app.app_context():
        event = db.session.get(Event, event_id)
        scheme = event.scheme
        return {
            "state": event.state,
            "overrides": dict(event.overrides or {}),
            "scheme": [
                (m.code, [(c.code, str(c.max_mark), str(c.step)) for c in m.criteria])
                for m in (scheme.modules if scheme else [])
            ],
            "preset_version": (event.preset_version.preset.key, event.preset_version.version),
        }


def _set_state(app, event_id, state, **fields):
    with app.app_context():
        event = db.session.get(Event, event_id)
        event.state = EventState(state)
        for key, value in fields.items():
            setattr(event, key, value)
        db.session.commit()


def _text(app, msgid, **params):
    """``msgid`` as the page shows it in the default language (translated or not yet)."""
    with app.test_request_context():
        return gettext(msgid, **params)


def _competition_form(**overrides):
    data = {
        "name": "2026年广东省电工职业技能竞赛",
        "tier": "provincial_2",
        "year": "2026",
        "region": "广东省",
        "organiser": "广东省人力资源和社会保障厅",
        "host": "广州市技师学院",
        "co_organisers": "",
        "start_date": "2026-05-10",
        "end_date": "2026-05-12",
        "venue": "广州",
        "description": "",
    }
    data.update(overrides)
    return data


def _event_form(**overrides):
    data = {
        "code": "E01",
        "name": "电工",
        "occupation": "电工",
        "occupation_code": "6-31-01-03",
        "standard_grade": "3",
        "group": "employee",
        "team_size": "1",
        "max_coaches": "2",
        "preset_id": "",
        "registration_deadline": "2026-04-30T17:00",
        "start_at": "2026-05-10T08:30",
        "end_at": "2026-05-10T17:30",
        "venue": "实训楼",
    }
    data.update(overrides)
    return data


def _criterion_form(**overrides):
    data = {
        "code": "A1",
        "description": "尺寸精度",
        "kind": "measurement",
        "max_mark": "40",
        "step": "0.5",
        "judges": "3",
        "aggregation": "",
        "tolerance": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def org_of(login_as):
    """Sign in as an organiser of the given competition."""

    def _sign_in(ids):
        return login_as("organiser", competition_id=ids.competition)

    return _sign_in


# ---------------------------------------------------------------- 1. competitions


def test_organiser_creates_a_guangdong_competition_and_runs_it(app, client, login_as, csrf):
    user_id = login_as("organiser", competition_id=None)
    token = csrf("/competitions/new")
    response = client.post("/competitions/new", data=_competition_form(csrf_token=token))
    assert response.status_code == 302
    with app.app_context():
        competition = db.session.scalar(select(Competition))
        assert competition.tier.value == "provincial_2"
        assert competition.host == "广州市技师学院"
        assert (
            db.session.scalar(
                select(RoleAssignment).where(
                    RoleAssignment.user_id == user_id,
                    RoleAssignment.competition_id == competition.id,
                    RoleAssignment.role == "organiser",
                )
            )
            is not None
        )
        competition_id = competition.id
    assert response.headers["Location"].endswith(f"/competitions/{competition_id}")
    overview = client.get(f"/competitions/{competition_id}")
    assert overview.status_code == 200
    assert "2026年广东省电工职业技能竞赛" in overview.get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"end_date": "2026-05-09"}, "end_date"), ({"name": ""}, "name")],
)
def test_bad_competition_form_is_shown_again_and_nothing_saved(
    app, client, login_as, csrf, change, field
):
    login_as("organiser", competition_id=None)
    token = csrf("/competitions/new")
    response = client.post("/competitions/new", data=_competition_form(csrf_token=token, **change))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert field_error(html, field)
    if field == "end_date":
        assert field_error(html, field) == _text(app, "The end date is before the start date.")
    assert 'value="广州市技师学院"' in html  # what was typed is kept
    assert _in_app(app, lambda: count(Competition)) == 0


def test_organiser_of_one_competition_cannot_create_another(client, draft_event, org_of):
    org_of(draft_event)
    assert client.get("/competitions/new").status_code == 403


# ---------------------------------------------------------------- 2. events


def test_organiser_adds_one_event_per_group_on_the_default_preset(
    app, client, draft_event, org_of, csrf
):
    org_of(draft_event)
    url = f"/competitions/{draft_event.competition}/events/new"
    token = csrf(url)
    employee = client.post(url, data=_event_form(code="E10", csrf_token=token))
    student = client.post(
        url, data=_event_form(code="E11", group="student", name="电工（学生）", csrf_token=token)
    )
    assert employee.status_code == student.status_code == 302
    with app.app_context():
        events = {
            e.code: e
            for e in db.session.scalars(
                select(Event).where(Event.competition_id == draft_event.competition)
            )
        }
        assert events["E10"].group.value == "employee"
        assert events["E11"].group.value == "student"
        for code in ("E10", "E11"):
            assert events[code].state is EventState.DRAFT
            assert events[code].preset_version.preset.key == "gd_provincial_2_employee"
        # The local time typed in the form is kept as Beijing time.
        deadline = events["E10"].registration_deadline
        assert deadline.isoformat().startswith("2026-04-30T09:00")
    assert employee.headers["Location"].endswith(f"/events/{events['E10'].id}/scheme")


def test_event_form_uses_the_preset_chosen_on_the_page(app, client, draft_event, org_of, csrf):
    org_of(draft_event)
    url = f"/competitions/{draft_event.competition}/events/new"
    page = client.get(url).get_data(as_text=True)
    values = form_values(page)
    option = page.index("世界技能大赛选拔")
    preset_id = page[page.rindex('value="', 0, option) + 7 : page.rindex('"', 0, option)]
    values.update(_event_form(code="E20", preset_id=preset_id), csrf_token=values["csrf_token"])
    assert client.post(url, data=values).status_code == 302
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.code == "E20"))
        assert event.preset_version.preset.key == "worldskills"


def test_duplicate_event_code_is_refused(app, client, draft_event, org_of, csrf):
    org_of(draft_event)
    url = f"/competitions/{draft_event.competition}/events/new"
    response = client.post(url, data=_event_form(code="E01", csrf_token=csrf(url)))
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "code") == _text(
        app, "The event code %(code)s is already used in this competition.", code="E01"
    )
    assert _in_app(app, lambda: count(Event)) == 1


# ---------------------------------------------------------------- 3. marking scheme


def _add_module(client, event_id, token, code, name):
    return client.post(
        f"/events/{event_id}/scheme/modules",
        data={"code": code, "name": name, "csrf_token": token},
    )


def _module_id(app, code):
    return _in_app(
        app, lambda: db.session.scalar(select(SchemeModule.id).where(SchemeModule.code == code))
    )


def test_scheme_is_built_through_the_forms_with_a_running_total(
    app, client, draft_event, org_of, csrf
):
    org_of(draft_event)
    event_id = draft_event.event
    token = csrf(f"/events/{event_id}/scheme")
    assert _add_module(client, event_id, token, "A", "零件加工").status_code == 302
    assert _add_module(client, event_id, token, "B", "职业素养").status_code == 302
    a, b = _module_id(app, "A"), _module_id(app, "B")
    for module, data in (
        (a, _criterion_form(code="A1", max_mark="40")),
        (a, _criterion_form(code="A2", max_mark="20", step="1", tolerance="0.5")),
        (b, _criterion_form(code="B1", max_mark="30", kind="judgement", judges="5")),
    ):
        response = client.post(
            f"/events/{event_id}/scheme/modules/{module}/criteria",
            data=data | {"csrf_token": token},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert _event(app, event_id)["scheme"] == [
        ("A", [("A1", "40.00", "0.50"), ("A2", "20.00", "1.00")]),
        ("B", [("B1", "30.00", "0.50")]),
    ]
    page = client.get(f"/events/{event_id}/scheme").get_data(as_text=True)
    assert _text(app, "Total %(total)s of 100", total="90.00") in page
    assert "badge-warn" in page
    # Deleting a criterion takes it off the total.
    with app.app_context():
        a2 = db.session.scalar(select(SchemeCriterion.id).where(SchemeCriterion.code == "A2"))
    response = client.post(
        f"/events/{event_id}/scheme/criteria/{a2}/delete", data={"csrf_token": token}
    )
    assert response.status_code == 302
    page = client.get(f"/events/{event_id}/scheme").get_data(as_text=True)
    assert _text(app, "Total %(total)s of 100", total="70.00") in page
    # Deleting a module takes its criteria with it.
    response = client.post(
        f"/events/{event_id}/scheme/modules/{b}/delete", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert _event(app, event_id)["scheme"] == [("A", [("A1", "40.00", "0.50")])]
    assert _in_app(app, lambda: count(SchemeCriterion)) == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"max_mark": "10", "step": "3"}, "step"),
        ({"max_mark": "0"}, "max_mark"),
        ({"max_mark": "-5"}, "max_mark"),
    ],
)
def test_criterion_with_a_bad_maximum_or_step_is_refused(
    app, client, draft_event, org_of, csrf, data, field
):
    org_of(draft_event)
    token = csrf(f"/events/{draft_event.event}/scheme")
    _add_module(client, draft_event.event, token, "A", "零件加工")
    module = _module_id(app, "A")
    response = client.post(
        f"/events/{draft_event.event}/scheme/modules/{module}/criteria",
        data=_criterion_form(**data) | {"csrf_token": token},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert field_error(html, field)
    if field == "step":
        assert field_error(html, "step") == _text(
            app,
            "The step %(step)s of %(code)s does not divide its maximum %(max)s.",
            step="3",
            code="A1",
            max="10",
        )
    assert _in_app(app, lambda: count(SchemeCriterion)) == 0


def test_duplicate_module_code_is_refused(app, client, draft_event, org_of, csrf):
    org_of(draft_event)
    token = csrf(f"/events/{draft_event.event}/scheme")
    _add_module(client, draft_event.event, token, "A", "零件加工")
    response = _add_module(client, draft_event.event, token, "A", "又一个")
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "code")
    assert _in_app(app, lambda: count(SchemeModule)) == 1


def _upload(client, event_id, token, data: bytes):
    return client.post(
        f"/events/{event_id}/scheme/import",
        data={"csrf_token": token, "file": (BytesIO(data), "评分标准.xlsx")},
        content_type="multipart/form-data",
    )


def test_importing_a_good_workbook_replaces_the_scheme(app, client, draft_event, org_of, csrf):
    org_of(draft_event)
    token = csrf(f"/events/{draft_event.event}/scheme")
    _add_module(client, draft_event.event, token, "OLD", "旧模块")
    data = build_workbook(scheme_spec(), descriptions={"A1": "尺寸精度"}, double_entry={"A2"})
    response = _upload(client, draft_event.event, token, data)
    assert response.status_code == 302
    assert _event(app, draft_event.event)["scheme"] == [
        ("A", [("A1", "40.00", "0.50"), ("A2", "20.00", "1.00")]),
        ("B", [("B1", "40.00", "0.50")]),
    ]
    with app.app_context():
        a2 = db.session.scalar(select(SchemeCriterion).where(SchemeCriterion.code == "A2"))
        assert a2.double_entry is True
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "scheme.imported"))
        assert [m["code"] for m in entry.before["modules"]] == ["OLD"]
        assert [m["code"] for m in entry.after["modules"]] == ["A", "B"]
    page = client.get(f"/events/{draft_event.event}/scheme").get_data(as_text=True)
    assert _text(app, "Total %(total)s of 100", total="100.00") in page
    assert "badge-ok" in page


@pytest.mark.parametrize("problem", ["total_99", "bad_cell"])
def test_a_bad_workbook_is_reported_by_cell_and_changes_nothing(
    app, client, ready_event, org_of, csrf, problem
):
    org_of(ready_event)
    before = _event(app, ready_event.event)["scheme"]
    if problem == "total_99":
        data = build_workbook(scheme_spec(total_b="39"))
    else:
        from openpyxl import load_workbook

        book = load_workbook(BytesIO(build_workbook(scheme_spec())))
        sheet = book.active
        sheet["F3"] = "四十"  # 满分 of the second criterion row
        buffer = BytesIO()
        book.save(buffer)
        data = buffer.getvalue()
    token = csrf(f"/events/{ready_event.event}/scheme")
    response = _upload(client, ready_event.event, token, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="alert alert-error"' in html
    if problem == "bad_cell":
        assert "<td>3</td><td>F 满分</td><td>四十</td>" in html
    else:
        assert "99" in html
    assert _event(app, ready_event.event)["scheme"] == before


def test_exported_workbook_reads_back_as_the_same_scheme(app, client, ready_event, org_of):
    org_of(ready_event)
    response = client.get(f"/events/{ready_event.event}/scheme.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    parsed = parse_workbook(response.data)
    assert parsed.spec == scheme_spec()
    assert parsed.descriptions["A1"] == "尺寸精度"
    assert parsed.double_entry == frozenset({"A2"})


def test_scheme_is_frozen_once_registration_opens(app, client, ready_event, org_of, csrf):
    org_of(ready_event)
    token = csrf(f"/events/{ready_event.event}/scheme")
    _set_state(app, ready_event.event, "registration_open")
    before = _event(app, ready_event.event)["scheme"]
    page = client.get(f"/events/{ready_event.event}/scheme")
    assert page.status_code == 200
    assert "/scheme/modules" not in page.get_data(as_text=True)  # no editing forms shown
    a = _module_id(app, "A")
    with app.app_context():
        a1 = db.session.scalar(select(SchemeCriterion.id).where(SchemeCriterion.code == "A1"))
    assert _add_module(client, ready_event.event, token, "C", "新模块").status_code == 409
    added = client.post(
        f"/events/{ready_event.event}/scheme/modules/{a}/criteria",
        data=_criterion_form(code="A9", max_mark="1") | {"csrf_token": token},
    )
    assert added.status_code == 409
    imported = _upload(client, ready_event.event, token, build_workbook(scheme_spec()))
    assert imported.status_code == 409
    deleted = client.post(
        f"/events/{ready_event.event}/scheme/criteria/{a1}/delete",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert flashes(deleted.get_data(as_text=True)) == [
        _text(app, "The marking scheme is frozen once registration opens.")
    ]
    client.post(
        f"/events/{ready_event.event}/scheme/modules/{a}/delete", data={"csrf_token": token}
    )
    assert _event(app, ready_event.event)["scheme"] == before


# ---------------------------------------------------------------- 4. presets


def test_preset_list_links_to_pages_that_exist(app, client, login_as):
    login_as("organiser", competition_id=None)
    page = client.get("/presets").get_data(as_text=True)
    assert page.count("<code>") == 8
    start = page.index('href="/presets/')
    link = page[start + 6 : page.index('"', start + 6)]
    assert client.get(link).status_code == 200


def _copy(app, client, csrf, source_key="gd_provincial_2_employee", key="gd_2026_welding"):
    with app.app_context():
        presets.ensure_builtin_presets()
        db.session.commit()
        source = db.session.scalar(select(RulePreset.id).where(RulePreset.key == source_key))
    token = csrf(f"/presets/{source}")
    response = client.post(
        f"/presets/{source}/copy", data={"key": key, "name": "2026焊工赛规则", "csrf_token": token}
    )
    assert response.status_code == 302
    with app.app_context():
        copy_id = db.session.scalar(select(RulePreset.id).where(RulePreset.key == key))
    assert response.headers["Location"].endswith(f"/presets/{copy_id}/edit")
    return copy_id


def _post_preset(client, preset_id, **changes):
    url = f"/presets/{preset_id}/edit"
    values = form_values(client.get(url).get_data(as_text=True), url)
    values.update(changes)
    return client.post(url, data=values)


def test_editing_a_copied_preset_adds_a_version_and_events_keep_theirs(app, client, login_as, csrf):
    login_as("organiser", competition_id=None)
    copy_id = _copy(app, client, csrf)
    # An event created on version 1 of the copy.
    competition = client.post(
        "/competitions/new", data=_competition_form(csrf_token=csrf("/competitions/new"))
    )
    competition_id = int(competition.headers["Location"].rsplit("/", 1)[1])
    url = f"/competitions/{competition_id}/events/new"
    client.post(url, data=_event_form(preset_id=str(copy_id), csrf_token=csrf(url)))

    response = _post_preset(client, copy_id, pass_mark="70", prize_cap_pct="25", note="提高门槛")
    assert response.status_code == 302
    with app.app_context():
        preset = db.session.get(RulePreset, copy_id)
        assert [v.version for v in preset.versions] == [1, 2]
        assert preset.versions[0].params["pass_mark"] == "60"
        assert preset.latest.params["pass_mark"] == "70"
        assert preset.latest.params["prize_cap_pct"] == "25"
        assert preset.latest.note == "提高门槛"
        event = db.session.scalar(select(Event).where(Event.competition_id == competition_id))
        assert event.preset_version.version == 1
        assert event.rules["pass_mark"] == "60"
    rules = client.get(f"/events/{event.id}/rules").get_data(as_text=True)
    assert _text(app, "version %(n)s", n=1) in rules


@pytest.mark.parametrize(
    ("change", "field", "msgid"),
    [
        (
            {"theory_weight": "0.5"},
            "theory_weight",
            "The theory weight %(value)s is above the maximum %(max)s.",
        ),
        ({"shares_pct": "50:30:30"}, "shares_pct", "The award shares add up to more than 100%%."),
        ({"prize_cap_pct": "0"}, "prize_cap_pct", "Prizes by ratio need a cap above 0%%."),
        (
            {"merit_top_pct": "10"},
            "merit_top_pct",
            "The merit award share must not be smaller than the prize cap.",
        ),
        (
            {"tie_chain": "shared, time"},
            "tie_chain",
            "The tie-break chain must end with 'shared' or 'decision'.",
        ),
    ],
)
def test_contradictory_preset_edit_names_the_field_and_saves_nothing(
    app, client, login_as, csrf, change, field, msgid
):
    login_as("organiser", competition_id=None)
    copy_id = _copy(app, client, csrf)
    response = _post_preset(client, copy_id, **change)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # The page formats every message with the field's name (which also turns %% into %).
    params = {"name": field, "value": "0.5", "max": "0.30"}
    assert field_error(html, field) == _text(app, msgid, **params)
    # What was typed stays in the form to correct.
    assert f'id="p-{field}" value="{change[field]}"' in html
    assert (
        _in_app(app, lambda: count(RulePresetVersion, RulePresetVersion.preset_id == copy_id)) == 1
    )


def test_shipped_presets_are_not_edited_in_place(app, client, login_as, csrf):
    login_as("organiser", competition_id=None)
    with app.app_context():
        presets.ensure_builtin_presets()
        db.session.commit()
        shipped = db.session.scalar(
            select(RulePreset.id).where(RulePreset.key == "gd_provincial_2_employee")
        )
    token = csrf(f"/presets/{shipped}")
    for response in (
        client.get(f"/presets/{shipped}/edit"),
        client.post(f"/presets/{shipped}/edit", data={"pass_mark": "70", "csrf_token": token}),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/presets/{shipped}")
    page = client.get(f"/presets/{shipped}").get_data(as_text=True)
    assert _text(app, "Shipped presets are not edited; make a copy and edit that.") in flashes(page)
    assert (
        _in_app(app, lambda: count(RulePresetVersion, RulePresetVersion.preset_id == shipped)) == 1
    )


def test_copying_under_a_taken_key_is_refused(app, client, login_as, csrf):
    login_as("organiser", competition_id=None)
    _copy(app, client, csrf)
    with app.app_context():
        source = db.session.scalar(select(RulePreset.id).where(RulePreset.key == "worldskills"))
    response = client.post(
        f"/presets/{source}/copy",
        data={"key": "gd_2026_welding", "name": "重复", "csrf_token": csrf(f"/presets/{source}")},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/presets/{source}")
    assert _in_app(app, lambda: count(RulePreset, RulePreset.based_on_id.is_not(None))) == 1


# ---------------------------------------------------------------- 5. event rules


def _post_rules(client, event_id, **changes):
    url = f"/events/{event_id}/rules/edit"
    values = form_values(client.get(url).get_data(as_text=True), url)
    values.update(changes)
    return client.post(url, data=values)


def test_changing_one_rule_for_an_event_stores_only_that_change(app, client, draft_event, org_of):
    org_of(draft_event)
    response = _post_rules(client, draft_event.event, pass_mark="70")
    assert response.status_code == 302
    assert _event(app, draft_event.event)["overrides"] == {"pass_mark": "70"}
    page = client.get(f"/events/{draft_event.event}/rules").get_data(as_text=True)
    row = page[page.index('<code class="small">pass_mark</code>') :]
    row = row[: row.index("</tr>")]
    assert _text(app, "changed for this event") in row
    assert page.count('class="overridden"') == 1
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.rules_set"))
        assert entry.event_id == draft_event.event
        assert entry.after["overrides"] == {"pass_mark": "70"}


def test_switching_an_event_to_ratio_prizes_uses_the_preset_cap(app, client, login_as, csrf):
    # gd_provincial_1 gives medals; one event switches to 1:2:3 prizes with the shipped cap.
    with app.app_context():
        presets.ensure_builtin_presets()
        version = db.session.scalar(select(RulePreset).where(RulePreset.key == "gd_provincial_1"))
        competition = make_competition(tier="provincial_1")
        event = make_event(competition, preset_version=version.latest)
        db.session.commit()
        competition_id, event_id = competition.id, event.id
    login_as("organiser", competition_id=competition_id)
    response = _post_rules(client, event_id, award_scheme="RATIO")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _event(app, event_id)["overrides"] == {"award_scheme": "RATIO"}


def test_contradictory_event_rule_is_refused_at_its_field(app, client, draft_event, org_of):
    org_of(draft_event)
    response = _post_rules(client, draft_event.event, merit_top_pct="10")
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "merit_top_pct") == _text(
        app, "The merit award share must not be smaller than the prize cap."
    )
    assert _event(app, draft_event.event)["overrides"] == {}


def test_event_rules_cannot_change_once_registration_is_open(app, client, ready_event, org_of):
    org_of(ready_event)
    url = f"/events/{ready_event.event}/rules/edit"
    values = form_values(client.get(url).get_data(as_text=True), url)
    _set_state(app, ready_event.event, "registration_open")
    assert "rules/edit" not in client.get(f"/events/{ready_event.event}/rules").get_data(
        as_text=True
    )
    response = client.post(url, data=values | {"pass_mark": "70"})
    assert response.status_code == 409
    assert _event(app, ready_event.event)["overrides"] == {}


# ---------------------------------------------------------------- 6. lifecycle


def _transition(client, event_id, target, csrf, reason=None):
    data = {"target": target, "csrf_token": csrf(f"/events/{event_id}")}
    if reason is not None:
        data["reason"] = reason
    return client.post(f"/events/{event_id}/transition", data=data, follow_redirects=True)


def _missing(app, *keys):
    labels = "；".join(_text(app, lifecycle.GUARD_LABELS[k]) for k in keys)
    return _text(app, "This step is not possible yet. Still needed: %(missing)s.", missing=labels)


def test_registration_opens_only_with_a_complete_scheme(app, client, draft_event, org_of, csrf):
    org_of(draft_event)
    with app.app_context():
        give_scheme(db.session.get(Event, draft_event.event), scheme_spec(total_b="39"))
        db.session.commit()
    refused = _transition(client, draft_event.event, "registration_open", csrf)
    assert refused.status_code == 200
    assert flashes(refused.get_data(as_text=True)) == [_missing(app, "preset_valid")]
    assert _event(app, draft_event.event)["state"] is EventState.DRAFT
    assert _in_app(app, lambda: count(EventTransition)) == 0

    with app.app_context():
        give_scheme(db.session.get(Event, draft_event.event))
        db.session.commit()
    opened = _transition(client, draft_event.event, "registration_open", csrf)
    assert opened.status_code == 200
    assert _event(app, draft_event.event)["state"] is EventState.REGISTRATION_OPEN
    with app.app_context():
        step = db.session.scalar(select(EventTransition))
        assert (step.from_state, step.to_state) == ("draft", "registration_open")
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.transition"))
        assert entry.event_id == draft_event.event
        assert entry.before == {"state": "draft"}


def test_registration_closes_only_after_its_deadline(app, client, ready_event, org_of, csrf):
    org_of(ready_event)
    _set_state(
        app,
        ready_event.event,
        "registration_open",
        registration_deadline=utcnow() + timedelta(hours=2),
    )
    refused = _transition(client, ready_event.event, "registration_closed", csrf)
    assert flashes(refused.get_data(as_text=True)) == [
        _missing(app, "registration_deadline_passed")
    ]
    assert _event(app, ready_event.event)["state"] is EventState.REGISTRATION_OPEN
    _set_state(
        app,
        ready_event.event,
        "registration_open",
        registration_deadline=utcnow() - timedelta(minutes=1),
    )
    _transition(client, ready_event.event, "registration_closed", csrf)
    assert _event(app, ready_event.event)["state"] is EventState.REGISTRATION_CLOSED


def test_reopening_registration_needs_a_reason_which_is_kept(
    app, client, ready_event, org_of, csrf
):
    user_id = org_of(ready_event)
    _set_state(app, ready_event.event, "registration_closed")
    refused = _transition(client, ready_event.event, "registration_open", csrf, reason=" ")
    assert flashes(refused.get_data(as_text=True)) == [
        _text(
            app,
            "Moving an event from %(current)s to %(target)s needs a reason.",
            current="registration_closed",
            target="registration_open",
        )
    ]
    assert _event(app, ready_event.event)["state"] is EventState.REGISTRATION_CLOSED

    _transition(client, ready_event.event, "registration_open", csrf, reason="两个单位材料迟交")
    assert _event(app, ready_event.event)["state"] is EventState.REGISTRATION_OPEN
    with app.app_context():
        step = db.session.scalar(select(EventTransition))
        assert step.reason == "两个单位材料迟交"
        assert step.actor_id == user_id
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.transition"))
        assert entry.reason == "两个单位材料迟交"
        assert entry.after["backward"] is True
    history = client.get(f"/events/{ready_event.event}/history").get_data(as_text=True)
    assert "两个单位材料迟交" in history


def test_a_step_out_of_order_is_refused(app, client, ready_event, org_of, csrf):
    org_of(ready_event)
    refused = _transition(client, ready_event.event, "drawn", csrf)
    assert flashes(refused.get_data(as_text=True)) == [
        _text(
            app,
            "An event cannot go from %(current)s to %(target)s.",
            current="draft",
            target="drawn",
        )
    ]
    assert _event(app, ready_event.event)["state"] is EventState.DRAFT
    assert _in_app(app, lambda: count(EventTransition)) == 0


def test_cancelling_needs_a_reason(app, client, ready_event, org_of, csrf):
    org_of(ready_event)
    _transition(client, ready_event.event, "cancelled", csrf)
    assert _event(app, ready_event.event)["state"] is EventState.DRAFT
    _transition(client, ready_event.event, "cancelled", csrf, reason="场地不可用")
    assert _event(app, ready_event.event)["state"] is EventState.CANCELLED
    with app.app_context():
        assert db.session.scalar(select(EventTransition.reason)) == "场地不可用"


@pytest.mark.parametrize("role", ["chief_judge", "supervisor", "encryption_judge", "judge"])
def test_judging_roles_cannot_open_registration(app, client, ready_event, login_as, csrf, role):
    login_as(role, event_id=ready_event.event)
    response = client.post(
        f"/events/{ready_event.event}/transition",
        data={"target": "registration_open", "csrf_token": csrf("/")},
    )
    assert response.status_code == 403
    assert _event(app, ready_event.event)["state"] is EventState.DRAFT


def test_transition_does_not_redirect_off_site(app, client, ready_event, org_of, csrf):
    org_of(ready_event)
    response = client.post(
        f"/events/{ready_event.event}/transition",
        data={
            "target": "registration_open",
            "csrf_token": csrf(f"/events/{ready_event.event}"),
            "next": "https://evil.example/phish",
        },
    )
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


# ---------------------------------------------------------------- 7. selection


def _national(app, group="employee", tier="national_comprehensive"):
    with app.app_context():
        competition = make_competition(name="第三届全国技能大赛", tier=tier, year=2026)
        event = make_event(competition, code="N01", name="焊接", group=group)
        db.session.commit()
        return event.id


def _link(client, event_id, csrf, target, quota):
    return client.post(
        f"/events/{event_id}/selection",
        data={
            "target_event_id": str(target),
            "quota": str(quota),
            "csrf_token": csrf(f"/events/{event_id}/selection"),
        },
    )


def _links(app):
    with app.app_context():
        return [
            (link.source_event_id, link.target_event_id, link.quota)
            for link in db.session.scalars(select(SelectionLink))
        ]


def test_provincial_event_feeds_the_national_event_with_a_quota(
    app, client, draft_event, org_of, csrf
):
    org_of(draft_event)
    national = _national(app)
    page = client.get(f"/events/{draft_event.event}/selection").get_data(as_text=True)
    assert f'<option value="{national}">' in page
    assert _link(client, draft_event.event, csrf, national, 2).status_code == 302
    assert _links(app) == [(draft_event.event, national, 2)]
    # Linking again changes the quota.
    assert _link(client, draft_event.event, csrf, national, 3).status_code == 302
    assert _links(app) == [(draft_event.event, national, 3)]
    page = client.get(f"/events/{draft_event.event}/selection").get_data(as_text=True)
    assert "第三届全国技能大赛" in page
    # Unlinking removes it.
    with app.app_context():
        link_id = db.session.scalar(select(SelectionLink.id))
    response = client.post(
        f"/events/{draft_event.event}/selection/{link_id}/delete",
        data={"csrf_token": csrf(f"/events/{draft_event.event}/selection")},
    )
    assert response.status_code == 302
    assert _links(app) == []


@pytest.mark.parametrize(
    ("tier", "group", "quota", "field", "msgid"),
    [
        ("provincial_1", "employee", 2, "target_event_id", None),
        ("city_1", "employee", 2, "target_event_id", None),
        (
            "national_comprehensive",
            "student",
            2,
            "target_event_id",
            "The two events are for different groups.",
        ),
        ("national_comprehensive", "employee", 0, "quota", None),
    ],
)
def test_wrong_selection_link_is_refused_with_a_message(
    app, client, draft_event, org_of, csrf, tier, group, quota, field, msgid
):
    org_of(draft_event)
    target = _national(app, group=group, tier=tier)
    response = _link(client, draft_event.event, csrf, target, quota)
    assert response.status_code == 422
    message = field_error(response.get_data(as_text=True), field)
    assert message
    if msgid:
        assert message == _text(app, msgid)
    assert _links(app) == []


# ---------------------------------------------------------------- 8. overview


def test_overview_shows_each_event_state_and_what_the_next_step_needs(
    app, client, draft_event, org_of
):
    org_of(draft_event)
    with app.app_context():
        competition = db.session.get(Competition, draft_event.competition)
        ready = make_event(competition, code="E02", name="电工")
        give_scheme(ready)
        ready.state = EventState.REGISTRATION_OPEN
        ready.registration_deadline = utcnow() + timedelta(days=3)
        db.session.commit()
    html = client.get(f"/competitions/{draft_event.competition}").get_data(as_text=True)
    first, second = html.split('<section class="card event-row">')[1:]
    assert f'<li class="step current" aria-current="step">{_text(app, "Draft")}</li>' in first
    assert (
        f'<li class="step current" aria-current="step">{_text(app, "Registration open")}</li>'
        in second
    )
    assert f'<li class="step done">{_text(app, "Draft")}</li>' in second

    def disabled_button_with_hint(section, action, guard):
        form = section[section.index(f'value="{action}"') :]
        form = form[: form.index("</form>")]
        assert 'disabled aria-disabled="true"' in form
        assert _text(app, lifecycle.GUARD_LABELS[guard]) in form

    disabled_button_with_hint(first, "registration_open", "preset_valid")
    disabled_button_with_hint(second, "registration_closed", "registration_deadline_passed")


# ---------------------------------------------------------------- 9. permissions


def test_organiser_of_another_competition_is_kept_out(app, client, ready_event, login_as, csrf):
    with app.app_context():
        other = make_competition(name="别的竞赛")
        db.session.commit()
        other_id = other.id
    login_as("organiser", competition_id=other_id)
    token = csrf("/")
    event = ready_event.event
    for path in (
        f"/competitions/{ready_event.competition}",
        f"/competitions/{ready_event.competition}/edit",
        f"/competitions/{ready_event.competition}/events/new",
        f"/events/{event}",
        f"/events/{event}/scheme",
        f"/events/{event}/scheme.xlsx",
        f"/events/{event}/rules",
        f"/events/{event}/selection",
    ):
        assert client.get(path).status_code == 403, path
    module = _module_id(app, "A")
    for path, data in (
        (f"/competitions/{ready_event.competition}/edit", _competition_form()),
        (f"/competitions/{ready_event.competition}/events/new", _event_form(code="X1")),
        (f"/events/{event}/transition", {"target": "registration_open"}),
        (f"/events/{event}/scheme/modules", {"code": "Z", "name": "Z"}),
        (f"/events/{event}/scheme/modules/{module}/delete", {}),
        (f"/events/{event}/rules/edit", {"pass_mark": "70"}),
        (f"/events/{event}/selection", {"target_event_id": "1", "quota": "1"}),
    ):
        assert client.post(path, data=data | {"csrf_token": token}).status_code == 403, path
    after = _event(app, event)
    assert after["state"] is EventState.DRAFT
    assert [m for m, _ in after["scheme"]] == ["A", "B"]
    assert after["overrides"] == {}
    assert _in_app(app, lambda: count(Event)) == 1


def test_unit_contact_cannot_see_the_competition_overview(app, client, draft_event, login_as):
    with app.app_context():
        unit = make_unit()
        db.session.commit()
        unit_id = unit.id
    login_as("unit_contact", unit_id=unit_id)
    assert client.get(f"/competitions/{draft_event.competition}").status_code == 403
    assert client.get(f"/events/{draft_event.event}/scheme").status_code == 403


def test_competition_list_shows_only_competitions_the_user_may_see(
    app, client, draft_event, login_as
):
    with app.app_context():
        make_competition(name="别人的竞赛")
        db.session.commit()
    login_as("organiser", competition_id=draft_event.competition)
    page = client.get("/competitions").get_data(as_text=True)
    assert "2026年广东省焊工职业技能竞赛" in page
    assert "别人的竞赛" not in page


def test_a_scheme_row_of_another_event_is_not_found(app, client, ready_event, org_of, csrf):
    org_of(ready_event)
    with app.app_context():
        other = make_event(db.session.get(Competition, ready_event.competition), code="E09")
        db.session.commit()
        other_id = other.id
    module = _module_id(app, "A")
    response = client.post(
        f"/events/{other_id}/scheme/modules/{module}/delete", data={"csrf_token": csrf("/")}
    )
    assert response.status_code == 404
    assert [m for m, _ in _event(app, ready_event.event)["scheme"]] == ["A", "B"]
    assert _in_app(app, lambda: count(MarkingScheme)) == 1
