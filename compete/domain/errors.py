"""Errors the rules raise; the web layer maps them to 4xx answers in the user's language."""

from __future__ import annotations

from typing import Any

from . import N_


class DomainError(Exception):
    """A rule refused something. ``message`` is an untranslated msgid with named placeholders."""

    message = N_("The request conflicts with the current state.")

    def __init__(self, message: str | None = None, **params: Any) -> None:
        if message is not None:
            self.message = message
        self.params = params
        super().__init__(self.message % params if params else self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": self.message, "params": self.params}


class InvalidInput(DomainError):
    """The input itself is wrong (422): a value out of range, a malformed number."""

    message = N_("The input is not valid.")

    def __init__(self, message: str | None = None, *, field: str | None = None, **params: Any):
        self.field = field
        super().__init__(message, **params)


class NotAllowed(DomainError):
    """The actor may not do this (403)."""

    message = N_("You are not allowed to do this.")


class Conflict(DomainError):
    """The state does not allow this now (409): a locked sheet, a transition out of order."""

    message = N_("This conflicts with the current state.")
