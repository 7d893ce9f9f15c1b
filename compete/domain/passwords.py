"""Password rules for accounts."""

from __future__ import annotations

from . import N_
from .errors import InvalidInput

COMMON = frozenset(
    {
        "password",
        "password1",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "11111111",
        "88888888",
        "iloveyou",
        "admin123",
        "abc12345",
        "a123456789",
        "qwerty123",
        "1q2w3e4r5t",
        "woaini1314",
        "00000000",
    }
)


def check_password(password: str, *, username: str = "", min_length: int = 10) -> None:
    """A password must be at least ``min_length`` long, mix letters with digits or symbols,
    differ from the username and not be a well-known one."""
    if len(password) < min_length:
        raise InvalidInput(
            N_("The password must be at least %(min)s characters long."),
            field="password",
            min=min_length,
        )
    if password.lower() in COMMON:
        raise InvalidInput(N_("This password is too common."), field="password")
    if username and username.lower() in password.lower():
        raise InvalidInput(N_("The password must not contain the username."), field="password")
    has_letter = any(c.isalpha() for c in password)
    has_other = any(not c.isalpha() for c in password)
    if not (has_letter and has_other):
        raise InvalidInput(
            N_("The password must mix letters with digits or symbols."), field="password"
        )
