from __future__ import annotations

import pytest

from compete.domain.errors import Conflict, InvalidInput, NotAllowed
from compete.domain.lifecycle import (
    TRANSITIONS,
    EventState,
    allowed_transitions,
    check_transition,
)

S = EventState
FORWARD = [
    (S.DRAFT, S.REGISTRATION_OPEN, "organiser"),
    (S.REGISTRATION_OPEN, S.REGISTRATION_CLOSED, "organiser"),
    (S.REGISTRATION_CLOSED, S.DRAWN, "encryption_judge"),
    (S.DRAWN, S.IN_PROGRESS, "chief_judge"),
    (S.IN_PROGRESS, S.SCORING_LOCKED, "chief_judge"),
    (S.SCORING_LOCKED, S.UNDER_REVIEW, "chief_judge"),
    (S.UNDER_REVIEW, S.PUBLICITY, "supervisor"),
    (S.PUBLICITY, S.FINAL, "organiser"),
    (S.FINAL, S.AWARDS_ISSUED, "organiser"),
]


def all_true(current, target):
    return dict.fromkeys(TRANSITIONS[(current, target)].guards, True)


def test_the_whole_forward_path_with_guards_met():
    for current, target, role in FORWARD:
        transition = check_transition(current, target, role=role, guards=all_true(current, target))
        assert transition.backward is False


def test_named_guards():
    assert TRANSITIONS[(S.DRAFT, S.REGISTRATION_OPEN)].guards == ("preset_valid",)
    assert (
        "registration_deadline_passed"
        in TRANSITIONS[(S.REGISTRATION_OPEN, S.REGISTRATION_CLOSED)].guards
    )
    assert {"entries_decided", "panel_drawn"} <= set(
        TRANSITIONS[(S.REGISTRATION_CLOSED, S.DRAWN)].guards
    )
    assert TRANSITIONS[(S.IN_PROGRESS, S.SCORING_LOCKED)].guards == ("all_sheets_locked",)
    assert "recheck_done" in TRANSITIONS[(S.UNDER_REVIEW, S.PUBLICITY)].guards
    assert TRANSITIONS[(S.PUBLICITY, S.FINAL)].guards == ("publicity_over_no_open_appeals",)
    assert "results_final" in TRANSITIONS[(S.FINAL, S.AWARDS_ISSUED)].guards


def test_failing_or_missing_guards_are_listed():
    guards = all_true(S.REGISTRATION_CLOSED, S.DRAWN) | {"panel_drawn": False}
    del guards["entries_decided"]
    with pytest.raises(Conflict) as info:
        check_transition(S.REGISTRATION_CLOSED, S.DRAWN, role="organiser", guards=guards)
    assert info.value.params["guards"] == "entries_decided, panel_drawn"


def test_skipping_states_is_a_conflict():
    with pytest.raises(Conflict):
        check_transition(S.DRAFT, S.DRAWN, role="admin", guards={})
    with pytest.raises(Conflict):
        check_transition(S.PUBLICITY, S.PUBLICITY, role="organiser")
    with pytest.raises(Conflict):
        check_transition(S.FINAL, S.PUBLICITY, role="organiser", reason="x")


def test_wrong_role_is_not_allowed():
    with pytest.raises(NotAllowed):
        check_transition(
            S.IN_PROGRESS, S.SCORING_LOCKED, role="organiser", guards={"all_sheets_locked": True}
        )
    with pytest.raises(NotAllowed):
        check_transition(
            S.DRAFT, S.REGISTRATION_OPEN, role="chief_judge", guards={"preset_valid": True}
        )


def test_going_back_needs_a_reason():
    unlock = (S.SCORING_LOCKED, S.IN_PROGRESS)
    with pytest.raises(InvalidInput) as info:
        check_transition(
            *unlock, role="chief_judge", reason="  ", guards={"supervisor_consent": True}
        )
    assert info.value.field == "reason"
    with pytest.raises(Conflict):  # the supervisor must agree
        check_transition(*unlock, role="chief_judge", reason="typo in C3", guards={})
    transition = check_transition(
        *unlock, role="chief_judge", reason="typo in C3", guards={"supervisor_consent": True}
    )
    assert transition.backward is True
    appeal = check_transition(
        S.PUBLICITY, S.UNDER_REVIEW, role="supervisor", reason="appeal upheld"
    )
    assert appeal.backward is True
    reopen = check_transition(
        S.REGISTRATION_CLOSED, S.REGISTRATION_OPEN, role="organiser", reason="extended"
    )
    assert reopen.backward is True


def test_cancel_from_any_state_before_final_with_a_reason():
    before_final = [s for s in S if s not in (S.FINAL, S.AWARDS_ISSUED, S.CANCELLED)]
    assert len(before_final) == 8
    for state in before_final:
        with pytest.raises(InvalidInput):
            check_transition(state, S.CANCELLED, role="organiser")
        assert check_transition(state, S.CANCELLED, role="organiser", reason="venue flooded")
    for state in (S.FINAL, S.AWARDS_ISSUED):
        with pytest.raises(Conflict):
            check_transition(state, S.CANCELLED, role="organiser", reason="too late")
    assert allowed_transitions(S.CANCELLED) == []


def test_every_backward_transition_needs_a_reason_and_every_state_is_reachable():
    assert all(t.needs_reason for t in TRANSITIONS.values() if t.backward)
    reachable = {S.DRAFT}
    frontier = [S.DRAFT]
    while frontier:
        state = frontier.pop()
        for t in allowed_transitions(state):
            if t.target not in reachable:
                reachable.add(t.target)
                frontier.append(t.target)
    assert reachable == set(S)


def test_allowed_transitions_filtered_by_role():
    targets = {t.target for t in allowed_transitions(S.PUBLICITY, role="supervisor")}
    assert targets == {S.UNDER_REVIEW}
    assert {t.target for t in allowed_transitions("publicity", role="organiser")} == {
        S.UNDER_REVIEW,
        S.FINAL,
        S.CANCELLED,
    }
