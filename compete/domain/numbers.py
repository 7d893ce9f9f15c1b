"""Exact numbers for marks: conversion to ``Decimal`` and half-up rounding of published figures."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from . import N_
from .errors import InvalidInput

DEFAULT_DP = 2


def as_decimal(value: object, *, field: str | None = None) -> Decimal:
    """Convert an int, ``Decimal`` or numeric string to ``Decimal``; refuse floats and booleans.

    Marks are never floats: ``0.1 + 0.2`` is not ``0.3``, so a float reaching the rules is a bug
    at the edge and is refused rather than silently converted.
    """
    if type(value) is Decimal and value.is_finite():  # the common case, on every mark
        return value
    if isinstance(value, (bool, float)):
        raise InvalidInput(N_("%(value)s is not an exact number."), field=field, value=repr(value))
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidInput(N_("%(value)s is not a number."), field=field, value=value) from None
    else:
        raise InvalidInput(N_("%(value)s is not a number."), field=field, value=repr(value))
    if not result.is_finite():
        raise InvalidInput(N_("%(value)s is not a finite number."), field=field, value=str(value))
    return result


def quantize(value: Decimal, dp: int = DEFAULT_DP) -> Decimal:
    """Round a figure half-up to ``dp`` decimal places (the published form of a score)."""
    if dp < 0:
        raise InvalidInput(N_("Decimal places must be 0 or more."), field="dp", dp=dp)
    return value.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)
