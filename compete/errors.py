"""Error answers: domain errors and HTTP errors become a 4xx page or JSON in the user's language."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .domain import N_
from .domain.errors import Conflict, DomainError, InvalidInput, NotAllowed
from .extensions import db

log = logging.getLogger(__name__)

STATUS = {InvalidInput: 422, NotAllowed: 403, Conflict: 409, DomainError: 409}

# Messages for HTTP errors, in the user's language (msgids translated at answer time).
HTTP_MESSAGES = {
    400: N_("The request could not be understood."),
    401: N_("Please sign in first."),
    403: N_("You do not have permission to open this page."),
    404: N_("The page or record does not exist."),
    405: N_("This action is not available here."),
    409: N_("This conflicts with the current state."),
    413: N_("The upload is too large."),
    422: N_("The input is not valid."),
    429: N_("Too many attempts. Please wait a moment and try again."),
    500: N_("Something went wrong on our side. The error has been logged."),
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def translate_error(exc: DomainError) -> str:
    return gettext(exc.message, **exc.params)


def error_response(status: int, message: str, *, error: str | None = None, **extra):
    if wants_json():
        body = {"error": error or str(status), "message": message, **extra}
        return body, status
    return render_template("errors/error.html", status=status, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        db.session.rollback()
        status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
        extra = {"field": exc.field} if isinstance(exc, InvalidInput) and exc.field else {}
        return error_response(status, translate_error(exc), error=type(exc).__name__, **extra)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return error_response(
            400,
            gettext(
                "The form has expired or was sent from elsewhere. Please reload the page and"
                " try again."
            ),
            error="csrf",
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 429:
            message = gettext("Too many attempts. Please wait a moment and try again.")
            response = error_response(429, message, error="rate_limited")
            return response
        msgid = HTTP_MESSAGES.get(status)
        message = gettext(msgid) if msgid else exc.description
        return error_response(status, message, error=exc.name.lower().replace(" ", "_"))

    @app.errorhandler(Exception)
    def _server_error(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, gettext(HTTP_MESSAGES[500]), error="server_error")
