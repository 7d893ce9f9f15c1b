"""A contestant opens the QR code of their admission ticket on a phone at each stage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from compete.blueprints.registration.tickets import public_result_url
from compete.domain.lifecycle import EventState
from compete.domain.people import mask_name
from compete.extensions import db
from compete.models import (
    AwardGrant,
    Certificate,
    CertificateKind,
    CheckIn,
    Entry,
    Event,
    GrantStatus,
    Person,
    Publication,
    TitleGrant,
)
from compete.models.base import utcnow
from tests.conftest import build_app
from tests.scenario import ranked_event

from .conftest import PHONE


@pytest.fixture(scope="module")
def live_db(live_server, live_env):
    """An app on the live server's database, to set each stage up as the other pages would."""
    app = build_app(SQLALCHEMY_DATABASE_URI=live_env["DATABASE_URL"])
    yield app
    with app.app_context():
        db.engine.dispose()


def _set(app, event_id, entry_id, *, state=None, bump=False, **entry_values):
    with app.app_context():
        event = db.session.get(Event, event_id)
        entry = db.session.get(Entry, entry_id)
        for key, value in entry_values.items():
            setattr(entry, key, value)
        if state is not None:
            event.state = state
        if bump:
            event.results_version += 1
        db.session.commit()


def _states(page: Page) -> dict[str, str]:
    steps = page.locator("[data-step]")
    return {
        steps.nth(i).get_attribute("data-step"): steps.nth(i).get_attribute("data-step-state")
        for i in range(steps.count())
    }


def _fits_the_phone(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]


def test_a_contestant_follows_their_ticket_qr_through_the_competition(
    phone_page: Page, live_server, live_db, shot
):
    app = live_db
    with app.app_context():
        s = ranked_event(
            6,
            state=EventState.REGISTRATION_CLOSED,
            people_seed=7301,
            finals=["92.50", "90.00", "88.00", "85.50", "80.00", "70.00"],
        )
        db.session.commit()
        entry = db.session.get(Entry, s.entry_ids[0])
        entry.entry_number, entry.station_number = None, None
        db.session.commit()
        person = db.session.get(Person, s.person_ids[0])
        name, id_number, phone = person.name, person.id_number, person.phone
        admission_no = entry.admission_no
    url = public_result_url(live_server, s.tokens[0])  # what the ticket's QR code carries
    page = phone_page

    def nothing_personal():
        html = page.content()
        assert name not in html and id_number not in html and phone not in html
        expect(page.locator(".qr-name")).to_have_text(mask_name(name))

    # Approved, not drawn yet: the admission number, no scores although figures exist.
    response = page.goto(url)
    assert response.status == 200
    expect(page.locator("#qr-admission-no")).to_have_text(admission_no)
    assert _states(page)["drawn"] == "current"
    expect(page.locator("#qr-not-yet")).to_be_visible()
    expect(page.locator("#qr-final")).to_have_count(0)
    nothing_personal()
    _fits_the_phone(page)
    shot(page, "1-approved")

    # Drawn: the entry number and session.
    _set(app, s.event_id, s.entry_ids[0], state=EventState.DRAWN, entry_number="001", session_no=1)
    page.goto(url)
    expect(page.locator("#qr-entry-number")).to_have_text("001")
    expect(page.locator("#qr-session")).to_be_visible()
    expect(page.locator("#qr-checkin")).to_have_attribute("data-checked-in", "no")
    shot(page, "2-drawn")

    # Checked in, competing: still no score.
    with app.app_context():
        db.session.add(CheckIn(entry_id=s.entry_ids[0], event_id=s.event_id, method="qr"))
        db.session.commit()
    _set(app, s.event_id, s.entry_ids[0], state=EventState.IN_PROGRESS)
    page.goto(url)
    expect(page.locator("#qr-checkin")).to_have_attribute("data-checked-in", "yes")
    assert _states(page)["checked_in"] == "done"
    expect(page.locator("#qr-final")).to_have_count(0)
    expect(page.locator("#qr-rank")).to_have_count(0)
    shot(page, "3-checked-in")

    # Published (公示): score, rank of N, award, title proposed, appeal deadline.
    now = utcnow()
    with app.app_context():
        event = db.session.get(Event, s.event_id)
        db.session.add(
            Publication(
                event_id=s.event_id,
                published_at=now,
                publicity_start=now.date(),
                publicity_end=now.date() + timedelta(days=6),
                appeal_deadline=now + timedelta(hours=2),
                chain_head=event.mark_head,
                marks_seq=event.mark_seq,
            )
        )
        db.session.add(
            AwardGrant(event_id=s.event_id, entry_id=s.entry_ids[0], rank=1, award="first")
        )
        db.session.add(
            TitleGrant(
                person_id=s.person_ids[0],
                event_id=s.event_id,
                entry_id=s.entry_ids[0],
                title="GD_TECH_EXPERT",
            )
        )
        db.session.commit()
    _set(app, s.event_id, s.entry_ids[0], state=EventState.PUBLICITY, bump=True)
    page.goto(url)
    expect(page.locator("#qr-badge")).to_have_attribute("data-badge", "publicity")
    expect(page.locator("#qr-final")).to_have_text("92.50")
    expect(page.locator("#qr-rank")).to_have_attribute("data-rank", "1")
    expect(page.locator("#qr-rank")).to_have_attribute("data-of", "6")
    expect(page.locator("#qr-award")).to_have_attribute("data-award", "first")
    expect(page.locator("[data-title='GD_TECH_EXPERT']")).to_have_attribute(
        "data-grant", "proposed"
    )
    expect(page.locator("#qr-appeal")).to_have_attribute("data-open", "yes")
    expect(page.locator("#qr-appeal-deadline")).not_to_be_empty()
    assert "90.00" not in page.content()  # the runner-up's score is theirs alone
    nothing_personal()
    _fits_the_phone(page)
    shot(page, "4-publicity")

    # Final, awards issued: the title granted, the certificate listed; no more appeals.
    with app.app_context():
        title = db.session.query(TitleGrant).filter_by(entry_id=s.entry_ids[0]).one()
        title.status = GrantStatus.GRANTED
        for publication in db.session.query(Publication).filter_by(event_id=s.event_id):
            publication.finalised_at = utcnow()
        db.session.add(
            Certificate(
                number="GD2026731001K",
                token="browser-test-certificate-token-0001",
                kind=CertificateKind.AWARD,
                person_id=s.person_ids[0],
                event_id=s.event_id,
                entry_id=s.entry_ids[0],
                wording="一等奖",
                issuer="广东省人力资源和社会保障厅",
            )
        )
        db.session.commit()
    _set(app, s.event_id, s.entry_ids[0], state=EventState.AWARDS_ISSUED, bump=True)
    page.goto(url)
    expect(page.locator("#qr-badge")).to_have_attribute("data-badge", "final")
    expect(page.locator("#qr-appeal")).to_have_count(0)
    expect(page.locator("[data-title='GD_TECH_EXPERT']")).to_have_attribute("data-grant", "granted")
    expect(page.locator("[data-certificate='GD2026731001K']")).to_have_attribute(
        "data-cert-status", "valid"
    )
    assert _states(page)["certificate"] == "done"
    _fits_the_phone(page)
    shot(page, "5-certificate")
    image_link = page.locator("[data-certificate='GD2026731001K'] [data-link='png']")
    if image_link.count():  # the certificate area serves the image: WeChat users long-press it
        assert image_link.get_attribute("target") is None  # no new window
        image = page.request.get(live_server + image_link.get_attribute("href"))
        assert image.status == 200 and image.headers["content-type"] == "image/png"

    # A tampered QR code: a plain 404.
    token = s.tokens[0]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    response = page.goto(public_result_url(live_server, tampered))
    assert response.status == 404
    expect(page.locator("#qr-unavailable")).to_have_attribute("data-status", "404")
    assert name not in page.content()
    shot(page, "6-tampered")


def test_the_page_works_without_javascript(browser: Browser, live_server, live_db):
    with live_db.app_context():
        s = ranked_event(2, state=EventState.FINAL, people_seed=7302)
        db.session.commit()
    context = browser.new_context(**PHONE, locale="zh-CN", java_script_enabled=False)
    try:
        page = context.new_page()
        response = page.goto(public_result_url(live_server, s.tokens[1]))
        assert response.status == 200
        assert "private" in response.headers["cache-control"]
        expect(page.locator("#qr-final")).to_have_text("94.50")
        expect(page.locator("#qr-badge")).to_have_attribute("data-badge", "final")
        assert page.locator("script").count() == 0
    finally:
        context.close()
