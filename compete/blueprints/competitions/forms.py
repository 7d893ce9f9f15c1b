from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ...domain.aggregation import Aggregation
from ...domain.grades import GRADE_LABELS, Grade
from ...domain.scheme import AspectKind
from ...domain.tiers import GROUP_LABELS, TIER_LABELS, Group, Tier
from ...forms import choices, optional_int

GRADE_CHOICES = [(g.value, GRADE_LABELS[g]) for g in Grade if g <= Grade.L1]
KIND_LABELS = {
    AspectKind.MEASUREMENT: _l("Measurement (objective)"),
    AspectKind.JUDGEMENT: _l("Judgement (subjective)"),
}
AGGREGATION_LABELS = {
    Aggregation.TRIMMED_MEAN: _l("Mean without highest and lowest"),
    Aggregation.MEAN: _l("Mean"),
    Aggregation.MEDIAN: _l("Median"),
    Aggregation.SUM: _l("Sum"),
}


class CompetitionForm(FlaskForm):
    name = StringField(_l("Competition name"), validators=[DataRequired(), Length(max=200)])
    tier = SelectField(
        _l("Level"),
        choices=choices((t.value, _l(TIER_LABELS[t])) for t in Tier),
        default=Tier.PROVINCIAL_2.value,
    )
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(2000, 2100)])
    region = StringField(_l("Region"), validators=[Length(max=100)])
    organiser = StringField(_l("Organiser (主办)"), validators=[Length(max=200)])
    host = StringField(_l("Host (承办)"), validators=[Length(max=200)])
    co_organisers = StringField(_l("Co-organisers (协办)"), validators=[Length(max=500)])
    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    venue = StringField(_l("Venue"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])

    def service_kwargs(self) -> dict:
        return {
            name: getattr(self, name).data
            for name in (
                "name",
                "tier",
                "year",
                "region",
                "organiser",
                "host",
                "co_organisers",
                "start_date",
                "end_date",
                "venue",
                "description",
            )
        } | {
            k: (getattr(self, k).data or "")
            for k in ("region", "organiser", "host", "co_organisers", "venue", "description")
        }


class EventForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)])
    name = StringField(_l("Event name"), validators=[DataRequired(), Length(max=200)])
    occupation = StringField(
        _l("Occupation (职业/工种)"), validators=[DataRequired(), Length(max=100)]
    )
    occupation_code = StringField(_l("Occupation code"), validators=[Length(max=20)])
    standard_grade = SelectField(_l("Grade the tasks target"), coerce=int, default=Grade.L3.value)
    group = SelectField(_l("Group"), choices=choices((g.value, _l(GROUP_LABELS[g])) for g in Group))
    team_size = SelectField(
        _l("Entry"),
        coerce=int,
        choices=choices([(1, _l("Individual")), (2, _l("Pair")), (3, _l("Team of three"))]),
    )
    max_coaches = IntegerField(_l("Coaches per entry"), default=2, validators=[NumberRange(0, 5)])
    preset_id = SelectField(_l("Rule preset"), coerce=optional_int, validate_choice=False)
    registration_deadline = DateTimeLocalField(
        _l("Registration deadline"), validators=[Optional()], format="%Y-%m-%dT%H:%M"
    )
    start_at = DateTimeLocalField(_l("Starts"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    end_at = DateTimeLocalField(_l("Ends"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    venue = StringField(_l("Venue"), validators=[Length(max=200)])


class ModuleForm(FlaskForm):
    code = StringField(_l("Module code"), validators=[DataRequired(), Length(max=20)])
    name = StringField(_l("Module name"), validators=[DataRequired(), Length(max=200)])


class CriterionForm(FlaskForm):
    code = StringField(_l("Criterion code"), validators=[DataRequired(), Length(max=20)])
    description = StringField(_l("Description"), validators=[Length(max=2000)])
    kind = SelectField(_l("Kind"), choices=choices((k.value, v) for k, v in KIND_LABELS.items()))
    max_mark = DecimalField(
        _l("Max mark"), places=2, validators=[DataRequired(), NumberRange(min=0.01, max=100)]
    )
    step = DecimalField(
        _l("Step"),
        places=2,
        default=0.5,
        validators=[DataRequired(), NumberRange(min=0.01, max=100)],
    )
    judges = IntegerField(_l("Judges"), default=5, validators=[DataRequired(), NumberRange(1, 15)])
    aggregation = SelectField(
        _l("Aggregation"),
        choices=choices(
            [("", _l("As the rules say"))] + [(a.value, v) for a, v in AGGREGATION_LABELS.items()]
        ),
    )
    tolerance = DecimalField(_l("Tolerance"), places=2, validators=[Optional(), NumberRange(min=0)])
    double_entry = BooleanField(_l("Double entry"))


class SchemeImportForm(FlaskForm):
    file = FileField(_l("Excel file (.xlsx)"), validators=[FileRequired()])


class SelectionLinkForm(FlaskForm):
    target_event_id = SelectField(
        _l("Feeds the event"),
        coerce=optional_int,
        validate_choice=False,
        validators=[DataRequired()],
    )
    quota = IntegerField(_l("Places"), default=2, validators=[DataRequired(), NumberRange(1, 1000)])


class TransitionForm(FlaskForm):
    target = StringField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])


class PresetCopyForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Preset name"), validators=[DataRequired(), Length(max=200)])
