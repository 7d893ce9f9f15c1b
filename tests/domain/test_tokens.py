from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.errors import InvalidInput
from compete.domain.tokens import (
    ALPHABET,
    CHECK_ALPHABET,
    certificate_number,
    hash_token,
    mod37_2_check,
    new_token,
    verify_certificate_number,
)


def test_tokens_are_long_random_and_url_safe():
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    allowed = set(string.ascii_letters + string.digits + "-_")
    for token in tokens:
        assert len(token) == 32  # 24 bytes = 192 bits
        assert set(token) <= allowed


def test_token_hash_is_sha256_hex():
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hash_token("abc") != hash_token("abd")


def test_certificate_number_shape_and_check():
    number = certificate_number("gd", 2025, 123)
    assert number.startswith("GD2025000123")
    assert len(number) == len("GD2025000123") + 1
    assert verify_certificate_number(number)
    assert verify_certificate_number(number.lower())
    assert verify_certificate_number("GD-2025-000123-" + number[-1])
    assert not verify_certificate_number("")
    assert not verify_certificate_number("GD2025*000123" + number[-1])
    assert certificate_number("GD", 2025, 1)[-1] in CHECK_ALPHABET


def test_iso_7064_mod_37_2_reference_values():
    # hand-computed: "A" → p = 2·10 mod 37 = 20 → (38 − 20) mod 37 = 18 → "I"
    assert mod37_2_check("A") == "I"
    # "0" → p = 0 → (38 − 0) mod 37 = 1 → "1"
    assert mod37_2_check("0") == "1"
    # the check can be "*" (value 36): need p = 2, e.g. body "1" (2·1 = 2)
    assert mod37_2_check("1") == "*"
    assert verify_certificate_number("1*")


def test_every_adjacent_swap_and_typo_is_caught_exhaustively_on_short_bodies():
    for a in ALPHABET:
        for b in ALPHABET:
            number = "G" + a + b + mod37_2_check("G" + a + b)
            if a != b:
                assert not verify_certificate_number("G" + b + a + number[-1])
            if number[-1] != b and number[-1] in ALPHABET:
                assert not verify_certificate_number("G" + a + number[-1] + b)


def test_certificate_number_arguments():
    for bad in (dict(prefix="粤"), dict(year=25), dict(seq=0), dict(seq=1_000_000)):
        args = dict(prefix="GD", year=2025, seq=1) | bad
        with pytest.raises(InvalidInput):
            certificate_number(**args)


body_st = st.text(ALPHABET, min_size=2, max_size=20)


@given(body_st, st.data())
def test_any_single_typo_is_caught(body, data):
    number = body + mod37_2_check(body)
    index = data.draw(st.integers(0, len(number) - 1))
    replacement = data.draw(st.sampled_from(CHECK_ALPHABET).filter(lambda c: c != number[index]))
    typo = number[:index] + replacement + number[index + 1 :]
    assert verify_certificate_number(number)
    assert not verify_certificate_number(typo)


@given(body_st, st.data())
def test_adjacent_swaps_are_caught(body, data):
    number = body + mod37_2_check(body)
    index = data.draw(st.integers(0, len(number) - 2))
    swapped = number[:index] + number[index + 1] + number[index] + number[index + 2 :]
    if swapped != number:
        assert not verify_certificate_number(swapped)
