"""Editing an event's marking scheme: only while the event is a draft."""

from __future__ import annotations

from decimal import Decimal

from ... import audit
from ...domain import N_
from ...domain.aggregation import Aggregation
from ...domain.errors import Conflict, InvalidInput
from ...domain.lifecycle import EventState
from ...domain.scheme import AspectKind, CriterionSpec, validate_criterion
from ...extensions import db
from ...models import Event, MarkingScheme, SchemeCriterion, SchemeModule

EDITABLE_STATES = {EventState.DRAFT}


def check_scheme_editable(event: Event) -> None:
    if event.state not in EDITABLE_STATES:
        raise Conflict(N_("The marking scheme is frozen once registration opens."))


def scheme_for(event: Event) -> MarkingScheme:
    """The event's scheme, created empty when missing (flushed)."""
    if event.scheme is None:
        event.scheme = MarkingScheme(event_id=event.id)
        db.session.flush()
    return event.scheme


def snapshot(scheme: MarkingScheme) -> list[dict]:
    return [
        {
            "code": m.code,
            "name": m.name,
            "criteria": [
                {
                    "code": c.code,
                    "max": str(c.max_mark),
                    "step": str(c.step),
                    "kind": c.kind.value,
                    "judges": c.judges,
                    "aggregation": c.aggregation.value,
                    "tolerance": str(c.tolerance) if c.tolerance is not None else None,
                }
                for c in m.criteria
            ],
        }
        for m in scheme.modules
    ]


def _all_codes(scheme: MarkingScheme) -> set[str]:
    return {c.code for m in scheme.modules for c in m.criteria}


def add_module(actor, event: Event, *, code: str, name: str) -> SchemeModule:
    check_scheme_editable(event)
    scheme = scheme_for(event)
    code = code.strip()
    if not code:
        raise InvalidInput(N_("A module needs a code."), field="code")
    if any(m.code == code for m in scheme.modules):
        raise InvalidInput(N_("The module code %(code)s is already used."), field="code", code=code)
    module = SchemeModule(
        scheme=scheme, code=code, name=name.strip() or code, position=len(scheme.modules) + 1
    )
    db.session.add(module)
    db.session.flush()
    audit.record(
        actor,
        "scheme.module_added",
        module,
        event_id=event.id,
        competition_id=event.competition_id,
        after={"code": code, "name": module.name},
    )
    return module


def delete_module(actor, event: Event, module: SchemeModule) -> None:
    check_scheme_editable(event)
    before = {"code": module.code, "name": module.name, "criteria": len(module.criteria)}
    scheme = module.scheme
    scheme.modules.remove(module)
    for position, m in enumerate(scheme.modules, start=1):
        m.position = position
    db.session.flush()
    audit.record(
        actor,
        "scheme.module_deleted",
        scheme,
        event_id=event.id,
        competition_id=event.competition_id,
        before=before,
    )


def add_criterion(
    actor,
    event: Event,
    module: SchemeModule,
    *,
    code: str,
    description: str,
    kind: str,
    max_mark: Decimal,
    step: Decimal,
    judges: int,
    aggregation: str | None,
    tolerance: Decimal | None,
    double_entry: bool = False,
) -> SchemeCriterion:
    check_scheme_editable(event)
    code = code.strip()
    if code in _all_codes(module.scheme):
        raise InvalidInput(
            N_("The criterion code %(code)s is already used."), field="code", code=code
        )
    aggregation = Aggregation(aggregation or event.rules.get("aggregation", "trimmed_mean"))
    spec = CriterionSpec(
        code=code,
        max_mark=max_mark,
        step=step,
        kind=AspectKind(kind),
        aggregation=aggregation,
        judges=judges,
        tolerance=tolerance,
    )
    validate_criterion(spec)
    criterion = SchemeCriterion(
        module=module,
        code=code,
        description=description.strip(),
        kind=spec.kind,
        max_mark=spec.max_mark,
        step=spec.step,
        judges=judges,
        aggregation=aggregation,
        tolerance=tolerance,
        double_entry=double_entry,
        position=len(module.criteria) + 1,
    )
    db.session.add(criterion)
    db.session.flush()
    audit.record(
        actor,
        "scheme.criterion_added",
        criterion,
        event_id=event.id,
        competition_id=event.competition_id,
        after={"module": module.code, "code": code, "max": max_mark},
    )
    return criterion


def delete_criterion(actor, event: Event, criterion: SchemeCriterion) -> None:
    check_scheme_editable(event)
    module = criterion.module
    before = {"module": module.code, "code": criterion.code, "max": criterion.max_mark}
    module.criteria.remove(criterion)
    for position, c in enumerate(module.criteria, start=1):
        c.position = position
    db.session.flush()
    audit.record(
        actor,
        "scheme.criterion_deleted",
        module.scheme,
        event_id=event.id,
        competition_id=event.competition_id,
        before=before,
    )


def replace_scheme(actor, event: Event, parsed) -> MarkingScheme:
    """Replace the whole scheme with an imported one (``scheme_excel.ParsedScheme``)."""
    check_scheme_editable(event)
    scheme = scheme_for(event)
    before = snapshot(scheme)
    scheme.modules.clear()
    db.session.flush()
    for m_pos, module_spec in enumerate(parsed.spec.modules, start=1):
        # Appended to the scheme below; passing scheme= too would list the module twice.
        module = SchemeModule(
            code=module_spec.code,
            name=parsed.module_names.get(module_spec.code, module_spec.name),
            position=m_pos,
        )
        for c_pos, c in enumerate(module_spec.criteria, start=1):
            module.criteria.append(
                SchemeCriterion(
                    code=c.code,
                    description=parsed.descriptions.get(c.code, ""),
                    kind=c.kind,
                    max_mark=c.max_mark,
                    step=c.step,
                    judges=c.judges,
                    aggregation=c.aggregation,
                    tolerance=c.tolerance,
                    double_entry=c.code in parsed.double_entry,
                    position=c_pos,
                )
            )
        scheme.modules.append(module)
    db.session.flush()
    audit.record(
        actor,
        "scheme.imported",
        scheme,
        event_id=event.id,
        competition_id=event.competition_id,
        before={"modules": before},
        after={"modules": snapshot(scheme)},
    )
    return scheme
