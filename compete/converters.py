"""URL converters for database ids: a number no INTEGER column holds matches no route (404).

Werkzeug's ``int`` converter takes any run of digits, so ``/events/99999999999999999999`` would
reach the database with a number no INTEGER column holds (SQLite refuses it with an error, not
an empty answer). This one refuses such a number while matching, before the scope is loaded.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, ValidationError

MAX_ID = 2**31 - 1  # the largest INTEGER primary key on every supported database
_MAX_DIGITS = len(str(MAX_ID))


class IdConverter(IntegerConverter):
    """``<id:name>``: an integer from 1 to ``MAX_ID``; leading zeros are allowed."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        # Compare lengths first: int() of a very long digit string is slow or refused.
        if len(value.lstrip("0")) > _MAX_DIGITS:
            raise ValidationError
        return super().to_python(value)


class BoundedIntConverter(IntegerConverter):
    """Every ``<int:name>`` in the app: Werkzeug's, but never above ``MAX_ID``."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        if len(value.lstrip("0")) > _MAX_DIGITS:
            raise ValidationError
        return super().to_python(value)


def register_converters(app) -> None:
    """Before any route is added: bounded ``int`` everywhere, ``id`` (from 1) for the API."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.url_map.converters["id"] = IdConverter
