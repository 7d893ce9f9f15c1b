from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.errors import InvalidInput
from compete.domain.idnumber import (
    CONVERTED_FROM_15,
    FULLWIDTH_NORMALISED,
    UNKNOWN_ADDRESS,
    WEIGHTS,
    IdType,
    check_digit,
    mask_id_number,
    parse_id_number,
    with_check_digit,
)

TODAY = date(2025, 6, 1)
EXAMPLE = "11010519491231002X"


def parse(raw, **kwargs):
    return parse_id_number(raw, today=TODAY, **kwargs)


def error(raw, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        parse(raw, **kwargs)
    assert info.value.field == "id_number"
    return info.value


def test_weights_are_powers_of_two_mod_11():
    assert WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def test_standard_example_11010519491231002X():
    first17 = EXAMPLE[:17]
    assert sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) == 167
    assert check_digit(first17) == "X"
    assert with_check_digit(first17) == EXAMPLE
    info = parse(EXAMPLE.lower())
    assert info.number == EXAMPLE
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "F"
    assert info.province_code == "11"
    assert info.id_type is IdType.RESIDENT_ID
    assert info.warnings == ()
    assert info.fullwidth_normalised is False


def test_check_digit_table_for_each_remainder():
    # S mod 11 → check: 0→1, 1→0, 2→X, 3→9, ..., 10→2
    expected = "10X98765432"
    seen = {}
    for n in range(2000):
        first17 = f"44010619900101{n:03d}"[:17]
        total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
        seen[total % 11] = check_digit(first17)
    assert "".join(seen[r] for r in range(11)) == expected


def test_full_width_digits_are_normalised_and_reported():
    raw = "１１０１０５１９４９１２３１００２ｘ"
    info = parse(raw)
    assert info.number == EXAMPLE
    assert info.fullwidth_normalised is True
    assert FULLWIDTH_NORMALISED in info.warnings


def test_distinct_reasons():
    assert error("1101051949123100").message == "An ID number has 18 characters, not %(length)d."
    assert error("1101051949123100").params == {"length": 16}
    assert (
        error("11010519491231002Y").message == "An ID number has 17 digits and a final digit or X."
    )
    assert (
        error("1101051949X231002X").message == "An ID number has 17 digits and a final digit or X."
    )
    bad_check = error("110105194912310021")
    assert bad_check.params == {"given": "1", "expected": "X"}
    assert "%(expected)s" in bad_check.message
    assert error(with_check_digit("11010519490231002")).params == {"digits": "19490231"}
    assert error(with_check_digit("11010518991231002")).params == {"date": "1899-12-31"}
    assert error(with_check_digit("11010520250602002")).params == {"date": "2025-06-02"}
    assert error(with_check_digit("99010519491231002")).params == {"code": "99"}
    assert "15-digit" in error("110105491231002").message


def test_today_is_a_valid_birth_date_and_1900_01_01_too():
    assert parse(with_check_digit("44010620250601001")).birth_date == TODAY
    assert parse(with_check_digit("44010619000101001")).birth_date == date(1900, 1, 1)


def test_legacy_15_digit_number_is_converted_and_flagged_when_allowed():
    info = parse("110105491231002", allow_legacy=True)
    assert info.number == with_check_digit("11010519491231002")
    assert info.converted_from_15 is True
    assert info.needs_confirmation is True
    assert CONVERTED_FROM_15 in info.warnings
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "F"


def test_unknown_address_code_is_only_a_warning():
    info = parse(EXAMPLE, known_address_codes={"440106"})
    assert UNKNOWN_ADDRESS in info.warnings
    assert parse(EXAMPLE, known_address_codes={"110105"}).warnings == ()


def test_residence_permits_share_the_checksum():
    number = with_check_digit("81000019900101001")
    info = parse(number, id_type="residence_permit")
    assert info.id_type is IdType.RESIDENCE_PERMIT
    assert info.sex == "M"
    assert parse(number).id_type is IdType.RESIDENCE_PERMIT
    assert error(EXAMPLE, id_type=IdType.RESIDENCE_PERMIT).params == {"code": "11"}


def test_passports_and_travel_permits_get_a_shape_check_only():
    assert parse(" e12345678 ", id_type="passport").number == "E12345678"
    assert parse("H12345678", id_type="hk_macau_permit").birth_date is None
    assert parse("12345678", id_type="taiwan_permit").sex is None
    for raw, kind in (
        ("E1", "passport"),
        ("X12345678", "hk_macau_permit"),
        ("1234", "taiwan_permit"),
    ):
        error(raw, id_type=kind)


def test_mask_keeps_length():
    assert mask_id_number("440106199001011234") == "4401**********1234"
    assert len(mask_id_number(EXAMPLE)) == 18
    assert mask_id_number(EXAMPLE, keep_head=6, keep_tail=0) == "110105" + "*" * 12
    assert mask_id_number("1234567") == "*******"


valid_first17 = st.builds(
    lambda prov, rest, born, seq: f"{prov}{rest:04d}{born:%Y%m%d}{seq:03d}",
    st.sampled_from(["11", "31", "44", "65", "71"]),
    st.integers(0, 9999),
    st.dates(date(1900, 1, 1), TODAY),
    st.integers(0, 999),
)


@given(valid_first17)
def test_generated_numbers_parse_back(first17):
    info = parse(with_check_digit(first17))
    assert info.number[:17] == first17
    assert info.sex == ("M" if int(first17[16]) % 2 else "F")


@given(valid_first17, st.data())
def test_one_changed_digit_fails_the_check(first17, data):
    number = with_check_digit(first17)
    index = data.draw(st.integers(0, 17))
    options = "0123456789X" if index == 17 else "0123456789"
    digit = data.draw(st.sampled_from(options).filter(lambda c: c != number[index]))
    changed = number[:index] + digit + number[index + 1 :]
    with pytest.raises(InvalidInput):
        parse(changed)


@given(valid_first17, st.data())
def test_swapped_neighbours_fail_the_check(first17, data):
    number = with_check_digit(first17)
    index = data.draw(st.integers(0, 16))
    swapped = number[:index] + number[index + 1] + number[index] + number[index + 2 :]
    if swapped != number:
        with pytest.raises(InvalidInput):
            parse(swapped)
