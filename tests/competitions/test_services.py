"""Competition services without HTTP: presets, rules, lifecycle guards, selection links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from compete.blueprints.competitions import lifecycle, presets, services
from compete.domain.errors import Conflict, InvalidInput, NotAllowed
from compete.domain.lifecycle import EventState
from compete.domain.rules import validate_params
from compete.extensions import db
from compete.models import (
    AuditEntry,
    Event,
    EventTransition,
    RoleAssignment,
    RulePreset,
    RulePresetVersion,
    SelectionLink,
)
from compete.models.base import utcnow

from ..factories import make_competition, make_event, make_user
from .conftest import count, give_scheme, scheme_spec

SHIPPED_KEYS = {
    "gd_provincial_1",
    "gd_provincial_2_employee",
    "gd_provincial_2_student",
    "national_1_employee",
    "national_2_employee",
    "national_2_student",
    "national_comprehensive",
    "worldskills",
}


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def _preset(key: str) -> RulePreset:
    presets.ensure_builtin_presets()
    return db.session.scalar(select(RulePreset).where(RulePreset.key == key))


# ---------------------------------------------------------------- competitions and events


def test_creator_of_a_competition_becomes_its_organiser(ctx):
    user = make_user("organiser", competition_id=None)
    competition = services.create_competition(
        user, name="2026年广东省焊工竞赛", tier="provincial_2", year=2026
    )
    db.session.commit()
    scopes = db.session.scalars(
        select(RoleAssignment.competition_id).where(RoleAssignment.user_id == user.id)
    ).all()
    assert sorted(scopes, key=lambda c: c or 0) == [None, competition.id]


def test_competition_ending_before_it_starts_is_refused(ctx):
    from datetime import date

    with pytest.raises(InvalidInput) as info:
        services.create_competition(
            None,
            name="倒序日期",
            tier="provincial_2",
            year=2026,
            start_date=date(2026, 5, 10),
            end_date=date(2026, 5, 9),
        )
    assert info.value.field == "end_date"


def test_event_code_is_unique_within_a_competition_only(ctx):
    first = make_competition()
    make_event(first, code="E01")
    with pytest.raises(InvalidInput) as info:
        make_event(first, code="E01")
    assert info.value.field == "code"
    # The same code in another competition is fine.
    assert make_event(make_competition(), code="E01").code == "E01"


def test_new_event_starts_as_draft_on_the_guangdong_default_preset(ctx):
    event = make_event()
    assert event.state is EventState.DRAFT
    assert event.preset_version.preset.key == "gd_provincial_2_employee"
    assert event.preset_version.version == 1


# ---------------------------------------------------------------- presets


def test_the_eight_shipped_presets_are_inserted_once(ctx):
    presets.ensure_builtin_presets()
    db.session.commit()
    presets.ensure_builtin_presets()
    db.session.commit()
    keys = db.session.scalars(select(RulePreset.key)).all()
    assert sorted(keys) == sorted(SHIPPED_KEYS)
    assert count(RulePresetVersion) == 8
    assert all(p.is_builtin for p in db.session.scalars(select(RulePreset)))


@pytest.mark.parametrize("key", sorted(SHIPPED_KEYS))
def test_every_shipped_preset_passes_its_own_validation(ctx, key):
    params = _preset(key).latest.params
    assert validate_params(params) == params


def test_guangdong_provincial_2_prizes_are_1_2_3_capped_at_20_percent(ctx):
    p = _preset("gd_provincial_2_employee").latest.params
    assert p["award_scheme"] == "RATIO"
    assert p["prize_ratio"] == [1, 2, 3]
    assert p["prize_cap_pct"] == "20"
    assert p["prize_rounding"] == "strict"
    assert p["merit_top_pct"] == "50"
    assert p["pass_mark"] == "60"
    assert p["theory_weight"] == p["theory_weight_max"] == "0.30"


def test_national_skills_competition_uses_medals_without_shared_places(ctx):
    p = _preset("national_comprehensive").latest.params
    assert p["award_scheme"] == "MEDAL"
    assert p["boundary_tie"] == "forbidden"
    assert p["tie_chain"][-1] == "decision"
    assert p["title"] == "NATIONAL_TECH_EXPERT"
    assert p["title_scope"] == "top_n"
    assert p["title_top_n"] == {"1": 5, "2": 3, "3": 2}


def test_worldskills_gives_medallions_from_700_on_the_standardised_scale(ctx):
    p = _preset("worldskills").latest.params
    assert p["award_scheme"] == "MEDAL"
    assert p["medallion_threshold"] == "700"
    assert p["standardise"] is True
    assert p["std_center"] == 700
    assert p["title"] is None


def test_national_class_1_employees_are_banded_by_rank_1_to_5_and_6_to_20(ctx):
    p = _preset("national_1_employee").latest.params
    assert p["award_scheme"] == "BANDS"
    assert [(b["from"], b["to"]) for b in p["rank_bands"]] == [(1, 5), (6, 20)]
    assert p["title_top_n"]["1"] == 5


def test_an_event_keeps_the_preset_version_it_was_created_on(ctx):
    actor = make_user("organiser", competition_id=None)
    copy = presets.copy_preset(
        actor, _preset("gd_provincial_2_employee"), key="gd-2026", name="本赛"
    )
    event = make_event(preset_version=copy.latest)
    v2 = presets.add_version(actor, copy, params={**copy.latest.params, "pass_mark": "70"})
    db.session.commit()
    assert v2.version == 2
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.preset_version.version == 1
    assert event.rules["pass_mark"] == "60"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"theory_weight": "0.4"}, "theory_weight"),
        ({"shares_pct": [50, 30, 30]}, "shares_pct"),
        ({"prize_cap_pct": 0}, "prize_cap_pct"),
        ({"merit_top_pct": 10}, "merit_top_pct"),
        ({"tie_chain": ["shared", "time"]}, "tie_chain"),
    ],
)
def test_a_contradictory_preset_edit_adds_no_version(ctx, change, field):
    copy = presets.copy_preset(None, _preset("gd_provincial_2_employee"), key="mine", name="我的")
    db.session.commit()
    with pytest.raises(InvalidInput) as info:
        presets.add_version(None, copy, params={**copy.latest.params, **change})
    assert info.value.field == field
    db.session.rollback()
    assert [v.version for v in db.session.get(RulePreset, copy.id).versions] == [1]


# ---------------------------------------------------------------- event rules


def test_event_rules_keep_only_the_parameters_that_differ(ctx):
    event = make_event()
    version = event.preset_version
    services.set_rules(
        None,
        event,
        preset_version=version,
        overrides={"pass_mark": "70", "prize_cap_pct": "20", "trim_min_judges": "5"},
    )
    assert event.overrides == {"pass_mark": "70"}
    assert event.rules["pass_mark"] == "70"
    assert version.params["pass_mark"] == "60"


def test_event_rules_are_checked_together_with_the_preset(ctx):
    event = make_event()
    with pytest.raises(InvalidInput) as info:
        services.set_rules(
            None,
            event,
            preset_version=event.preset_version,
            overrides={"theory_weight_max": "0.2"},
        )
    assert info.value.field == "theory_weight"


def test_one_changed_parameter_is_judged_against_the_rest_of_the_preset(ctx):
    # The student preset grants no title; granting one needs only the title itself, the
    # scope comes from the preset. A MEDAL preset switched to RATIO keeps the preset's cap.
    student = make_event(preset_version=_preset("gd_provincial_2_student").latest, group="student")
    services.set_rules(
        None,
        student,
        preset_version=student.preset_version,
        overrides={"title": "GD_TECH_EXPERT"},
    )
    assert student.overrides == {"title": "GD_TECH_EXPERT"}
    medal = make_event(preset_version=_preset("gd_provincial_1").latest)
    services.set_rules(
        None, medal, preset_version=medal.preset_version, overrides={"award_scheme": "RATIO"}
    )
    assert medal.rules["award_scheme"] == "RATIO"


def test_event_rules_are_fixed_once_registration_opens(ctx):
    event = make_event()
    event.state = EventState.REGISTRATION_OPEN
    with pytest.raises(Conflict):
        services.set_rules(
            None, event, preset_version=event.preset_version, overrides={"pass_mark": "70"}
        )
    assert event.overrides == {}


# ---------------------------------------------------------------- lifecycle


def _organiser_and_event(*, with_scheme=True):
    event = make_event()
    if with_scheme:
        give_scheme(event)
    user = make_user("organiser", competition_id=event.competition_id)
    return user, event


def test_registration_cannot_open_until_the_scheme_totals_100(ctx):
    user, event = _organiser_and_event(with_scheme=False)
    give_scheme(event, scheme_spec(total_b="39"))
    with pytest.raises(Conflict) as info:
        lifecycle.transition_event(
            user, event, EventState.REGISTRATION_OPEN, reason=None, now=utcnow()
        )
    assert info.value.params["guards"] == "preset_valid"
    assert event.state is EventState.DRAFT
    give_scheme(event)
    lifecycle.transition_event(user, event, EventState.REGISTRATION_OPEN, reason=None, now=utcnow())
    assert event.state is EventState.REGISTRATION_OPEN


def test_registration_closes_only_after_the_deadline(ctx):
    user, event = _organiser_and_event()
    now = utcnow()
    event.registration_deadline = now + timedelta(days=1)
    lifecycle.transition_event(user, event, EventState.REGISTRATION_OPEN, reason=None, now=now)
    with pytest.raises(Conflict) as info:
        lifecycle.transition_event(
            user, event, EventState.REGISTRATION_CLOSED, reason=None, now=now
        )
    assert info.value.params["guards"] == "registration_deadline_passed"
    later = now + timedelta(days=1, minutes=1)
    lifecycle.transition_event(user, event, EventState.REGISTRATION_CLOSED, reason=None, now=later)
    assert event.state is EventState.REGISTRATION_CLOSED


def test_reopening_registration_needs_a_reason_and_logs_it(ctx):
    user, event = _organiser_and_event()
    now = utcnow()
    lifecycle.transition_event(user, event, EventState.REGISTRATION_OPEN, reason=None, now=now)
    lifecycle.transition_event(user, event, EventState.REGISTRATION_CLOSED, reason=None, now=now)
    with pytest.raises(InvalidInput) as info:
        lifecycle.transition_event(user, event, EventState.REGISTRATION_OPEN, reason="  ", now=now)
    assert info.value.field == "reason"
    step = lifecycle.transition_event(
        user, event, EventState.REGISTRATION_OPEN, reason="延长报名至5月20日", now=now
    )
    assert step.reason == "延长报名至5月20日"
    entry = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "event.transition", AuditEntry.event_id == event.id)
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry.reason == "延长报名至5月20日"
    assert entry.after == {"state": "registration_open", "backward": True}


def test_every_transition_leaves_a_row_and_an_audit_entry(ctx):
    user, event = _organiser_and_event()
    now = utcnow()
    lifecycle.transition_event(user, event, EventState.REGISTRATION_OPEN, reason=None, now=now)
    lifecycle.transition_event(user, event, EventState.CANCELLED, reason="报名人数不足", now=now)
    rows = db.session.scalars(
        select(EventTransition).where(EventTransition.event_id == event.id)
    ).all()
    assert [(r.from_state, r.to_state, r.actor_id) for r in rows] == [
        (EventState.DRAFT, EventState.REGISTRATION_OPEN, user.id),
        (EventState.REGISTRATION_OPEN, EventState.CANCELLED, user.id),
    ]
    assert count(AuditEntry, AuditEntry.action == "event.transition") == 2


def test_a_step_out_of_order_is_refused(ctx):
    user, event = _organiser_and_event()
    with pytest.raises(Conflict):
        lifecycle.transition_event(user, event, EventState.DRAWN, reason=None, now=utcnow())
    assert event.state is EventState.DRAFT
    assert count(EventTransition) == 0


def test_cancelling_needs_a_reason(ctx):
    user, event = _organiser_and_event()
    with pytest.raises(InvalidInput):
        lifecycle.transition_event(user, event, EventState.CANCELLED, reason=None, now=utcnow())
    assert event.state is EventState.DRAFT


def test_a_chief_judge_cannot_open_registration(ctx):
    _, event = _organiser_and_event()
    judge = make_user("chief_judge", event_id=event.id)
    with pytest.raises(NotAllowed):
        lifecycle.transition_event(
            judge, event, EventState.REGISTRATION_OPEN, reason=None, now=utcnow()
        )
    assert event.state is EventState.DRAFT


def test_an_organiser_of_another_competition_cannot_move_the_event(ctx):
    _, event = _organiser_and_event()
    stranger = make_user("organiser", competition_id=make_competition().id)
    with pytest.raises(NotAllowed):
        lifecycle.transition_event(
            stranger, event, EventState.REGISTRATION_OPEN, reason=None, now=utcnow()
        )


def test_next_steps_explain_what_is_missing(ctx):
    user, event = _organiser_and_event(with_scheme=False)
    steps = {s.target: s for s in lifecycle.next_steps(user, event, now=utcnow())}
    assert steps[EventState.REGISTRATION_OPEN].ready is False
    assert steps[EventState.REGISTRATION_OPEN].missing == ("preset_valid",)
    assert steps[EventState.CANCELLED].ready is True


# ---------------------------------------------------------------- selection


def _national_event(group="employee"):
    national = make_competition(name="第三届全国技能大赛", tier="national_comprehensive")
    return make_event(national, code="N01", group=group)


def test_provincial_event_feeds_a_national_event_with_a_quota(ctx):
    source = make_event()
    target = _national_event()
    link = services.link_selection(None, source, target, quota=2)
    again = services.link_selection(None, source, target, quota=3)
    assert again.id == link.id
    assert count(SelectionLink) == 1
    assert link.quota == 3
    services.unlink_selection(None, link)
    assert count(SelectionLink) == 0


@pytest.mark.parametrize(
    ("tier", "group", "quota", "field"),
    [
        ("provincial_1", "employee", 2, "target_event_id"),  # same level
        ("city_1", "employee", 2, "target_event_id"),  # lower level
        ("national_comprehensive", "student", 2, "target_event_id"),  # other group
        ("national_comprehensive", "employee", 0, "quota"),
    ],
)
def test_selection_link_refuses_wrong_targets(ctx, tier, group, quota, field):
    source = make_event()
    target = make_event(make_competition(tier=tier), group=group)
    with pytest.raises(InvalidInput) as info:
        services.link_selection(None, source, target, quota=quota)
    assert info.value.field == field
    assert count(SelectionLink) == 0


@pytest.mark.parametrize(
    ("value", "ok"), [("75", True), (None, True), ("101", False), ("x", False)]
)
def test_title_score_threshold_is_a_mark_out_of_100(ctx, value, ok):
    params = {**_preset("gd_provincial_2_employee").latest.params, "title_min_score": value}
    if ok:
        assert validate_params(params)["title_min_score"] == value
    else:
        with pytest.raises(InvalidInput) as refused:
            validate_params(params)
        assert refused.value.field == "title_min_score"
