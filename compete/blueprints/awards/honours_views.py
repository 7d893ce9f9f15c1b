"""Group honours: medal table, delegations, best of delegation, coaches, special awards.

The organiser's page (``AWARDS_MANAGE``) takes its options from the query string, so a view
can be bookmarked or shared: ``by`` (medals | points), ``count`` (members, the default, as
GD-P4 counted, | entries), ``team_prizes`` (e.g. ``1,2,3``), ``coaches`` (medals | all),
``published`` (1: published events only) and ``rules`` (special award rules as JSON; the
competition has no field to store them). ``export=medals|delegations|best|coaches|special``
downloads that section as CSV.

The public medal table opens once any event of the competition is published and counts only
published events.
"""

from __future__ import annotations

import csv
import io

from flask import abort, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _

from ...domain.errors import InvalidInput
from ...errors import translate_error
from ...permissions import Permission, permission_required, public
from . import honours
from .certificates import AWARD_WORDING
from .views import bp

MEDAL_LABELS = {
    False: ("Gold", "Silver", "Bronze", "Medallion"),
    True: ("First prize", "Second prize", "Third prize", "Merit award"),
}


def _labels(rows) -> tuple[str, ...]:
    return tuple(_(label) for label in MEDAL_LABELS[honours.uses_prizes(rows)])


def _options(args) -> dict:
    """The page's options from the query string; InvalidInput names the bad one."""
    return {
        "by": honours.parse_order(args.get("by")),
        "counting": honours.parse_counting(args.get("count")),
        "team_prizes": honours.parse_team_prizes(args.get("team_prizes")),
        "include_merit": args.get("coaches") == "all",
        "published_only": args.get("published") == "1",
        "rules": honours.parse_rules(args.get("rules")),
    }


def _csv(filename: str, header: list[str], lines: list[list[object]]):
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel reads UTF-8 with a BOM
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(lines)
    response = make_response(buffer.getvalue())
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _award_label(award) -> str:
    return _(AWARD_WORDING[award]) if award is not None else ""


def _export(kind: str, competition, data: dict):
    labels = data["labels"]
    stem = f"competition-{competition.id}-{kind}.csv"
    if kind == "medals":
        return _csv(
            stem,
            [_("Rank"), _("Delegation"), *labels, _("Points")],
            [
                [r.rank, r.delegation, r.gold, r.silver, r.bronze, r.medallion, r.points]
                for r in data["table"]
            ],
        )
    if kind == "delegations":
        return _csv(
            stem,
            [
                _("Rank"),
                _("Delegation"),
                _("Points"),
                *labels,
                _("Entries"),
                _("Contestants"),
                _("Best rank"),
                _("Team award"),
            ],
            [
                [
                    line.row.rank,
                    line.row.delegation,
                    line.row.points,
                    line.row.gold,
                    line.row.silver,
                    line.row.bronze,
                    line.row.medallion,
                    line.entries,
                    line.people,
                    line.best_rank or "",
                    _award_label(line.team_award),
                ]
                for line in data["delegations"]
            ],
        )
    if kind == "best":
        return _csv(
            stem,
            [_("Delegation"), _("Event"), _("Rank"), _("Name"), _("Award")],
            [
                [
                    delegation,
                    f"{p.event_code} {p.event_name}",
                    p.rank,
                    "、".join(p.people),
                    _award_label(p.award),
                ]
                for delegation, chosen in data["best"]
                for p in chosen
            ],
        )
    if kind == "coaches":
        return _csv(
            stem,
            [_("Coach"), _("Unit"), _("Winners")],
            [
                [
                    coach.name,
                    coach.unit,
                    "；".join(
                        f"{p.event_code} {'、'.join(p.people)} {_award_label(p.award)}"
                        for p in coach.winners
                    ),
                ]
                for coach in data["coaches"]
            ],
        )
    if kind == "special":
        return _csv(
            stem,
            [_("Special award"), _("Event"), _("Rank"), _("Name"), _("Delegation"), _("Award")],
            [
                [
                    rule.name,
                    f"{p.event_code} {p.event_name}",
                    p.rank,
                    "、".join(p.people),
                    p.delegation,
                    _award_label(p.award),
                ]
                for rule, chosen in data["special"]
                for p in chosen
            ],
        )
    abort(404)


@bp.route("/competitions/<int:competition_id>/honours")
@permission_required(Permission.AWARDS_MANAGE)
def honours_page(competition_id: int):
    """Medal table, delegation ranking, 参赛队最佳奖, 优秀指导教师 and special awards."""
    competition = g.competition
    args = request.args
    try:
        options = _options(args)
    except InvalidInput as exc:
        options, error, field = None, translate_error(exc), exc.field
    else:
        error = field = None
    if options is None:
        return render_template(
            "awards/honours.html",
            competition=competition,
            args=args,
            error=error,
            error_field=field,
            data=None,
        ), 422
    rows = honours.placings(competition, published_only=options["published_only"])
    data = {
        "labels": _labels(rows),
        "table": honours.medal_table_of(rows, by=options["by"], counting=options["counting"]),
        "delegations": honours.delegation_ranking(
            rows, counting=options["counting"], team_prizes=options["team_prizes"]
        ),
        "best": honours.best_of_delegation(rows),
        "coaches": honours.outstanding_coaches(rows, include_merit=options["include_merit"]),
        "special": [(rule, honours.special_award(rows, rule)) for rule in options["rules"]],
        "events": sorted({(p.event_code, p.event_name, p.published) for p in rows}),
        "options": options,
    }
    if args.get("export"):
        return _export(args["export"], competition, data)
    return render_template(
        "awards/honours.html",
        competition=competition,
        args=args,
        error=None,
        error_field=None,
        data=data,
        award_label=_award_label,
    )


@bp.route("/competitions/<int:competition_id>/medals")
@public
def medal_table(competition_id: int):
    """The public medal table: published events only; 404 until one is published."""
    competition = g.competition
    if not honours.published_events(competition):
        abort(404)
    try:
        by = honours.parse_order(request.args.get("by"))
        counting = honours.parse_counting(request.args.get("count"))
    except InvalidInput:
        by, counting = "medals", honours.DEFAULT_COUNTING
    rows = honours.placings(competition, published_only=True)
    table = honours.medal_table_of(rows, by=by, counting=counting)
    if request.args.get("format") == "json":
        return jsonify(
            competition=competition.name,
            by=by,
            count=counting.value,
            rows=[
                {
                    "rank": r.rank,
                    "delegation": r.delegation,
                    "gold": r.gold,
                    "silver": r.silver,
                    "bronze": r.bronze,
                    "medallion": r.medallion,
                    "points": r.points,
                }
                for r in table
            ],
        )
    return render_template(
        "awards/medal_table.html",
        competition=competition,
        table=table,
        labels=_labels(rows),
        by=by,
        counting=counting,
        events=len({p.event_id for p in rows}),
    )
