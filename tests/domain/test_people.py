from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.errors import InvalidInput
from compete.domain.people import (
    RetirementKind,
    age_ineligibility,
    age_on,
    mask_name,
    mask_phone,
    normalise_name,
    normalise_phone,
    retirement_age_months,
    retirement_date,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  张三  ", "张三"),
        ("张\u3000三", "张三"),
        ("张 三", "张三"),
        ("艾尔肯•买买提", "艾尔肯·买买提"),
        ("艾尔肯‧买买提", "艾尔肯·买买提"),
        ("艾尔肯・买买提", "艾尔肯·买买提"),
        ("艾尔肯･买买提", "艾尔肯·买买提"),
        ("艾尔肯．买买提", "艾尔肯·买买提"),
        ("艾尔肯.买买提", "艾尔肯·买买提"),
        ("艾尔肯 · 买买提", "艾尔肯·买买提"),
        ("ＪＯＨＮ  Ｓｍｉｔｈ", "JOHN Smith"),
        ("J. Smith", "J. Smith"),
        ("王ＡＢ", "王AB"),
        ("𠀾小明", "𠀾小明"),  # CJK Ext B kept
        ("e\u0301lise", "\u00e9lise"),  # NFC
    ],
)
def test_normalise_name(raw, expected):
    assert normalise_name(raw) == expected


def test_name_limits():
    assert len(normalise_name("张" * 50)) == 50
    with pytest.raises(InvalidInput) as info:
        normalise_name("张" * 51)
    assert info.value.params == {"max": 50, "length": 51}
    for bad in ("", "   ", "\u3000", "张\x00三"):
        with pytest.raises(InvalidInput):
            normalise_name(bad)


@given(st.text(min_size=1, max_size=60))
def test_name_normalisation_is_idempotent(raw):
    try:
        once = normalise_name(raw)
    except InvalidInput:
        return
    assert normalise_name(once) == once
    assert len(once) <= 50


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("020-87654321", "020-87654321"),
        ("02087654321", "02087654321"),
        ("0755-1234567", "0755-1234567"),
        ("+86 20 8765 4321", "02087654321"),
    ],
)
def test_normalise_phone(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["12812345678", "1381234567", "138123456789", "20-87654321", "phone", ""]
)
def test_bad_phones_are_refused(raw):
    with pytest.raises(InvalidInput) as info:
        normalise_phone(raw)
    assert info.value.field == "phone"


def test_mask_phone():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("020-87654321") == "020-****4321"


def test_age_on():
    assert age_on(date(2000, 6, 15), date(2016, 6, 14)) == 15
    assert age_on(date(2000, 6, 15), date(2016, 6, 15)) == 16
    assert age_on(date(2004, 2, 29), date(2021, 2, 28)) == 16
    assert age_on(date(2004, 2, 29), date(2021, 3, 1)) == 17
    with pytest.raises(InvalidInput):
        age_on(date(2020, 1, 1), date(2019, 1, 1))


@pytest.mark.parametrize(
    ("born", "sex", "kind", "months", "retires"),
    [
        (date(1964, 12, 31), "M", None, 60 * 12, date(2024, 12, 31)),
        (date(1965, 1, 10), "M", None, 60 * 12 + 1, date(2025, 2, 10)),
        (date(1965, 4, 30), "M", None, 60 * 12 + 1, date(2025, 5, 30)),
        (date(1965, 5, 1), "M", None, 60 * 12 + 2, date(2025, 7, 1)),
        (date(1976, 8, 1), "M", None, 62 * 12 + 11, date(2039, 7, 1)),
        (date(1976, 9, 1), "M", None, 63 * 12, date(2039, 9, 1)),
        (date(1990, 1, 1), "M", "male", 63 * 12, date(2053, 1, 1)),
        (date(1969, 12, 1), "F", RetirementKind.FEMALE_CADRE, 55 * 12, date(2024, 12, 1)),
        (date(1970, 1, 1), "F", "female_cadre", 55 * 12 + 1, date(2025, 2, 1)),
        (date(1981, 9, 1), "F", "female_cadre", 58 * 12, date(2039, 9, 1)),
        (date(1974, 12, 1), "F", "female_worker", 50 * 12, date(2024, 12, 1)),
        (date(1975, 1, 1), "F", "female_worker", 50 * 12 + 1, date(2025, 2, 1)),
        (date(1975, 3, 1), "F", "female_worker", 50 * 12 + 2, date(2025, 5, 1)),
        (date(1984, 10, 1), "F", "female_worker", 54 * 12 + 11, date(2039, 9, 1)),
        (date(1984, 11, 1), "F", "female_worker", 55 * 12, date(2039, 11, 1)),
        (date(1965, 1, 31), "M", None, 60 * 12 + 1, date(2025, 2, 28)),
    ],
)
def test_statutory_retirement_schedule(born, sex, kind, months, retires):
    assert retirement_age_months(born, sex, kind) == months
    assert retirement_date(born, sex, kind) == retires


def test_retirement_kind_must_fit_the_sex():
    with pytest.raises(InvalidInput):
        retirement_date(date(1970, 1, 1), "F")
    with pytest.raises(InvalidInput):
        retirement_date(date(1970, 1, 1), "M", "female_worker")
    with pytest.raises(InvalidInput):
        retirement_date(date(1970, 1, 1), "F", "male")
    with pytest.raises(InvalidInput):
        retirement_date(date(1970, 1, 1), "X")


@given(st.dates(date(1940, 1, 1), date(2000, 12, 31)), st.sampled_from(list(RetirementKind)))
def test_retirement_age_never_falls_for_later_births(born, kind):
    sex = "M" if kind is RetirementKind.MALE else "F"
    later = date(born.year + (born.month == 12), born.month % 12 + 1, 1)
    assert retirement_age_months(later, sex, kind) >= retirement_age_months(born, sex, kind)
    base = {"male": 60, "female_cadre": 55, "female_worker": 50}[kind]
    cap = {"male": 63, "female_cadre": 58, "female_worker": 55}[kind]
    assert base * 12 <= retirement_age_months(born, sex, kind) <= cap * 12


def test_age_eligibility():
    start = date(2025, 10, 1)
    assert age_ineligibility(date(2009, 10, 2), on=start) == "Younger than the minimum age."
    assert age_ineligibility(date(2009, 10, 1), on=start) is None
    assert (
        age_ineligibility(date(2002, 1, 1), on=start, age_max=22) == "Older than the maximum age."
    )
    assert age_ineligibility(date(2003, 1, 1), on=start, age_max=22) is None
    # man born 1965-05-01 retires 2025-07-01: too old on 2025-10-01
    assert (
        age_ineligibility(date(1965, 5, 1), on=start, sex="M")
        == "Has reached the statutory retirement age."
    )
    assert age_ineligibility(date(1965, 9, 1), on=start, sex="M") is None  # retires 2025-12-01
    assert age_ineligibility(date(1965, 5, 1), on=start, sex="M", check_retirement=False) is None


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("王小明", "王*明"),
        ("欧阳娜娜", "欧**娜"),
        ("艾尔肯·买买提", "艾**·**提"),
        ("Anna Lee", "A*** L**"),
        ("李", "李"),
    ],
)
def test_mask_name_keeps_the_ends_and_hides_the_middle(name, masked):
    assert mask_name(name) == masked


@given(st.text(alphabet="张王李赵刘陈杨黄周吴·", min_size=1, max_size=12))
def test_mask_name_keeps_length_and_first_character(name):
    masked = mask_name(name)
    assert len(masked) == len(name.strip())
    assert masked[0] == name.strip()[0]
