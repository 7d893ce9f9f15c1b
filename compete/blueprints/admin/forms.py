from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ...forms import choices, optional_int
from ...models import Role

ROLE_LABELS = {
    Role.ADMIN: _l("System administrator"),
    Role.ORGANISER: _l("Organiser"),
    Role.CHIEF_JUDGE: _l("Chief judge"),
    Role.JUDGE: _l("Judge"),
    Role.ENCRYPTION_JUDGE: _l("Encryption judge"),
    Role.SCORE_RECORDER: _l("Score recorder / check-in"),
    Role.SUPERVISOR: _l("Supervisor / arbitration"),
    Role.UNIT_CONTACT: _l("Unit contact"),
    Role.CONTESTANT: _l("Contestant"),
}


class UserCreateForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(min=2, max=64)],
        render_kw={"autocapitalize": "none"},
    )
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
    )


class RoleAssignForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices((r.value, ROLE_LABELS[r]) for r in Role))
    competition_id = SelectField(
        _l("Competition"), coerce=optional_int, validators=[Optional()], validate_choice=False
    )
    event_id = SelectField(
        _l("Event"), coerce=optional_int, validators=[Optional()], validate_choice=False
    )
    unit_id = SelectField(
        _l("Unit"), coerce=optional_int, validators=[Optional()], validate_choice=False
    )


class PasswordResetForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
    )
