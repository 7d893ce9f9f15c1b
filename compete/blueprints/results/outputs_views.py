"""Results outputs: Excel and PDF lists for organisers, the publicity notice, the public results
pages and the big screen for the venue.

Public pages show nothing before publication (a neutral 404 page) and, after, only what §7
allows. Their bodies are cached by a key naming everything they show (``results_version``,
state, publication, locale), so readers do not hit the ranking each time and a correction,
which bumps ``results_version``, shows at once.
"""

from __future__ import annotations

from io import BytesIO

from flask import abort, g, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from ... import cache
from ...extensions import db
from ...models import Event
from ...models.base import utcnow
from ...permissions import Permission, can, permission_required, public
from . import outputs, services
from .views import bp

SCREEN_SECONDS = (15, 5, 300)  # default, min, max
SCREEN_ROWS = (10, 5, 30)


def _locale() -> str:
    return str(get_locale())


def _fragment(key: tuple, build) -> Markup:
    """A page body from the cache, or rendered now by ``build`` (our templates escape it)."""
    return Markup(cache.cached(key, build))  # noqa: S704


def _download(data: bytes, mimetype: str, filename: str, *, private: bool = True):
    """Organisers' lists (names, ID numbers) as attachments kept out of every cache; public
    documents inline, so phone browsers that block downloads still show them."""
    response = send_file(
        BytesIO(data), mimetype=mimetype, as_attachment=private, download_name=filename
    )
    response.headers["Cache-Control"] = "no-store" if private else "no-cache"
    return response


@bp.app_context_processor
def _output_links():
    return {"results_outputs": output_links}


def output_links(event: Event) -> dict[str, str | None]:
    """The outputs of ``event`` the current user may open (for the links partials)."""
    links: dict[str, str | None] = dict.fromkeys(
        ("xlsx", "pdf", "xlsx_full", "notice", "notice_pdf", "public")
    )
    if can(Permission.RESULTS_VIEW, event=event, competition=event.competition):
        links["xlsx"] = url_for("results.export_xlsx", event_id=event.id)
        links["pdf"] = url_for("results.export_pdf", event_id=event.id)
        if can(Permission.PERSONAL_DATA_VIEW, event=event, competition=event.competition):
            links["xlsx_full"] = url_for("results.export_xlsx", event_id=event.id, full=1)
    if outputs.published(event) is not None:
        links["notice"] = url_for("results.notice", event_id=event.id)
        links["notice_pdf"] = url_for("results.notice_pdf", event_id=event.id)
        links["public"] = url_for("results.public_event", event_id=event.id)
    links["screen"] = url_for("results.screen", competition_id=event.competition_id)
    return links


# ---------------------------------------------------------------- organisers


def _export(fmt: str):
    event = g.event
    full = request.args.get("full") == "1"
    if full and not can(Permission.PERSONAL_DATA_VIEW):
        abort(403)
    data, rl = outputs.export_results(current_user, event, fmt=fmt, full_ids=full, now=utcnow())
    db.session.commit()
    suffix = "-full" if rl.full_ids else ""
    if fmt == "xlsx":
        return _download(data, outputs.XLSX, f"results-{event.code}{suffix}.xlsx")
    return _download(data, outputs.PDF, f"results-{event.code}{suffix}.pdf")


@bp.route("/events/<int:event_id>/results/export.xlsx")
@permission_required(Permission.RESULTS_VIEW)
def export_xlsx(event_id: int):
    """The stored results as Excel; ``?full=1`` gives full ID numbers (personal-data holders)."""
    return _export("xlsx")


@bp.route("/events/<int:event_id>/results/export.pdf")
@permission_required(Permission.RESULTS_VIEW)
def export_pdf(event_id: int):
    """The stored results as a PDF (A4 landscape); ``?full=1`` as for Excel."""
    return _export("pdf")


# ---------------------------------------------------------------- public


def _not_published(event: Event):
    return render_template("results/public_unpublished.html", event=event), 404


@bp.route("/events/<int:event_id>/results")
@public
def public_event(event_id: int):
    """The event's published results: "under publicity" with the window, then "final"."""
    event = g.event
    publication = outputs.published(event)
    if publication is None:
        return _not_published(event)
    locale = _locale()

    def build() -> str:
        return render_template(
            "results/public_event_body.html",
            event=event,
            publication=publication,
            lines=outputs.public_lines(event),
            entrants=outputs.entrant_count(event),
            final=services.is_final(event),
        )

    body = _fragment(outputs.page_key("public-event", event, publication, locale), build)
    return render_template("results/public_event.html", event=event, body=body)


@bp.route("/competitions/<int:competition_id>/results")
@public
def public_competition(competition_id: int):
    """The competition's published events, each linking to its results page."""
    competition = g.competition
    pairs = outputs.published_events(competition)
    return render_template(
        "results/public_competition.html",
        competition=competition,
        pairs=pairs,
        final={event.id: services.is_final(event) for event, _ in pairs},
    )


@bp.route("/events/<int:event_id>/results/notice")
@public
def notice(event_id: int):
    """The publicity notice (公示) as a page; 404 before publication."""
    event = g.event
    publication = outputs.published(event)
    if publication is None:
        return _not_published(event)
    locale = _locale()

    def build() -> str:
        return render_template("results/notice_body.html", n=outputs.notice(event, publication))

    body = _fragment(outputs.page_key("notice", event, publication, locale), build)
    return render_template("results/notice.html", event=event, body=body)


@bp.route("/events/<int:event_id>/results/notice.pdf")
@public
def notice_pdf(event_id: int):
    """The publicity notice as a PDF to post and archive; 404 before publication."""
    event = g.event
    publication = outputs.published(event)
    if publication is None:
        return _not_published(event)
    locale = _locale()
    data = cache.cached(
        outputs.page_key("notice-pdf", event, publication, locale),
        lambda: outputs.notice_pdf(event, publication),
    )
    return _download(data, outputs.PDF, f"notice-{event.code}.pdf", private=False)


def _bounded(name: str, bounds: tuple[int, int, int]) -> int:
    default, low, high = bounds
    value = request.args.get(name, type=int)
    return default if value is None else min(max(value, low), high)


@bp.route("/competitions/<int:competition_id>/screen")
@public
def screen(competition_id: int):
    """The venue's big screen: one page of one published event per view, moving on by itself.

    ``?i=`` is the slide number (wraps around), ``?s=`` the seconds per slide (5–300),
    ``?rows=`` the rows per slide (5–30). The page refreshes to the next slide, so new
    publications and corrections appear without anyone touching the screen.
    """
    competition = g.competition
    seconds = _bounded("s", SCREEN_SECONDS)
    rows = _bounded("rows", SCREEN_ROWS)
    slides = outputs.screen_slides(competition, rows=rows)
    params = {}
    if seconds != SCREEN_SECONDS[0]:
        params["s"] = seconds
    if rows != SCREEN_ROWS[0]:
        params["rows"] = rows
    if not slides:
        return render_template(
            "results/screen.html",
            competition=competition,
            slide=None,
            body=None,
            seconds=max(seconds, 30),
            next_url=url_for(".screen", competition_id=competition.id, **params),
        )
    index = (request.args.get("i", type=int) or 0) % len(slides)
    slide = slides[index]
    event, publication = slide.event, slide.publication
    locale = _locale()

    def build() -> str:
        lines = outputs.public_lines(event)
        return render_template(
            "results/screen_slide.html",
            event=event,
            slide=slide,
            lines=lines[slide.page * rows : (slide.page + 1) * rows],
            has_awards=any(line.award for line in lines),
            final=services.is_final(event),
        )

    body = _fragment(
        outputs.page_key("screen", event, publication, locale, slide.page, slide.pages, rows),
        build,
    )
    return render_template(
        "results/screen.html",
        competition=competition,
        slide=slide,
        body=body,
        seconds=seconds,
        position=(index + 1, len(slides)),
        next_url=url_for(
            ".screen", competition_id=competition.id, i=(index + 1) % len(slides), **params
        ),
    )
