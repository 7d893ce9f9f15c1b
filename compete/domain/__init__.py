"""Pure rules of vocational skills competitions.

Nothing in this package imports Flask, SQLAlchemy or anything outside the standard library:
the rules take numbers and small dataclasses and return the same, so they can be tested and
reused on their own. Messages are marked with ``N_`` and translated at the edge.
"""


def N_(message: str) -> str:
    """Mark a message for translation without translating it here."""
    return message
