"""The life of one competition event (§3) as a state machine.

Each transition names the roles that may trigger it and the guard keys the application must
answer with booleans (a missing key counts as False). Going back always needs a written reason;
so does cancelling. Cancelling is possible from any state before ``final``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from . import N_
from .errors import Conflict, InvalidInput, NotAllowed


class EventState(StrEnum):
    """The states of §3, in their forward order (``cancelled`` last)."""

    DRAFT = "draft"
    REGISTRATION_OPEN = "registration_open"
    REGISTRATION_CLOSED = "registration_closed"
    DRAWN = "drawn"
    IN_PROGRESS = "in_progress"
    SCORING_LOCKED = "scoring_locked"
    UNDER_REVIEW = "under_review"
    PUBLICITY = "publicity"
    FINAL = "final"
    AWARDS_ISSUED = "awards_issued"
    CANCELLED = "cancelled"


ORGANISER = "organiser"
CHIEF_JUDGE = "chief_judge"
SUPERVISOR = "supervisor"
ENCRYPTION_JUDGE = "encryption_judge"
ADMIN = "admin"


@dataclass(frozen=True)
class Transition:
    """One allowed move: who may make it, what must hold, whether a reason is required."""

    source: EventState
    target: EventState
    roles: frozenset[str]
    guards: tuple[str, ...] = ()
    needs_reason: bool = False
    backward: bool = False


def _t(
    source: EventState,
    target: EventState,
    roles: tuple[str, ...],
    guards: tuple[str, ...] = (),
    *,
    backward: bool = False,
    needs_reason: bool = False,
) -> Transition:
    return Transition(source, target, frozenset(roles), guards, needs_reason or backward, backward)


_S = EventState
_ORG = (ORGANISER, ADMIN)

TRANSITIONS: Mapping[tuple[EventState, EventState], Transition] = MappingProxyType(
    {
        (t.source, t.target): t
        for t in (
            _t(_S.DRAFT, _S.REGISTRATION_OPEN, _ORG, ("preset_valid",)),
            _t(
                _S.REGISTRATION_OPEN,
                _S.REGISTRATION_CLOSED,
                _ORG,
                ("registration_deadline_passed",),
            ),
            _t(_S.REGISTRATION_CLOSED, _S.REGISTRATION_OPEN, _ORG, backward=True),
            _t(
                _S.REGISTRATION_CLOSED,
                _S.DRAWN,
                (*_ORG, ENCRYPTION_JUDGE),
                ("entries_decided", "panel_drawn", "recusal_clean", "scheme_frozen"),
            ),
            _t(_S.DRAWN, _S.IN_PROGRESS, (*_ORG, CHIEF_JUDGE), ("start_time_reached",)),
            _t(_S.IN_PROGRESS, _S.SCORING_LOCKED, (CHIEF_JUDGE,), ("all_sheets_locked",)),
            # Unlock = chief judge + supervisor + reason: the supervisor's consent is a guard.
            _t(
                _S.SCORING_LOCKED,
                _S.IN_PROGRESS,
                (CHIEF_JUDGE,),
                ("supervisor_consent",),
                backward=True,
            ),
            _t(_S.SCORING_LOCKED, _S.UNDER_REVIEW, (CHIEF_JUDGE,), ("totals_submitted",)),
            _t(
                _S.UNDER_REVIEW,
                _S.PUBLICITY,
                (*_ORG, SUPERVISOR),
                ("recheck_done", "unsealed", "ranks_computed"),
            ),
            # An upheld objection or appeal sends the results back to review.
            _t(_S.PUBLICITY, _S.UNDER_REVIEW, (SUPERVISOR, *_ORG), backward=True),
            _t(_S.PUBLICITY, _S.FINAL, _ORG, ("publicity_over_no_open_appeals",)),
            _t(_S.FINAL, _S.AWARDS_ISSUED, _ORG, ("results_final", "external_decisions_in")),
            *(
                _t(state, _S.CANCELLED, _ORG, needs_reason=True)
                for state in (
                    _S.DRAFT,
                    _S.REGISTRATION_OPEN,
                    _S.REGISTRATION_CLOSED,
                    _S.DRAWN,
                    _S.IN_PROGRESS,
                    _S.SCORING_LOCKED,
                    _S.UNDER_REVIEW,
                    _S.PUBLICITY,
                )
            ),
        )
    }
)


def allowed_transitions(current: EventState | str, *, role: str | None = None) -> list[Transition]:
    """Transitions out of ``current`` (only those ``role`` may trigger, when given)."""
    current = EventState(current)
    return [
        t
        for (source, _target), t in TRANSITIONS.items()
        if source is current and (role is None or role in t.roles)
    ]


def check_transition(
    current: EventState | str,
    target: EventState | str,
    *,
    role: str,
    reason: str | None = None,
    guards: Mapping[str, bool] | None = None,
) -> Transition:
    """Allow ``current → target`` for ``role`` or raise, checking in this order:

    1. the move exists (Conflict);
    2. the role may make it (NotAllowed);
    3. a non-blank reason when going back or cancelling (InvalidInput, field ``reason``);
    4. every guard key is True (Conflict naming the failing keys).
    Returns the transition (so the caller can log ``backward`` and the reason).
    """
    current, target = EventState(current), EventState(target)
    if current is target:
        raise Conflict(N_("The event is already in state %(state)s."), state=current.value)
    transition = TRANSITIONS.get((current, target))
    if transition is None:
        raise Conflict(
            N_("An event cannot go from %(current)s to %(target)s."),
            current=current.value,
            target=target.value,
        )
    if role not in transition.roles:
        raise NotAllowed(
            N_("The %(role)s role cannot move an event from %(current)s to %(target)s."),
            role=role,
            current=current.value,
            target=target.value,
        )
    if transition.needs_reason and not (reason and reason.strip()):
        raise InvalidInput(
            N_("Moving an event from %(current)s to %(target)s needs a reason."),
            field="reason",
            current=current.value,
            target=target.value,
        )
    answers = guards or {}
    failing = [key for key in transition.guards if answers.get(key) is not True]
    if failing:
        raise Conflict(
            N_("The event cannot move to %(target)s yet: %(guards)s."),
            target=target.value,
            guards=", ".join(failing),
        )
    return transition
