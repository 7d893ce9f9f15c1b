"""Results pages: the organiser's live provisional ranking (marking codes only) with its charts,
and the theory scores and completion times that enter it (one by one or by file)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from io import BytesIO

from flask import Blueprint, flash, g, jsonify, redirect, render_template, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ...domain.errors import DomainError
from ...errors import STATUS, translate_error, wants_json
from ...extensions import db
from ...forms import add_error, choices
from ...models.base import utcnow
from ...permissions import Permission, permission_required
from . import inputs, services

bp = Blueprint("results", __name__)

# Who records theory scores and times. The organiser holds it; the score recorder (计分员)
# would need a grant of its own (see the report on ROLE_GRANTS).
INPUTS_PERMISSION = Permission.RESULTS_RECORD
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _status(exc: DomainError) -> int:
    return next(code for kind, code in STATUS.items() if isinstance(exc, kind))


# ---------------------------------------------------------------- charts (server-rendered SVG)

HIST_WIDTH, HIST_HEIGHT = 640, 220
HIST_LEFT, HIST_BOTTOM, HIST_TOP = 36, 36, 16
BIN = Decimal(5)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    low: Decimal
    high: Decimal
    count: int


@dataclass(frozen=True)
class Histogram:
    bars: list[Bar]
    top: int  # the largest count (the y axis runs 0..top)
    pass_x: float | None  # where the pass mark falls, if inside the range
    width: int = HIST_WIDTH
    height: int = HIST_HEIGHT
    left: int = HIST_LEFT
    bottom: int = HIST_HEIGHT - HIST_BOTTOM
    top_y: int = HIST_TOP


def histogram(finals: list[Decimal], pass_mark: Decimal) -> Histogram | None:
    """Final scores in 5-point bins from the lowest bin holding a score up to 100 (the last bin
    includes 100)."""
    if not finals:
        return None
    low = min(min(finals), pass_mark)
    start = (low / BIN).to_integral_value(rounding=ROUND_FLOOR) * BIN
    edges = []
    edge = start
    while edge < 100:
        edges.append(edge)
        edge += BIN
    edges = edges or [Decimal(95)]
    counts = [0] * len(edges)
    for final in finals:
        index = int((min(final, Decimal(100) - Decimal("0.001")) - start) // BIN)
        counts[max(0, min(index, len(edges) - 1))] += 1
    top = max(counts) or 1
    plot_w = HIST_WIDTH - HIST_LEFT - 8
    plot_h = HIST_HEIGHT - HIST_BOTTOM - HIST_TOP
    step = plot_w / len(edges)
    bars = []
    for index, (edge, count) in enumerate(zip(edges, counts, strict=True)):
        height = plot_h * count / top
        bars.append(
            Bar(
                x=round(HIST_LEFT + index * step + 1, 1),
                y=round(HIST_HEIGHT - HIST_BOTTOM - height, 1),
                width=round(step - 2, 1),
                height=round(height, 1),
                low=edge,
                high=edge + BIN,
                count=count,
            )
        )
    span = Decimal(100) - start
    pass_x = None
    if start <= pass_mark <= 100:
        pass_x = round(HIST_LEFT + plot_w * float((pass_mark - start) / span), 1)
    return Histogram(bars=bars, top=top, pass_x=pass_x)


LEN_WIDTH, LEN_ROW, LEN_LABEL = 640, 26, 180


@dataclass(frozen=True)
class JudgeBar:
    label: str
    overall: Decimal
    cells: int
    x: float
    y: float
    width: float
    lenient: bool
    by_criterion: dict[str, Decimal]


@dataclass(frozen=True)
class Leniency:
    bars: list[JudgeBar]
    criteria: list[str]
    scale: Decimal  # the value at either end of the axis
    zero_x: float
    width: int = LEN_WIDTH
    height: int = 0
    row: int = LEN_ROW
    label_x: int = LEN_LABEL - 8


def leniency_chart(event, data: dict | None) -> Leniency | None:
    """Each judge's mean difference from the panel (points per 100 marks), as bars either side
    of zero; judges by panel seat and display name."""
    if not data or not data.get("judges"):
        return None
    judges = data["judges"]
    labels = services.judge_labels(event, [j["user_id"] for j in judges])
    values = [Decimal(j["overall"]) for j in judges]
    scale = max([abs(v) for v in values] + [Decimal(1)])
    half = (LEN_WIDTH - LEN_LABEL - 70) / 2
    zero_x = LEN_LABEL + half
    bars = []
    for index, (judge, value) in enumerate(zip(judges, values, strict=True)):
        length = half * float(abs(value) / scale)
        bars.append(
            JudgeBar(
                label=labels.get(judge["user_id"], str(judge["user_id"])),
                overall=value,
                cells=judge["cells"],
                x=round(zero_x if value >= 0 else zero_x - length, 1),
                y=8 + index * LEN_ROW,
                width=round(length, 1),
                lenient=value > 0,
                by_criterion={c: Decimal(v) for c, v in judge["by_criterion"].items()},
            )
        )
    return Leniency(
        bars=bars,
        criteria=[
            c for c in data.get("criteria", []) if any(c in j["by_criterion"] for j in judges)
        ],
        scale=scale,
        zero_x=round(zero_x, 1),
        height=16 + len(bars) * LEN_ROW,
    )


# ---------------------------------------------------------------- the provisional ranking


@bp.route("/events/<int:event_id>/results/provisional")
@permission_required(Permission.RESULTS_VIEW)
def provisional(event_id: int):
    """Rank, marking code and scores as stored; no names or units, because entries stay
    anonymous until the codes are unsealed. Stored rows that lag behind the chain or the inputs
    are shown with when they were computed while a recompute runs (started here if none is)."""
    event = g.event
    state = services.freshness(event)
    if state.stale and state.active is None:
        services.schedule_recompute(event, actor=current_user)  # in tests it runs right here
        state = services.freshness(event)
    ranking = services.provisional_ranking(event, state=state)
    modules = [module.code for module in event.scheme.modules] if event.scheme else []
    notes = {row.entry_id: json.loads(row.tie_note) for row in ranking.rows if row.tie_note}
    rules = services.scoring_rules(event.rules)
    error = ranking.error
    return render_template(
        "results/provisional.html",
        event=event,
        tab="results",
        ranking=ranking,
        modules=modules,
        notes=notes,
        show_theory=rules.theory_weight > 0,
        show_time=any(row.time is not None for row in ranking.rows),
        error=_(error["message"], **error["params"]) if error else None,
        errors=[(e["code"], _(e["message"], **e["params"])) for e in ranking.errors],
        histogram=histogram([row.final for row in ranking.rows], rules.pass_mark),
        leniency=leniency_chart(event, ranking.leniency),
        pass_mark=rules.pass_mark,
    )


# ---------------------------------------------------------------- theory scores and times


class InputForm(FlaskForm):
    id_kind = SelectField(
        _l("Name the entry by"),
        choices=choices(
            [
                (inputs.IdKind.ADMISSION_NO.value, _l("Admission number")),
                (inputs.IdKind.REVIEW_CODE.value, _l("Marking code")),
                (inputs.IdKind.ENTRY_NUMBER.value, _l("Entry number")),
            ]
        ),
        default=inputs.IdKind.ADMISSION_NO.value,
    )
    identifier = StringField(
        _l("Admission number, marking code or entry number"),
        validators=[DataRequired(), Length(max=32)],
    )
    theory = StringField(_l("Theory score (0 to 100)"), validators=[Length(max=20)])
    time = StringField(_l("Completion time (minutes, or h:mm:ss)"), validators=[Length(max=20)])
    reason = StringField(
        _l("Reason (needed to change a recorded figure)"), validators=[Length(max=500)]
    )


class UploadForm(FlaskForm):
    file = FileField(_l("Excel (.xlsx) or CSV file"), validators=[FileRequired()])


def _inputs_page(form: InputForm, *, status: int = 200):
    event = g.event
    return render_template(
        "results/inputs.html",
        event=event,
        tab="inputs",
        form=form,
        upload=UploadForm(formdata=None),
        table=inputs.input_table(event),
        closed=event.state in inputs.CLOSED_STATES,
        theory_counts=services.scoring_rules(event.rules).theory_weight > 0,
    ), status


@bp.route("/events/<int:event_id>/results/inputs", methods=["GET", "POST"])
@permission_required(INPUTS_PERMISSION)
def inputs_page(event_id: int):
    """Theory scores and completion times in force by marking code; record one entry's figures
    (named by admission number, marking code or entry number) or upload a file."""
    form = InputForm()
    if not form.is_submitted():
        return _inputs_page(form)
    if not form.validate():
        return _inputs_page(form, status=422)
    event = g.event
    try:
        rows = inputs.record_inputs(
            current_user,
            event,
            id_kind=form.id_kind.data,
            identifier=form.identifier.data,
            theory=form.theory.data,
            time=form.time.data,
            reason=form.reason.data,
            now=utcnow(),
        )
    except DomainError as exc:
        db.session.rollback()
        add_error(form, exc)
        return _inputs_page(form, status=_status(exc))
    db.session.commit()
    if rows:
        services.schedule_recompute(event, actor=current_user)
        flash(_("Recorded; the provisional ranking is being updated."), "success")
    else:
        flash(_("Nothing changed: these figures are already recorded."), "info")
    return redirect(url_for(".inputs_page", event_id=event.id))


@bp.route("/events/<int:event_id>/results/inputs/import", methods=["POST"])
@permission_required(INPUTS_PERMISSION)
def inputs_import(event_id: int):
    """A whole file of theory scores and times, or nothing with every problem listed."""
    event = g.event
    back = url_for(".inputs_page", event_id=event.id)
    form = UploadForm()
    if not form.validate_on_submit():
        flash(_("Choose an Excel or CSV file."), "error")
        return redirect(back)
    upload = form.file.data
    try:
        outcome = inputs.import_inputs(
            current_user,
            event,
            data=upload.read(),
            filename=upload.filename or "",
            now=utcnow(),
        )
    except inputs.InputsRejected as exc:
        db.session.rollback()
        problems = inputs.problem_rows(exc.problems, _)
        if wants_json():
            return jsonify(
                error="InputsRejected", message=translate_error(exc), problems=problems
            ), 422
        return render_template(
            "results/inputs_report.html",
            event=event,
            message=translate_error(exc),
            problems=problems,
            back=back,
        ), 422
    except DomainError as exc:
        db.session.rollback()
        flash(translate_error(exc), "error")
        return redirect(back)
    db.session.commit()
    if outcome.recorded:
        services.schedule_recompute(event, actor=current_user)
    flash(
        _(
            "%(recorded)s figures recorded, %(unchanged)s already recorded.",
            recorded=outcome.recorded,
            unchanged=outcome.unchanged,
        ),
        "success",
    )
    return redirect(back)


@bp.route("/events/<int:event_id>/results/inputs-template.xlsx")
@permission_required(INPUTS_PERMISSION)
def inputs_template(event_id: int):
    """The blank upload workbook (准考证号 / 评审号 / 参赛号, 理论成绩, 用时, 更正原因)."""
    return send_file(
        BytesIO(inputs.build_template(locale=str(get_locale() or "zh_CN"))),
        mimetype=XLSX,
        as_attachment=True,
        download_name="theory-and-times.xlsx",
    )
