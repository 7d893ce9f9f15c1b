"""Opaque tokens for public result pages and QR codes, and checkable certificate numbers.

Tokens are random (≥128 bits), nothing sequential; only their SHA-256 is stored for lookup.
Certificate numbers end in an ISO/IEC 7064 MOD 37-2 check character (``0-9``, ``A-Z`` or
``*``), which catches every single mistyped character and every swap of two adjacent characters.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from . import N_
from .errors import InvalidInput

TOKEN_BYTES = 24  # 192 bits
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CHECK_ALPHABET = ALPHABET + "*"
_MODULUS = len(CHECK_ALPHABET)  # 37, prime
_PREFIX = re.compile(r"^[A-Z0-9]{1,12}$")


def new_token() -> str:
    """A URL-safe random token of 192 bits (``secrets.token_urlsafe(24)``, 32 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 hex of the token: what the database stores and looks up."""
    return hashlib.sha256(token.encode()).hexdigest()


def mod37_2_check(body: str) -> str:
    """ISO/IEC 7064 MOD 37-2 check character (``0-9``, ``A-Z`` or ``*``) over digits and capitals.

    p = 0; for each character p = 2·(p + value) mod 37; check = (38 − p) mod 37. With a prime
    modulus every single substitution and every swap of two adjacent characters changes the sum.
    """
    product = 0
    for char in body:
        value = ALPHABET.find(char)
        if value < 0:
            raise InvalidInput(
                N_("%(char)s cannot appear in a certificate number."), field="number", char=char
            )
        product = (product + value) * 2 % _MODULUS
    return CHECK_ALPHABET[(_MODULUS + 1 - product) % _MODULUS]


def certificate_number(prefix: str, year: int, seq: int, *, width: int = 6) -> str:
    """``PREFIX`` + 4-digit year + zero-padded sequence + check character, e.g. ``GD2025000123`` + check."""
    prefix = prefix.upper()
    if not _PREFIX.match(prefix):
        raise InvalidInput(N_("A certificate prefix is 1 to 12 letters or digits."), field="prefix")
    if not 1000 <= year <= 9999:
        raise InvalidInput(N_("The year must have four digits."), field="year")
    if not 0 < seq < 10**width:
        raise InvalidInput(
            N_("The sequence number must be between 1 and %(max)d."), field="seq", max=10**width - 1
        )
    body = f"{prefix}{year:04d}{seq:0{width}d}"
    return body + mod37_2_check(body)


def verify_certificate_number(number: str) -> bool:
    """True when the last character is the right check for the rest (spaces and '-' ignored)."""
    text = re.sub(r"[\s\-]", "", number or "").upper()
    if len(text) < 2 or any(char not in ALPHABET for char in text[:-1]):
        return False
    return mod37_2_check(text[:-1]) == text[-1]
