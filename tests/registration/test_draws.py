"""The draws page: the third draw, marking codes, and who sees their table."""

from __future__ import annotations

from sqlalchemy import func, select

from compete.extensions import db


def test_marking_codes_are_drawn_from_the_draws_page_and_shown_only_to_encryption(
    app, client, auth
):
    """The third draw (评审号) has a form; its table of codes is for the encryption judge and
    supervisors, not the organiser."""
    from compete.demo import load_demo
    from compete.models import Draw, DrawKind, Event, ReviewCode

    from ..factories import csrf_from

    with app.app_context():
        load_demo(password="Demo-pass-2026")
        db.session.commit()
        event = db.session.scalar(select(Event).where(Event.code == "E01"))
        event_id = event.id
        before = db.session.scalar(
            select(func.count())
            .select_from(Draw)
            .where(Draw.event_id == event_id, Draw.kind == DrawKind.REVIEW_CODE)
        )
    auth.login("encrypt", "Demo-pass-2026")
    page = client.get(f"/events/{event_id}/draws").get_data(as_text=True)
    assert 'id="review-code-draw"' in page
    response = client.post(
        f"/events/{event_id}/draws/review-codes",
        data={
            "codes-seed": "venue-2026",
            "codes-prefix": "K",
            "codes-reason": "信封受损，重新抽取",
            "csrf_token": csrf_from(page),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        codes = db.session.scalars(
            select(ReviewCode.code).where(ReviewCode.event_id == event_id)
        ).all()
        assert codes and all(code.startswith("K") for code in codes)
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Draw)
                .where(Draw.event_id == event_id, Draw.kind == DrawKind.REVIEW_CODE)
            )
            == before + 1
        )
        sample = codes[0]
    shown = client.get(f"/events/{event_id}/draws").get_data(as_text=True)
    assert sample in shown  # the encryption judge sees the table
    auth.logout()
    auth.login("organiser", "Demo-pass-2026")
    hidden = client.get(f"/events/{event_id}/draws").get_data(as_text=True)
    assert sample not in hidden
