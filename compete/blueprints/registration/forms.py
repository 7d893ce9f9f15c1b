from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ...domain.errors import InvalidInput
from ...domain.grades import GRADE_LABELS, Grade, parse_grade
from ...domain.idnumber import IdType, parse_id_number
from ...domain.people import normalise_name, normalise_phone
from ...domain.tiers import Group
from ...errors import translate_error
from ...forms import choices
from ...models import UnitKind
from .importer import MemberInput

GROUP_FORM_LABELS = {
    Group.EMPLOYEE: _l("Employee (在职职工)"),
    Group.STUDENT: _l("Full-time student (全日制在校学生)"),
    Group.TEACHER: _l("Teacher (在职教师)"),
}
ID_TYPE_LABELS = {
    IdType.RESIDENT_ID: _l("Resident ID card"),
    IdType.RESIDENCE_PERMIT: _l("Residence permit (HK, Macau, Taiwan)"),
    IdType.HK_MACAU_PERMIT: _l("HK/Macau travel permit"),
    IdType.TAIWAN_PERMIT: _l("Taiwan travel permit"),
    IdType.PASSPORT: _l("Passport"),
}
UNIT_KIND_LABELS = {
    UnitKind.ENTERPRISE: _l("Enterprise"),
    UnitKind.SCHOOL: _l("School"),
    UnitKind.DELEGATION: _l("Delegation"),
    UnitKind.OTHER: _l("Other"),
}


class MemberForm(Form):
    """One contestant; sex and birth date come from the ID number where it carries them."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    id_type = SelectField(
        _l("ID type"),
        choices=choices((k.value, v) for k, v in ID_TYPE_LABELS.items()),
        default=IdType.RESIDENT_ID.value,
    )
    id_number = StringField(
        _l("ID number"),
        validators=[DataRequired(), Length(max=32)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    gender = SelectField(
        _l("Sex (passport holders)"),
        choices=choices([("", "—"), ("M", _l("Male")), ("F", _l("Female"))]),
        validators=[Optional()],
    )
    birth_date = StringField(
        _l("Birth date (passport holders, YYYY-MM-DD)"), validators=[Optional()]
    )
    phone = StringField(
        _l("Mobile phone"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    current_grade = SelectField(
        _l("Current skill grade"),
        choices=choices([("", "—")] + [(g.name, GRADE_LABELS[g]) for g in Grade if g <= Grade.L1]),
        validators=[Optional()],
    )
    grade_certificate_no = StringField(_l("Grade certificate number"), validators=[Length(max=50)])
    employer = StringField(_l("Employer or school"), validators=[Length(max=200)])
    group = SelectField(
        _l("Group (declared by the unit)"),
        choices=choices((g.value, GROUP_FORM_LABELS[g]) for g in Group),
        validators=[Optional()],
        validate_choice=False,  # left out: the event's group; anything else is checked
    )
    photo = FileField(_l("Photo (JPEG or PNG, optional)"), render_kw={"accept": "image/*"})

    def validate_name(self, field):
        try:
            field.data = normalise_name(field.data or "")
        except InvalidInput as exc:
            raise ValidationError(translate_error(exc)) from exc

    def validate_group(self, field):
        if field.data and field.data not in {g.value for g in Group}:
            raise ValidationError(str(_l("Choose the group.")))

    def validate_phone(self, field):
        try:
            field.data = normalise_phone(field.data or "")
        except InvalidInput as exc:
            raise ValidationError(translate_error(exc)) from exc

    def member_input(self, *, today: date) -> MemberInput:
        """The validated member; raises ValidationError on the ID field."""
        id_type = IdType(self.id_type.data)
        try:
            info = parse_id_number(self.id_number.data or "", today=today, id_type=id_type)
        except InvalidInput as exc:
            self.id_number.errors = [*self.id_number.errors, translate_error(exc)]
            raise ValidationError(translate_error(exc)) from exc
        gender = info.sex or self.gender.data
        birth = info.birth_date
        if birth is None and self.birth_date.data:
            try:
                birth = date.fromisoformat(self.birth_date.data.strip())
            except ValueError as exc:
                self.birth_date.errors = [
                    *self.birth_date.errors,
                    str(_l("Use the form YYYY-MM-DD.")),
                ]
                raise ValidationError("birth") from exc
        if not gender or birth is None:
            self.gender.errors = [
                *self.gender.errors,
                str(_l("Give the sex and birth date for this ID type.")),
            ]
            raise ValidationError("gender")
        grade = parse_grade(self.current_grade.data).value if self.current_grade.data else None
        return MemberInput(
            name=self.name.data,
            gender=gender,
            id_type=id_type,
            id_number=info.number,
            birth_date=birth,
            phone=self.phone.data,
            current_grade=grade,
            grade_certificate_no=(self.grade_certificate_no.data or "").strip(),
            employer=(self.employer.data or "").strip(),
            row=0,
            group=self.group.data or None,
        )


class EntryForm(FlaskForm):
    members = FieldList(FormField(MemberForm), min_entries=1, max_entries=3)
    coaches = StringField(_l("Coaches (指导教师), separated by 、"), validators=[Length(max=200)])
    note = TextAreaField(_l("Note"), validators=[Length(max=1000)])

    def coach_names(self) -> list[str]:
        raw = (self.coaches.data or "").replace("，", "、").replace(",", "、")
        return [n.strip() for n in raw.split("、") if n.strip()]


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[Length(max=1000)])


class BulkApproveForm(FlaskForm):
    pass


class WithdrawForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


class ImportForm(FlaskForm):
    file = FileField(_l("Excel (.xlsx) or CSV file"), validators=[FileRequired()])


class QuotaForm(FlaskForm):
    unit_id = SelectField(_l("Unit"), coerce=int, validate_choice=False)
    # InputRequired, not DataRequired: 0 is a quota (the unit sends nobody).
    quota = IntegerField(_l("Quota"), default=1, validators=[InputRequired(), NumberRange(0, 1000)])
    team_leader = StringField(_l("Team leader (领队)"), validators=[Length(max=50)])
    team_leader_phone = StringField(_l("Team leader's phone"), validators=[Length(max=20)])


class UnitForm(FlaskForm):
    name = StringField(_l("Unit name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(
        _l("Kind"), choices=choices((k.value, v) for k, v in UNIT_KIND_LABELS.items())
    )
    region = StringField(_l("Region"), validators=[Length(max=100)])


class DrawForm(FlaskForm):
    seed = StringField(_l("Seed (blank: a new random one)"), validators=[Length(max=128)])
    prefix = StringField(_l("Number prefix"), validators=[Length(max=8)])
    reason = StringField(_l("Reason for a redraw"), validators=[Length(max=1000)])


class StationDrawForm(FlaskForm):
    sessions = StringField(
        _l("Sessions: number × stations, e.g. 1:20, 2:20"),
        validators=[DataRequired(), Length(max=200)],
        default="1:20",
    )
    seed = StringField(_l("Seed (blank: a new random one)"), validators=[Length(max=128)])
    reason = StringField(_l("Reason for a redraw"), validators=[Length(max=1000)])

    def session_list(self) -> list[tuple[int, int]]:
        out = []
        for part in (self.sessions.data or "").replace("，", ",").split(","):
            if not part.strip():
                continue
            number, _, capacity = part.replace("：", ":").partition(":")
            try:
                out.append((int(number), int(capacity)))
            except ValueError as exc:
                raise ValidationError(str(_l("Write sessions like 1:20, 2:20."))) from exc
        if not out or any(n < 1 or c < 1 for n, c in out):
            raise ValidationError(str(_l("Write sessions like 1:20, 2:20.")))
        return out


class CheckInForm(FlaskForm):
    code = StringField(
        _l("Admission number or scanned code"),
        validators=[DataRequired(), Length(max=300)],
        render_kw={"autocomplete": "off", "autofocus": True, "inputmode": "text"},
    )
