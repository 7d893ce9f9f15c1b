"""Certificates: issue, download, revoke, and the public verification page.

Organisers (``CERTIFICATES_ISSUE``) issue an event's certificates as a job with a progress page
and a ZIP download, download one certificate as PDF or image, and revoke one with a reason.

The public verification page opens from the QR code (``/c/<token>``) or from a number typed by
hand (``/certificates/verify?number=``). It shows the number, the masked name, the event, what
the certificate certifies, the issuer, valid or revoked, and today's date; never an ID number,
phone or birth date. A contestant downloads their own certificate through their result token
(``/r/<token>/certificates/<id>.pdf`` or ``.png``; the image suits WeChat, which blocks
downloads). Failed look-ups on these public routes count against a per-address limit
(``CERTIFICATE_LOOKUP_RATE_LIMIT``, default 20 per minute) and answer 429 beyond it.
"""

from __future__ import annotations

import re
from io import BytesIO

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from flask_login import current_user
from sqlalchemy import select

from ... import jobs
from ...domain.errors import DomainError
from ...errors import translate_error
from ...extensions import db, limiter
from ...models import Certificate, CertificateStatus, Entry, Job, JobStatus
from ...models.base import utcnow
from ...permissions import Permission, permission_required, public
from ...scope import load_in_event
from ..results.services import is_final
from . import certificates as service
from .views import bp

PDF = "application/pdf"
PNG = "image/png"
JOB_KIND = "certificates.issue"
LOOKUP_FAILED = (404, 422)


def _lookup_limit() -> str:
    return current_app.config.get("CERTIFICATE_LOOKUP_RATE_LIMIT") or "20 per minute"


# One budget per address for every public certificate look-up; only failures use it up.
lookup_limit = limiter.shared_limit(
    _lookup_limit,
    scope="certificate-lookup",
    deduct_when=lambda response: response.status_code in LOOKUP_FAILED,
)


def _public_base() -> str:
    """Where QR codes point: ``PUBLIC_BASE_URL`` if set, else this request's host."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def _send(data: bytes, mimetype: str, filename: str, *, inline: bool = False):
    response = send_file(
        BytesIO(data), mimetype=mimetype, as_attachment=not inline, download_name=filename
    )
    response.headers["Cache-Control"] = "private, no-store"  # a person's name: keep out of caches
    return response


def _render_pdf(certificate: Certificate):
    return _send(
        service.certificate_pdf([certificate], base_url=_public_base()),
        PDF,
        service.file_stem(certificate) + ".pdf",
    )


def _render_png(certificate: Certificate):
    return _send(
        service.certificate_png(certificate, base_url=_public_base()),
        PNG,
        service.file_stem(certificate) + ".png",
        inline=True,
    )


# ---------------------------------------------------------------- organisers


def _latest_job(event_id: int) -> Job | None:
    stmt = (
        select(Job)
        .where(Job.kind == JOB_KIND, Job.event_id == event_id)
        .order_by(Job.created_at.desc())
        .limit(1)
    )
    return db.session.scalars(stmt).first()


@bp.route("/events/<int:event_id>/certificates")
@permission_required(Permission.CERTIFICATES_ISSUE)
def certificate_list(event_id: int):
    """The event's certificates, what issuing would add, and the last batch."""
    event = g.event
    plan = service.plan_certificates(event)
    rows = [(c, service.view_of(c)) for c in service.event_certificates(event)]
    return render_template(
        "awards/certificates.html",
        event=event,
        tab="certificates",
        plan=plan,
        rows=rows,
        final=is_final(event),
        job=_latest_job(event.id),
        batch_ready=_batch_ready,
    )


def _batch_ready(job: Job | None) -> bool:
    return job is not None and job.status is JobStatus.DONE and service.batch_path(job.id).exists()


@bp.route("/events/<int:event_id>/certificates/issue", methods=["POST"])
@permission_required(Permission.CERTIFICATES_ISSUE)
def issue_certificates(event_id: int):
    """Issue the missing certificates and build the event's ZIP, as a job with progress."""
    event = g.event
    back = url_for(".certificate_list", event_id=event.id)
    if not is_final(event):
        flash(_(service.NOT_FINAL), "error")
        return redirect(back)
    record = jobs.submit(
        JOB_KIND,
        actor=current_user,
        event_id=event.id,
        dedupe=True,
        base_url=_public_base(),
    )
    return redirect(url_for("main.job_status", job_id=record.id, next=back))


@bp.route("/events/<int:event_id>/certificates/batches/<job_id>.zip")
@permission_required(Permission.CERTIFICATES_ISSUE)
def certificate_batch(event_id: int, job_id: str):
    """The ZIP a finished batch job wrote (one PDF per certificate)."""
    if not re.fullmatch(r"[0-9a-f]{32}", job_id):
        abort(404)
    record = db.session.get(Job, job_id)
    if record is None or record.kind != JOB_KIND or record.event_id != g.event.id:
        abort(404)
    if not _batch_ready(record):
        abort(404)
    response = send_file(
        service.batch_path(job_id),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"certificates-{g.event.code}.zip",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/events/<int:event_id>/certificates/<int:certificate_id>.pdf")
@permission_required(Permission.CERTIFICATES_ISSUE)
def certificate_pdf(event_id: int, certificate_id: int):
    return _render_pdf(load_in_event(Certificate, certificate_id))


@bp.route("/events/<int:event_id>/certificates/<int:certificate_id>.png")
@permission_required(Permission.CERTIFICATES_ISSUE)
def certificate_png(event_id: int, certificate_id: int):
    return _render_png(load_in_event(Certificate, certificate_id))


@bp.route("/events/<int:event_id>/certificates/<int:certificate_id>/revoke", methods=["POST"])
@permission_required(Permission.CERTIFICATES_ISSUE)
def revoke_certificate(event_id: int, certificate_id: int):
    """Revoke one certificate with a reason (its verification page then says revoked)."""
    certificate = load_in_event(Certificate, certificate_id)
    try:
        service.revoke_certificate(
            current_user, certificate, reason=request.form.get("reason", ""), now=utcnow()
        )
    except DomainError as exc:
        db.session.rollback()
        flash(translate_error(exc), "error")
    else:
        db.session.commit()
        flash(_("Certificate %(number)s is revoked.", number=certificate.number), "success")
    return redirect(url_for(".certificate_list", event_id=event_id))


# ---------------------------------------------------------------- public


def _today() -> str:
    return to_user_timezone(utcnow()).date().isoformat()


def _verify_page(
    certificate: Certificate | None = None, *, number: str = "", error=None, reason=""
):
    status = 200
    if error is not None:
        status = 422 if reason == "mistyped" else 404
    return render_template(
        "awards/verify.html",
        cert=service.view_of(certificate) if certificate is not None else None,
        number=number,
        error=error,
        reason=reason,
        checked_on=_today(),
    ), status


@bp.route("/c/<token>")
@lookup_limit
@public
def certificate_by_token(token: str):
    """The verification page a certificate's QR code opens."""
    certificate = service.by_token(token)
    if certificate is None:
        return _verify_page(
            error=_("No certificate matches this QR code. It may have been copied wrongly."),
            reason="not_found",
        )
    return _verify_page(certificate)


@bp.route("/certificates/verify")
@lookup_limit
@public
def verify_certificate():
    """Type the number printed on a certificate to check it."""
    raw = request.args.get("number", "")
    if not raw.strip():
        return _verify_page()
    number = service.normalise_number(raw)[:40]
    try:
        certificate = service.by_number(raw)
    except service.MistypedNumber as exc:
        return _verify_page(number=number, error=translate_error(exc), reason="mistyped")
    if certificate is None:
        return _verify_page(
            number=number,
            error=_("No certificate has the number %(number)s.", number=number),
            reason="not_found",
        )
    return _verify_page(certificate, number=number)


def _own_certificate(token: str, certificate_id: int) -> Certificate:
    """The certificate if it belongs to the entry of this result token; 404 otherwise."""
    if not token or len(token) > 64:
        abort(404)
    entry = db.session.scalar(select(Entry).where(Entry.qr_token == token))
    certificate = db.session.get(Certificate, certificate_id)
    if (
        entry is None
        or certificate is None
        or certificate.entry_id != entry.id
        or certificate.status is not CertificateStatus.VALID
    ):
        abort(404)
    return certificate


@bp.route("/r/<token>/certificates/<int:certificate_id>.pdf")
@lookup_limit
@public
def own_certificate_pdf(token: str, certificate_id: int):
    """A contestant's own certificate, from the result page their ticket's QR code opens."""
    return _render_pdf(_own_certificate(token, certificate_id))


@bp.route("/r/<token>/certificates/<int:certificate_id>.png")
@lookup_limit
@public
def own_certificate_png(token: str, certificate_id: int):
    """The same as an image to view and long-press to save (WeChat blocks downloads)."""
    return _render_png(_own_certificate(token, certificate_id))
