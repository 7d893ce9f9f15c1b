from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.errors import InvalidInput
from compete.domain.scheme import (
    AspectKind,
    CriterionSpec,
    ModuleSpec,
    SchemeSpec,
    check_mark,
    validate_scheme,
)


def scheme(*modules: tuple[str, list[CriterionSpec]]) -> SchemeSpec:
    return SchemeSpec(tuple(ModuleSpec(code, code, tuple(criteria)) for code, criteria in modules))


def good() -> SchemeSpec:
    return scheme(
        ("M1", [CriterionSpec("C1", D(30), D("0.5")), CriterionSpec("C2", D(10))]),
        ("M2", [CriterionSpec("C3", D(35), kind=AspectKind.JUDGEMENT)]),
        ("M3", [CriterionSpec("C4", D(25), D(1), judges=1)]),
    )


def test_module_weight_is_the_sum_of_its_criteria():
    spec = good()
    assert [m.max_mark for m in spec.modules] == [D(40), D(35), D(25)]
    assert spec.max_mark == D(100)
    assert spec.module_weights() == (("M1", D(40)), ("M2", D(35)), ("M3", D(25)))
    assert validate_scheme(spec) is spec


def invalid_field(spec: SchemeSpec, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        validate_scheme(spec, **kwargs)
    return info.value


def test_total_other_than_100_names_the_totals():
    spec = scheme(("M1", [CriterionSpec("C1", D(90))]))
    error = invalid_field(spec)
    assert error.params == {"actual": "90", "expected": "100"}
    assert validate_scheme(spec, total=D(90)) is spec


@pytest.mark.parametrize(
    ("criterion", "field"),
    [
        (CriterionSpec("BAD", D(0)), "max_mark"),
        (CriterionSpec("BAD", D(-5)), "max_mark"),
        (CriterionSpec("BAD", D(10), D(0)), "step"),
        (CriterionSpec("BAD", D(10), D(3)), "step"),
        (CriterionSpec("BAD", D(10), judges=0), "judges"),
        (CriterionSpec("BAD", D(10), tolerance=D(-1)), "tolerance"),
    ],
)
def test_bad_criterion_is_named(criterion, field):
    spec = scheme(("M1", [CriterionSpec("C1", D(90)), criterion]))
    error = invalid_field(spec)
    assert error.field == field
    assert error.params["code"] == "BAD"


def test_duplicate_codes_and_empty_modules_are_named():
    dup_module = scheme(("M1", [CriterionSpec("C1", D(50))]), ("M1", [CriterionSpec("C2", D(50))]))
    assert invalid_field(dup_module).params == {"code": "M1"}
    dup_criterion = scheme(
        ("M1", [CriterionSpec("C1", D(50))]), ("M2", [CriterionSpec("C1", D(50))])
    )
    assert invalid_field(dup_criterion).params == {"code": "C1"}
    empty = scheme(("M1", [CriterionSpec("C1", D(100))]), ("M2", []))
    assert invalid_field(empty).params == {"code": "M2"}
    assert invalid_field(SchemeSpec(())).field == "modules"


def test_check_mark_range_and_step():
    criterion = CriterionSpec("C1", D(30), D("0.5"))
    assert check_mark(criterion, "25.5") == D("25.5")
    assert check_mark(criterion, 0) == D(0)
    assert check_mark(criterion, D(30)) == D(30)
    for bad in (D("30.5"), D(-1), D("25.25")):
        with pytest.raises(InvalidInput) as info:
            check_mark(criterion, bad)
        assert info.value.field == "C1"
    with pytest.raises(InvalidInput):
        check_mark(criterion, 25.5)


def test_check_mark_in_worldskills_judgement_mode_takes_0_to_3():
    criterion = CriterionSpec("J1", D("1.5"), D("0.01"), kind=AspectKind.JUDGEMENT, judges=3)
    assert check_mark(criterion, 3, ws_judgement=True) == D(3)
    with pytest.raises(InvalidInput):
        check_mark(criterion, 3)  # above max 1.5 outside 0–3 mode
    with pytest.raises(InvalidInput):
        check_mark(criterion, D("1.5"), ws_judgement=True)


@given(st.integers(1, 400), st.sampled_from([D("0.01"), D("0.1"), D("0.25"), D("0.5"), D(1)]))
def test_marks_on_the_step_grid_pass_and_off_grid_fail(steps, step):
    criterion = CriterionSpec("C", step * 400, step)
    assert check_mark(criterion, step * steps) == step * steps
    with pytest.raises(InvalidInput):
        check_mark(criterion, step * steps - step / 2)


@given(st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_any_split_of_100_validates_and_any_other_total_fails(parts):
    maxima = [*parts, 100 - sum(parts)] if sum(parts) < 100 else parts
    spec = scheme(*((f"M{i}", [CriterionSpec(f"C{i}", D(m))]) for i, m in enumerate(maxima)))
    if sum(maxima) == 100 and all(m > 0 for m in maxima):
        assert validate_scheme(spec) is spec
    else:
        with pytest.raises(InvalidInput):
            validate_scheme(spec)


def test_frozen():
    criterion = CriterionSpec("C1", D(10))
    with pytest.raises(AttributeError):
        criterion.max_mark = D(20)  # type: ignore[misc]
    assert replace(criterion, max_mark=D(20)).max_mark == D(20)
