"""Home page, language switch and health check."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import text

from ...extensions import db, redis_client
from ...i18n import LANG_COOKIE
from ...jobs import failure_text
from ...models import JobStatus
from ...permissions import public, signed_in
from . import services

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def home():
    if not current_user.is_authenticated:
        return render_template("main/landing.html")
    return render_template("main/dashboard.html", desk=services.desk_for(current_user))


@bp.route("/lang", methods=["POST"])
@public
def set_language():
    code = request.form.get("lang", "")
    target = request.form.get("next") or url_for("main.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("main.home")
    response = redirect(target)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure or current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
        )
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return response


@bp.route("/healthz")
@public
def healthz():
    """Liveness and database reachability, for load balancers and the test harness."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # any database failure means not healthy
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    checks = {"status": "ok", "database": database}
    if url := current_app.config.get("REDIS_URL"):
        from redis.exceptions import RedisError

        try:
            redis_client(url).ping()
            checks["redis"] = "ok"
        except RedisError:
            return jsonify(status="error", database=database, redis="unreachable"), 503
    return jsonify(**checks)


@bp.route("/jobs/<job_id>")
@signed_in
def job_status(job_id: str):
    """A job's progress: HTML refreshing itself until done, or JSON for scripts."""
    record = services.visible_job(current_user, job_id)
    if record is None:
        abort(404)
    if request.accept_mimetypes.best == "application/json" or request.args.get("format") == "json":
        return jsonify(
            id=record.id,
            kind=record.kind,
            status=record.status.value,
            done=record.done,
            total=record.total,
            percent=record.percent,
            message=record.message,
            result=record.result,
        )
    return render_template(
        "main/job.html",
        job=record,
        failure=failure_text(record) if record.status is JobStatus.FAILED else None,
        back=services.safe_next(request.args),
    )
