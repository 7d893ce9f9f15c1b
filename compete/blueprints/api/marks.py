"""Marks through the API: the batch the judges' tablets send, with the tablets' answers.

``POST /api/v1/events/<id>/marks`` takes ``{"marks": [...]}`` in the shape the tablet page posts
to ``/tablet/events/<id>/marks`` and goes through the same judging services: the judge's seat
on the event's panel is checked once (``mark_context``: 403 for anyone else, as for the tablet),
the batch recorded with ``record_marks`` (each ``client_id`` stored once; a replay answers
``duplicate`` with the first copy), and each item answered on its own: stored, duplicate,
conflict (a stale edit) or refused (with the reason). A malformed batch is a 422; an item that
cannot be read is refused without stopping the others.

Items are read more strictly than the tablet reads them: ids are JSON integers from 1 to
2**31 - 1, a value is a plain decimal (up to six digits each side of the point), a time carries
its offset; anything else is refused as unreadable rather than guessed at.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user

from ...converters import MAX_ID
from ...domain import N_
from ...domain.errors import InvalidInput
from ...errors import translate_error
from ...models.base import utcnow
from ...permissions import Permission, panel_only, permission_required
from ..judging import services as judging
from ..results import services as results
from .serializers import mark
from .views import bp

MAX_BATCH = 200
MAX_TEXT = 2000  # a reason longer than this is not a reason a tablet would send
VALUE = re.compile(r"-?\d{1,6}(?:\.\d{1,6})?")
MARK_TEXT = re.compile(r"-?\d+\.\d{2}")


class Unreadable(ValueError):
    """An item of the batch is not a mark this endpoint can read."""


def _id(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_ID:
        raise Unreadable
    return raw


def _value(raw: Any) -> Decimal | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise Unreadable
    text = (raw if isinstance(raw, str) else str(raw)).strip()
    if not VALUE.fullmatch(text):
        raise Unreadable
    return Decimal(text)


def _moment(raw: Any) -> datetime | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        raise Unreadable
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise Unreadable
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise Unreadable from exc


def _text(raw: Any, *, limit: int) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > limit:
        raise Unreadable
    return raw


def parse_mark(item: Any, *, device: str) -> judging.MarkInput:
    """One item of the batch as the judging services take it; Unreadable if it is not one."""
    if not isinstance(item, dict):
        raise Unreadable
    client_id = item.get("client_id")
    code = item.get("code")
    if not isinstance(client_id, str) or not isinstance(code, str) or len(code) > 64:
        raise Unreadable
    base = item.get("base")
    return judging.MarkInput(
        client_id=client_id,  # an empty or over-long id is refused by record_marks
        code=code,
        criterion_id=_id(item.get("criterion_id")),
        value=_value(item.get("value")),
        base=None if base is None else _id(base),
        entered_at=_moment(item.get("entered_at")),
        reason=_text(item.get("reason"), limit=MAX_TEXT) or None,
        device=(_text(item.get("device"), limit=MAX_TEXT) or device)[:120],
    )


def _result(client_id: str, status: str, message: str = "", mark_id=None, value=None) -> dict:
    return {
        "client_id": client_id,
        "status": status,
        "mark_id": mark_id,
        "value": value,
        "message": message,
    }


def _answer(answer: judging.MarkAnswer) -> dict:
    if answer.error is not None:
        shown = None
        if isinstance(answer.error, judging.StaleMark):
            stored = str(answer.error.params.get("value") or "")
            shown = stored if MARK_TEXT.fullmatch(stored) else None
        return _result(answer.client_id, answer.status, translate_error(answer.error), value=shown)
    value = None if answer.value is None else mark(Decimal(str(answer.value)))
    return _result(answer.client_id, answer.status, mark_id=answer.mark_id, value=value)


@bp.route("/events/<id:event_id>/marks", methods=["POST"])
@permission_required(Permission.MARKS_ENTER)
@panel_only
def submit_marks(event_id: int):
    """Record a batch of marks of the token's judge; one answer per item, in order."""
    event = g.event
    user = current_user._get_current_object()
    body = request.get_json(silent=True)
    items = body.get("marks") if isinstance(body, dict) else None
    batch = isinstance(items, list) and 1 <= len(items) <= MAX_BATCH
    device = (request.user_agent.string or "api")[:120]
    parsed: list[judging.MarkInput | None] = []
    for item in items if batch else []:
        try:
            parsed.append(parse_mark(item, device=device))
        except Unreadable:
            parsed.append(None)
    marks = [m for m in parsed if m is not None]
    # The seat first: anyone off the panel gets 403 whatever they sent.
    context = judging.mark_context(
        user,
        event,
        codes={m.code for m in marks},
        criterion_ids={m.criterion_id for m in marks},
    )
    if not batch:
        raise InvalidInput(N_("Send a list of 1 to %(n)s marks."), field="marks", n=MAX_BATCH)
    outcome = judging.submit_batch(user, event, marks, context=context, now=utcnow())
    answers = outcome.answers
    answered = iter(answers)
    replies = []
    for item, one in zip(items, parsed, strict=True):
        if one is None:
            raw = item.get("client_id") if isinstance(item, dict) else None
            client_id = raw if isinstance(raw, str) else ""
            replies.append(_result(client_id, "refused", _("This mark cannot be read.")))
        else:
            replies.append(_answer(next(answered)))
    if outcome.recompute:
        results.schedule_recompute(event, actor=user)
    return {"results": replies}
