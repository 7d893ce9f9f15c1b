"""Resident ID numbers (居民身份证号码, GB 11643) and other identity documents (§7).

Layout: 6-digit address code (GB/T 2260) + birth date YYYYMMDD + 3-digit sequence (17th digit
odd = male) + check character. Check (ISO 7064 MOD 11-2): wᵢ = 2^(18−i) mod 11, S = Σ aᵢwᵢ,
check = (12 − S mod 11) mod 11, 10 written ``X``. 港澳台居民居住证 (prefix 81/82/83) use the same
layout and checksum; passports and 通行证 carry no checksum and get a shape check only.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from . import N_
from .errors import InvalidInput

FIELD = "id_number"
WEIGHTS = tuple(pow(2, 17 - index, 11) for index in range(17))
EARLIEST_BIRTH = date(1900, 1, 1)
PERMIT_PREFIXES = frozenset({"81", "82", "83"})
PROVINCE_CODES = frozenset(
    {
        *map(str, range(11, 16)),
        *map(str, range(21, 24)),
        *map(str, range(31, 38)),
        *map(str, range(41, 47)),
        *map(str, range(50, 55)),
        *map(str, range(61, 66)),
        "71",
        *PERMIT_PREFIXES,
    }
)
_FULLWIDTH = {chr(0xFF10 + digit): str(digit) for digit in range(10)} | {"Ｘ": "X", "ｘ": "X"}

CONVERTED_FROM_15 = N_("A 15-digit number was converted to 18 digits: please confirm it.")
FULLWIDTH_NORMALISED = N_("Full-width characters in the ID number were converted.")
UNKNOWN_ADDRESS = N_("The ID number's address code is not in the address code list.")


class IdType(StrEnum):
    """Identity documents a contestant or judge may register with."""

    RESIDENT_ID = "resident_id"  # 居民身份证
    RESIDENCE_PERMIT = "residence_permit"  # 港澳台居民居住证 (81/82/83)
    HK_MACAU_PERMIT = "hk_macau_permit"  # 港澳居民来往内地通行证
    TAIWAN_PERMIT = "taiwan_permit"  # 台湾居民来往大陆通行证
    PASSPORT = "passport"


CHECKSUM_TYPES = frozenset({IdType.RESIDENT_ID, IdType.RESIDENCE_PERMIT})
_SHAPES = {
    IdType.HK_MACAU_PERMIT: re.compile(r"^[HM]\d{8}(\d{2})?$"),
    IdType.TAIWAN_PERMIT: re.compile(r"^\d{8}(\d{2})?$"),
    IdType.PASSPORT: re.compile(r"^[A-Z0-9]{5,17}$"),
}


@dataclass(frozen=True)
class IdNumberInfo:
    """A checked identity number and what it tells.

    For documents without a checksum only ``number`` and ``id_type`` are filled.
    ``warnings`` are msgids to show; ``converted_from_15`` needs the person's confirmation.
    """

    number: str
    id_type: IdType
    birth_date: date | None = None
    sex: str | None = None  # "M" or "F"
    province_code: str | None = None
    warnings: tuple[str, ...] = ()
    converted_from_15: bool = False
    fullwidth_normalised: bool = False

    @property
    def needs_confirmation(self) -> bool:
        """A converted legacy number must be confirmed by the person."""
        return self.converted_from_15


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits: (12 − Σaᵢwᵢ mod 11) mod 11, 10 → X."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise InvalidInput(N_("The check digit needs exactly 17 digits."), field=FIELD)
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def with_check_digit(first17: str) -> str:
    """The full 18-character number for the first 17 digits."""
    return first17 + check_digit(first17)


def _normalise(raw: str) -> tuple[str, bool]:
    text = (raw or "").strip()
    fullwidth = any(char in _FULLWIDTH for char in text)
    return "".join(_FULLWIDTH.get(char, char) for char in text).replace("x", "X"), fullwidth


def _birth_date(digits: str, *, today: date) -> date:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidInput(
            N_("The birth date %(digits)s in the ID number does not exist."),
            field=FIELD,
            digits=digits,
        ) from None
    if not EARLIEST_BIRTH <= born <= today:
        raise InvalidInput(
            N_("The birth date %(date)s in the ID number is outside 1900-01-01 to today."),
            field=FIELD,
            date=born.isoformat(),
        )
    return born


def parse_id_number(
    raw: str,
    *,
    today: date,
    allow_legacy: bool = False,
    id_type: IdType | str = IdType.RESIDENT_ID,
    known_address_codes: Container[str] | None = None,
) -> IdNumberInfo:
    """Check an identity number and read the birth date, sex and province from it (§7).

    Resident ID / residence permit, in this order, each failure a distinct InvalidInput:
    length (18, or 15 for legacy), characters (17 digits + ``0-9X``), legacy 15-digit number
    when not ``allow_legacy``, province code, a real birth date within 1900-01-01..``today``,
    then the check character (the message gives the expected one).
    Full-width digits and ``x`` are normalised; full-width input is reported
    (``fullwidth_normalised`` and a warning), never silently fixed. A 15-digit number, when
    allowed, is converted (``19`` inserted, check added) and flagged for confirmation. An
    address code missing from ``known_address_codes`` is only a warning. Passports and
    通行证 get a shape check only.
    """
    id_type = IdType(id_type)
    number, fullwidth = _normalise(raw)
    warnings: list[str] = [FULLWIDTH_NORMALISED] if fullwidth else []
    if id_type not in CHECKSUM_TYPES:
        number = number.upper()
        if not _SHAPES[id_type].match(number):
            raise InvalidInput(
                N_("The document number %(number)s has the wrong form."), field=FIELD, number=number
            )
        return IdNumberInfo(
            number, id_type, warnings=tuple(warnings), fullwidth_normalised=fullwidth
        )
    if len(number) not in (15, 18):
        raise InvalidInput(
            N_("An ID number has 18 characters, not %(length)d."), field=FIELD, length=len(number)
        )
    legacy = len(number) == 15
    if not number.isascii() or not (
        number.isdigit() if legacy else number[:17].isdigit() and number[17] in "0123456789X"
    ):
        raise InvalidInput(N_("An ID number has 17 digits and a final digit or X."), field=FIELD)
    if legacy:
        if not allow_legacy:
            raise InvalidInput(
                N_("15-digit ID numbers are no longer valid; please enter the 18-digit number."),
                field=FIELD,
            )
        number = with_check_digit(number[:6] + "19" + number[6:])
        warnings.append(CONVERTED_FROM_15)
    province = number[:2]
    if province not in PROVINCE_CODES:
        raise InvalidInput(
            N_("The ID number starts with %(code)s, which is not a province code."),
            field=FIELD,
            code=province,
        )
    if id_type is IdType.RESIDENCE_PERMIT and province not in PERMIT_PREFIXES:
        raise InvalidInput(
            N_("A residence permit number starts with 81, 82 or 83, not %(code)s."),
            field=FIELD,
            code=province,
        )
    born = _birth_date(number[6:14], today=today)
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise InvalidInput(
            N_("The ID number's check character is %(given)s but should be %(expected)s."),
            field=FIELD,
            given=number[17],
            expected=expected,
        )
    if known_address_codes is not None and number[:6] not in known_address_codes:
        warnings.append(UNKNOWN_ADDRESS)
    return IdNumberInfo(
        number=number,
        id_type=IdType.RESIDENCE_PERMIT if province in PERMIT_PREFIXES else IdType.RESIDENT_ID,
        birth_date=born,
        sex="M" if int(number[16]) % 2 else "F",
        province_code=province,
        warnings=tuple(warnings),
        converted_from_15=legacy,
        fullwidth_normalised=fullwidth,
    )


def mask_id_number(number: str, keep_head: int = 4, keep_tail: int = 4) -> str:
    """Hide the middle of a number, keeping its length: ``4401**********1234``.

    A number too short to keep both ends is masked entirely.
    """
    if keep_head < 0 or keep_tail < 0:
        raise InvalidInput(N_("Mask lengths cannot be negative."), field="id_mask")
    if len(number) <= keep_head + keep_tail:
        return "*" * len(number)
    tail = number[len(number) - keep_tail :] if keep_tail else ""
    return number[:keep_head] + "*" * (len(number) - keep_head - keep_tail) + tail
