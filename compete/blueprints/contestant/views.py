"""The contestant's own page, opened from a QR code (no login needed), and its token.

``/r/<token>`` is light: rendered on the server, no JavaScript, one stylesheet, no cookie set.
Once the results are released (公示 or later) the page is cached: in each worker's own LRU and,
when ``REDIS_URL`` is set, in the shared ``compete.cache`` behind it. The key holds the token,
the locale, the event's ``results_version`` and state, and the last change of the entry, its
check-in and its people: a correction (which bumps ``results_version``, as any change to
results, publication or awards must) is a new key, so the next read is fresh, and a token's
page is never stored under another token. A copy also carries the moment it stops being true
by itself (the appeal deadline passing) and is rebuilt after at most ``CACHE_SECONDS``, which
bounds anything else the key does not name (an event's venue edited after publication).

Every miss — a wrong, altered, truncated or revoked token — takes the same path: the same query,
one count against the address's failed look-ups (``limits.count_miss``), and the same small page,
404, or 429 once the address has missed too often. Valid tokens are never limited.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, format_date, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.routing import BuildError
from wtforms import StringField
from wtforms.validators import AnyOf, DataRequired, Length

from ... import cache as page_cache
from ...domain.errors import DomainError
from ...domain.grades import GRADE_LABELS, Grade
from ...extensions import db
from ...forms import add_error
from ...i18n import LANG_COOKIE
from ...models import Entry
from ...models.awards import GrantStatus
from ...models.base import utcnow
from ...permissions import Permission, permission_required, public
from ...scope import load_in_event
from ..awards.certificates import KIND_HEADINGS
from ..awards.services import award_label
from ..awards.titles import title_label
from . import limits, services

bp = Blueprint("contestant", __name__)
log = logging.getLogger(__name__)

CACHE_SECONDS = 300  # at most this long before a cached page is rebuilt anyway
MEMORY_PAGES = 4096  # in-process copies per worker (about 8 KB each)
MEMORY_BYTES = 48 * 1024 * 1024
# A per-person page: a shared proxy must never keep it (private); the phone revalidates each
# time (no-cache) and gets 304 when nothing changed (ETag).
PAGE_HEADERS = {
    "Cache-Control": "private, no-cache",
    "Vary": "Cookie, Accept-Language",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}
MISS_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}

# Labels of awards, titles and certificate kinds are the awards area's (msgids, translated in
# the template); grant statuses are worded here for the contestant.
GRANT_LABELS = {
    GrantStatus.PROPOSED: _l("Proposed, awaiting approval"),
    GrantStatus.GRANTED: _l("Granted"),
    GrantStatus.DECLINED: _l("Not approved"),
    GrantStatus.REVOKED: _l("Revoked"),
}
STEP_LABELS = {
    "registered": _l("Registered"),
    "approved": _l("Registration approved"),
    "drawn": _l("Number drawn"),
    "checked_in": _l("Checked in"),
    "marked": _l("Marking finished"),
    "published": _l("Results published"),
    "final": _l("Results final"),
    "certificate": _l("Certificate issued"),
}
# Routes other areas provide, linked only when the running app has them: the public
# verification page by certificate token, the contestant's own PDF and image by result token,
# and the appeal form (it asks for a sign-in).
CERTIFICATE_VERIFY = ("awards.certificate_by_token", "awards.certificate_verify")
CERTIFICATE_PDF = ("awards.own_certificate_pdf",)
CERTIFICATE_PNG = ("awards.own_certificate_png",)
APPEAL_NEW = ("results.appeal_new",)


def _optional_url(endpoints, **values) -> str | None:
    """The URL of the first of ``endpoints`` this app has, or None."""
    for endpoint in endpoints:
        if endpoint in current_app.view_functions:
            try:
                return url_for(endpoint, **values)
            except BuildError:
                continue
    return None


def _when(value) -> str:
    """A date, or a time in the user's time zone, the same way on every page."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "yyyy-MM-dd HH:mm")
    return format_date(value, "yyyy-MM-dd")


def _grade(value) -> str:
    try:
        return GRADE_LABELS[Grade(value)]
    except (ValueError, KeyError):
        return ""


def _render_page(token: str, entry_id: int, locale: str) -> tuple[str, datetime | None]:
    now = utcnow()
    page = services.result_page(entry_id, now=now, cache_seconds=CACHE_SECONDS)
    certificates = [
        {
            "cert": cert,
            "verify": _optional_url(CERTIFICATE_VERIFY, token=cert.token),
            "pdf": _optional_url(CERTIFICATE_PDF, token=token, certificate_id=cert.id)
            if cert.own
            else None,
            "png": _optional_url(CERTIFICATE_PNG, token=token, certificate_id=cert.id)
            if cert.own
            else None,
        }
        for cert in page.certificates
    ]
    appeal_url = _optional_url(APPEAL_NEW, event_id=page.event_id) if page.appeal_open else None
    # A contestant account, if one exists, is one sign-in away; the page never needs it.
    sign_in_url = (
        url_for("auth.login", next=appeal_url or url_for("main.home")) if page.has_account else None
    )
    with force_locale(locale):
        html = render_template(
            "contestant/result.html",
            page=page,
            token=token,
            locale=locale,
            certificates=certificates,
            appeal_url=appeal_url,
            sign_in_url=sign_in_url,
            award_label=award_label,
            title_label=title_label,
            certificate_labels=KIND_HEADINGS,
            grant_labels=GRANT_LABELS,
            step_labels=STEP_LABELS,
            grade=_grade,
            when=_when,
        )
    return html, page.valid_until


def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def _stores() -> tuple[page_cache.MemoryCache, object | None]:
    """This worker's own LRU of pages, and the shared cache behind it when Redis is configured.

    Keys name everything a page shows, so a copy found under a key is right wherever it is
    kept: the local LRU answers most reads without a round trip, Redis lets a page built by
    one worker serve the others. The LRU is ours, sized for a page per contestant and
    language, so these pages never push the public results pages out of ``compete.cache``.
    """
    local = current_app.extensions.get("compete_qr_page_cache")
    if local is None:
        local = current_app.extensions["compete_qr_page_cache"] = page_cache.MemoryCache(
            max_entries=MEMORY_PAGES, max_bytes=MEMORY_BYTES
        )
    shared = page_cache.get_cache()
    return local, None if isinstance(shared, page_cache.MemoryCache) else shared


def _unpack(raw, now: float) -> tuple[bytes, str] | None:
    if not isinstance(raw, bytes):
        return None
    until, etag, body = raw.split(b"\n", 2)
    return (body, etag.decode("ascii")) if float(until) > now else None


def _cached_page(token: str, stamp: services.Stamp, locale: str) -> tuple[bytes, str]:
    """The page body and its ETag: from the cache when released and still true, else built."""
    if not stamp.released:
        html, _until = _render_page(token, stamp.entry_id, locale)
        body = html.encode("utf-8")
        return body, _etag(body)
    key = page_cache.make_key(("contestant-result", token, locale, *stamp.parts))
    local, shared = _stores()
    now = datetime.now(UTC).timestamp()
    found = _unpack(local.get(key), now)
    if found is not None:
        return found
    raw = None
    if shared is not None:
        try:
            raw = shared.get(key)
        except Exception:
            log.warning("page cache unavailable", exc_info=True)
        found = _unpack(raw, now)
        if found is not None:
            local.set(key, raw)
            return found
    html, until = _render_page(token, stamp.entry_id, locale)
    body = html.encode("utf-8")
    etag = _etag(body)
    expires = until.timestamp() if until else now + CACHE_SECONDS
    raw = f"{expires:.0f}\n{etag}\n".encode("ascii") + body
    local.set(key, raw)
    if shared is not None:
        try:
            shared.set(key, raw, max(1, int(expires - now)))
        except Exception:
            log.warning("page cache unavailable; not storing", exc_info=True)
    return body, etag


def _language() -> str:
    """The language of this page: ``?lang=``, then the language cookie, then the browser's.

    The choice Flask-Babel makes elsewhere, except that a signed-in account's own preference is
    not consulted (choosing a language also sets the cookie): the page is the same for everyone
    holding the token, and the choice costs no user load and no Babel locale parsing, which
    together cost more than the rest of a cached page. Pages render under ``force_locale`` of
    exactly this code, so the cached copy and its key always agree.
    """
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if best in ("zh", "zh_CN"):
        return "zh_CN"
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


def _miss_html(status: int, current: str, retry_after: int) -> str:
    messages = []
    for code in [current] + [c for c in current_app.config["LANGUAGES"] if c != current]:
        with force_locale(code):
            lang = "zh-CN" if code.startswith("zh") else code
            if status == 429:
                title = _("Too many wrong links from this network.")
                text = _(
                    "Please wait %(seconds)s seconds, then scan the QR code on your ticket again.",
                    seconds=retry_after,
                )
            else:
                title = _("This result link is not valid.")
                text = _(
                    "Scan the QR code on your ticket, result slip or certificate again,"
                    " or ask the organiser for a new one."
                )
            messages.append((lang, title, text))
    with force_locale(current):
        return render_template("contestant/unavailable.html", status=status, messages=messages)


def _unavailable(status: int, retry_after: int = 0) -> Response:
    """The page for a miss, in Chinese and English: one page for every kind of bad token.

    The 404 page depends on the language only, so each worker renders it once per language.
    """
    current = _language()
    if status == 404:
        pages = current_app.extensions.setdefault("compete_qr_miss_pages", {})
        html = pages.get(current)
        if html is None:
            html = pages[current] = _miss_html(status, current, retry_after)
    else:
        html = _miss_html(status, current, retry_after)
    response = Response(html, status=status, mimetype="text/html")
    response.headers.update(MISS_HEADERS)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/r/<token>")
@public
def result_page(token: str):
    """The contestant's own status and results; 404 for any token that is not in force."""
    stamp = services.lookup(token)
    if stamp is None:
        allowed, retry_after = limits.count_miss(get_remote_address())
        return _unavailable(404) if allowed else _unavailable(429, retry_after)
    locale = _language()
    body, etag = _cached_page(token, stamp, locale)
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(body, mimetype="text/html")
    response.set_etag(etag)
    response.headers.update(PAGE_HEADERS)
    return response


@bp.route("/hello")
@public
def hello():
    """A route that does nothing: the baseline the QR page benchmark compares against."""
    return Response("hello", mimetype="text/plain")


# --- Organiser: revoke and re-issue ------------------------------------------------------------


class TokenForm(FlaskForm):
    action = StringField(validators=[DataRequired(), AnyOf(["reissue", "revoke"])])  # the button
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


def _public_url(token: str | None) -> str | None:
    if not token:
        return None
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    return f"{base.rstrip('/')}{url_for('contestant.result_page', token=token)}"


@bp.route("/events/<int:event_id>/entries/<int:entry_id>/qr", methods=["GET", "POST"])
@permission_required(Permission.REGISTRATION_REVIEW)
def entry_token(event_id: int, entry_id: int):
    """Revoke an entry's QR code, or replace it with a new one (a lost or shared ticket)."""
    entry = load_in_event(Entry, entry_id)
    form = TokenForm()
    if form.validate_on_submit():
        action = services.reissue_token if form.action.data == "reissue" else services.revoke_token
        try:
            action(current_user, entry, reason=form.reason.data, now=utcnow())
        except DomainError as exc:
            db.session.rollback()
            add_error(form, exc, default="reason")
        else:
            db.session.commit()
            flash(
                _("A new QR code was issued; print the ticket again.")
                if form.action.data == "reissue"
                else _("The QR code was revoked."),
                "success",
            )
            return redirect(url_for(".entry_token", event_id=g.event.id, entry_id=entry.id))
    return (
        render_template(
            "contestant/token.html",
            event=g.event,
            entry=entry,
            form=form,
            public_url=_public_url(entry.qr_token),
        ),
        422 if form.errors else 200,
    )
