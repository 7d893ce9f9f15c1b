"""Moving an event through its lifecycle: guards read from the data, every step logged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ... import audit
from ...domain import N_
from ...domain.errors import DomainError, InvalidInput, NotAllowed
from ...domain.lifecycle import EventState, Transition, allowed_transitions, check_transition
from ...domain.rules import validate_params
from ...domain.scheme import validate_scheme
from ...extensions import db
from ...models import Event, EventTransition, Role, User
from ..judging.services import panel_drawn, recusal_clean, sheets_complete
from ..judging.unseal import unsealed
from ..registration.services import entries_decided

# What each guard means to a person, shown beside a disabled button.
GUARD_LABELS = {
    "preset_valid": N_("the rules are valid and the marking scheme totals 100"),
    "registration_deadline_passed": N_("the registration deadline has passed"),
    "entries_decided": N_("every registration is approved or rejected"),
    "panel_drawn": N_("the judging panel is drawn"),
    "recusal_clean": N_("no judge has a conflict of interest"),
    "scheme_frozen": N_("the marking scheme is complete"),
    "start_time_reached": N_("the start time has been reached"),
    "all_sheets_locked": N_("every criterion is fully marked and no disagreement is open"),
    "supervisor_consent": N_("a supervisor agrees"),
    "totals_submitted": N_("every entry's totals are stored and no disagreement is open"),
    "recheck_done": N_("the score review is complete"),
    "unsealed": N_("the marking codes are unsealed"),
    "ranks_computed": N_("the ranking is computed"),
    "publicity_over_no_open_appeals": N_("the publicity period is over with no open appeal"),
    "results_final": N_("the results are final"),
    "external_decisions_in": N_(
        "the awards are allocated and the approving authority has decided on every title and"
        " promotion"
    ),
}

STATE_LABELS = {
    EventState.DRAFT: N_("Draft"),
    EventState.REGISTRATION_OPEN: N_("Registration open"),
    EventState.REGISTRATION_CLOSED: N_("Eligibility review"),
    EventState.DRAWN: N_("Drawn"),
    EventState.IN_PROGRESS: N_("In progress"),
    EventState.SCORING_LOCKED: N_("Scoring locked"),
    EventState.UNDER_REVIEW: N_("Score review"),
    EventState.PUBLICITY: N_("Publicity"),
    EventState.FINAL: N_("Final"),
    EventState.AWARDS_ISSUED: N_("Awards issued"),
    EventState.CANCELLED: N_("Cancelled"),
}

# The button that moves an event forward, by target state.
ACTION_LABELS = {
    EventState.REGISTRATION_OPEN: N_("Open registration"),
    EventState.REGISTRATION_CLOSED: N_("Close registration"),
    EventState.DRAWN: N_("Confirm the draw"),
    EventState.IN_PROGRESS: N_("Start the event"),
    EventState.SCORING_LOCKED: N_("Lock scoring"),
    EventState.UNDER_REVIEW: N_("Submit totals for review"),
    EventState.PUBLICITY: N_("Publish provisional results"),
    EventState.FINAL: N_("Declare results final"),
    EventState.AWARDS_ISSUED: N_("Issue awards"),
    EventState.CANCELLED: N_("Cancel the event"),
}

FORWARD_ORDER = [s for s in EventState if s is not EventState.CANCELLED]


def _scheme_complete(event: Event, now: datetime) -> bool:
    scheme = event.scheme
    if scheme is None or not scheme.modules:
        return False
    try:
        validate_scheme(scheme.spec())
    except DomainError:
        return False
    return True


def _preset_valid(event: Event, now: datetime) -> bool:
    try:
        validate_params(event.rules)
    except DomainError:
        return False
    return _scheme_complete(event, now)


def _deadline_passed(event: Event, now: datetime) -> bool:
    return event.registration_deadline is None or event.registration_deadline <= now


def _start_reached(event: Event, now: datetime) -> bool:
    return event.start_at is None or event.start_at <= now


GuardFn = Callable[[Event, datetime], bool]

# Guards the data can answer; a guard of a stage not set up answers False and keeps the button
# disabled with its reason shown.
GUARDS: dict[str, GuardFn] = {
    "all_sheets_locked": sheets_complete,
    "panel_drawn": panel_drawn,
    "recusal_clean": recusal_clean,
    "entries_decided": entries_decided,
    "preset_valid": _preset_valid,
    "registration_deadline_passed": _deadline_passed,
    "scheme_frozen": _scheme_complete,
    "start_time_reached": _start_reached,
    "unsealed": unsealed,
    # Added when the app is built (``results.publicity_views``): totals_submitted,
    # recheck_done, ranks_computed, publicity_over_no_open_appeals, results_final;
    # (``awards.views``) external_decisions_in; (``judging.pairing_views``) supervisor_consent.
}


def evaluate_guards(event: Event, keys, now: datetime) -> dict[str, bool]:
    return {key: bool(GUARDS[key](event, now)) if key in GUARDS else False for key in keys}


def event_roles(user: User, event: Event) -> list[str]:
    """The lifecycle roles ``user`` holds for ``event`` (as the pure rules name them)."""
    roles = []
    for a in user.assignments:
        if a.role is Role.ADMIN:
            roles.append("admin")
        elif a.role is Role.ORGANISER and a.competition_id == event.competition_id:
            roles.append("organiser")
        elif a.event_id == event.id and a.role in (
            Role.CHIEF_JUDGE,
            Role.SUPERVISOR,
            Role.ENCRYPTION_JUDGE,
        ):
            roles.append(a.role.value)
    return roles


@dataclass(frozen=True)
class NextStep:
    transition: Transition
    ready: bool
    missing: tuple[str, ...]  # guard keys not yet satisfied

    @property
    def target(self) -> EventState:
        return self.transition.target


def next_steps(user: User, event: Event, *, now: datetime) -> list[NextStep]:
    """The moves ``user`` may make from the event's state, each with its guards' answers."""
    roles = set(event_roles(user, event))
    steps = []
    for transition in allowed_transitions(event.state):
        if not roles & transition.roles:
            continue
        answers = evaluate_guards(event, transition.guards, now)
        missing = tuple(k for k in transition.guards if not answers[k])
        steps.append(NextStep(transition, ready=not missing, missing=missing))
    steps.sort(key=lambda s: (s.transition.backward, s.target is EventState.CANCELLED))
    return steps


# ---------------------------------------------------------------- on entering a state

OnEnter = Callable[[User, Event, EventTransition, datetime], None]

# Work done when an event enters a state, inside the transition's transaction, after the step
# is logged: storing the totals on lock, the publication on publicity, its withdrawal when the
# results go back to review, finalisation on final. The results package registers its hooks and
# guards when the app is built (``results.publicity_views``); it imports this module, so this
# module cannot import it.
ON_ENTER: dict[EventState, list[OnEnter]] = {}


def on_enter(state: EventState, hook: OnEnter) -> None:
    """Run ``hook(actor, event, step, now)`` whenever an event enters ``state`` (once each)."""
    hooks = ON_ENTER.setdefault(EventState(state), [])
    if hook not in hooks:
        hooks.append(hook)


def transition_event(
    actor: User, event: Event, target: EventState | str, *, reason: str | None, now: datetime
) -> EventTransition:
    """Move ``event`` to ``target`` if a role of ``actor`` may and every guard holds; then run
    the state's ``ON_ENTER`` hook (publication, withdrawal, finalisation) in the same
    transaction."""
    target = EventState(target)
    roles = event_roles(actor, event)
    if not roles:
        raise NotAllowed()
    transition_roles = {t.target: t.roles for t in allowed_transitions(event.state)}.get(
        target, frozenset()
    )
    role = next((r for r in roles if r in transition_roles), roles[0])
    guard_keys = [
        k for t in allowed_transitions(event.state) if t.target is target for k in t.guards
    ]
    transition = check_transition(
        event.state,
        target,
        role=role,
        reason=reason,
        guards=evaluate_guards(event, guard_keys, now),
    )
    if reason is not None and len(reason) > 2000:
        raise InvalidInput(N_("The reason is too long (2,000 characters at most)."), field="reason")
    step = EventTransition(
        event=event,
        from_state=event.state,
        to_state=target,
        actor_id=actor.id,
        at=now,
        reason=(reason or "").strip() or None,
    )
    before = event.state
    event.state = target
    db.session.add(step)
    db.session.flush()
    audit.record(
        actor,
        "event.transition",
        event,
        before={"state": before},
        after={"state": target, "backward": transition.backward},
        reason=step.reason,
        event_id=event.id,
    )
    for hook in ON_ENTER.get(target, ()):
        hook(actor, event, step, now)
    return step
