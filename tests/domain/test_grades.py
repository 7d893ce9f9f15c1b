from __future__ import annotations

import pytest

from compete.domain.errors import InvalidInput
from compete.domain.grades import GRADE_LABELS, Grade, grade_label, parse_grade


def test_grades_are_ordered_as_the_ladder():
    assert list(Grade) == sorted(Grade)
    assert Grade.APPRENTICE < Grade.L5 < Grade.L4 < Grade.L3 < Grade.L2 < Grade.L1
    assert (Grade.L1, Grade.PRINCIPAL, Grade.CHIEF) == (5, 6, 7)


def test_every_grade_has_a_label_that_parses_back():
    assert set(GRADE_LABELS) == set(Grade)
    for grade in Grade:
        assert parse_grade(grade_label(grade)) is grade
    assert grade_label(Grade.L3) == "三级/高级工"


@pytest.mark.parametrize(
    ("raw", "grade"),
    [
        ("技师", Grade.L2),
        ("二级", Grade.L2),
        ("高级技师", Grade.L1),
        ("一级/高级技师", Grade.L1),
        ("一级／高级技师", Grade.L1),
        ("高级工", Grade.L3),
        ("三级", Grade.L3),
        ("中级工", Grade.L4),
        ("四级（中级工）", Grade.L4),
        ("初级工", Grade.L5),
        ("五级", Grade.L5),
        ("技师(二级)", Grade.L2),
        ("二级技师", Grade.L2),
        (" 3级 ", Grade.L3),
        ("学徒工", Grade.APPRENTICE),
        ("特级技师", Grade.PRINCIPAL),
        ("首席技师", Grade.CHIEF),
        ("l2", Grade.L2),
    ],
)
def test_common_spellings(raw, grade):
    assert parse_grade(raw) is grade


@pytest.mark.parametrize("raw", ["高级", "", "六级", "二级/高级技师", "工程师", "技师技师x"])
def test_unknown_or_contradictory_spellings_are_refused(raw):
    with pytest.raises(InvalidInput) as info:
        parse_grade(raw)
    assert info.value.field == "grade"
