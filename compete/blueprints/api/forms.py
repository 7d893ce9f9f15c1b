"""Forms of the token page: one per action."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ...forms import choices
from .services import NAME_MAX

# Choices for a new token's lifetime, in days ("0": no expiry).
EXPIRY_CHOICES = (
    ("30", _l("30 days")),
    ("90", _l("90 days")),
    ("365", _l("One year")),
    ("0", _l("No expiry")),
)


class TokenCreateForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        validators=[
            DataRequired(message=_l("Please give the token a name.")),
            Length(max=NAME_MAX),
        ],
        render_kw={"placeholder": _l("What the token is for, e.g. results display")},
    )
    expires_in = SelectField(_l("Expires"), choices=choices(EXPIRY_CHOICES), default="90")
    # "" = all of the user's roles; otherwise one role assignment's id (choices set per user).
    assignment = SelectField(_l("Acts as"), choices=[], default="")
    can_write = BooleanField(_l("May submit marks (otherwise read only)"))

    def set_roles(self, assignments, label) -> TokenCreateForm:
        self.assignment.choices = [("", _l("All my roles"))] + [
            (str(a.id), label(a)) for a in assignments
        ]
        return self

    def service_kwargs(self, now) -> dict:
        days = int(self.expires_in.data)
        return {
            "name": self.name.data,
            "expires_at": now + timedelta(days=days) if days else None,
            "now": now,
            "assignment_id": int(self.assignment.data) if self.assignment.data else None,
            "can_write": bool(self.can_write.data),
        }


class TokenRevokeForm(FlaskForm):
    """No fields: the CSRF token is the whole form."""
