"""A certificate's QR code opens its verification page on a phone (390×844), and a number typed
by hand finds the same certificate; a mistyped number says so."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from compete.blueprints.awards import certificates
from compete.domain.lifecycle import EventState
from compete.domain.people import mask_name
from compete.domain.tokens import CHECK_ALPHABET
from compete.extensions import db
from compete.models import AwardGrant, Entry, Event
from compete.models.base import utcnow

from ..conftest import build_app
from ..factories import make_competition
from ..scenario import ranked_event

JSQR = "/static/vendor/jsqr-1.4.0/jsQR.js"
DECODE = """async (src) => {
  const blob = await (await fetch(src)).blob();
  const bitmap = await createImageBitmap(blob);
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  const image = context.getImageData(0, 0, canvas.width, canvas.height);
  const found = window.jsQR(image.data, image.width, image.height);
  return found ? found.data : null;
}"""


@dataclass(frozen=True)
class Issued:
    certificate_id: int
    number: str
    token: str
    name: str
    result_token: str  # the entry's own token (its ticket's QR code)


@pytest.fixture(scope="module")
def issued(live_server, live_env) -> Issued:
    """A final event with a first prize and its certificate, written into the live database."""
    app = build_app(SQLALCHEMY_DATABASE_URI=live_env["DATABASE_URL"])
    with app.app_context():
        competition = make_competition(
            name="2026年广东省职业技能大赛（证书）", organiser="广东省人力资源和社会保障厅"
        )
        s = ranked_event(
            2,
            state=EventState.FINAL,
            competition=competition,
            people_seed=int.from_bytes(os.urandom(3), "big"),
        )
        db.session.add(
            AwardGrant(event_id=s.event_id, entry_id=s.entry_ids[0], rank=1, award="first")
        )
        db.session.flush()
        report = certificates.issue_certificates(
            None, db.session.get(Event, s.event_id), now=utcnow()
        )
        db.session.commit()
        certificate = report.issued[0]
        result = Issued(
            certificate_id=certificate.id,
            number=certificate.number,
            token=certificate.token,
            name=certificate.person.name,
            result_token=db.session.get(Entry, s.entry_ids[0]).qr_token,
        )
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()
    return result


def _fits_phone(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_certificate_qr_opens_the_verification_page_on_a_phone(
    phone_page: Page, live_server, issued, shot
):
    page = phone_page
    # The certificate image a contestant saves from WeChat; its QR code read by jsQR.
    page.goto(f"{live_server}/certificates/verify")
    page.add_script_tag(url=live_server + JSQR)
    image = f"{live_server}/r/{issued.result_token}/certificates/{issued.certificate_id}.png"
    decoded = page.evaluate(DECODE, image)
    assert decoded == f"{live_server}/c/{issued.token}"

    page.goto(decoded)
    result = page.locator("#verify-result")
    expect(result).to_have_attribute("data-status", "valid")
    expect(page.locator("#certificate-number")).to_have_text(issued.number)
    expect(page.locator("#certificate-name")).to_have_text(mask_name(issued.name))
    expect(page.locator("#checked-on")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    assert issued.name not in page.content()
    _fits_phone(page)
    shot(page, "1-from-qr")


def test_number_typed_by_hand_finds_the_certificate_and_a_typo_is_explained(
    phone_page: Page, live_server, issued, shot
):
    page = phone_page
    page.goto(f"{live_server}/certificates/verify")
    field = page.locator("#number")
    box = field.bounding_box()
    assert box and box["height"] >= 44, "a comfortable touch target"
    typed = f"{issued.number[:4]} {issued.number[4:8]} {issued.number[8:]}".lower()
    field.fill(typed)
    page.locator("#verify-form button[type=submit]").click()
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "valid")
    expect(page.locator("#certificate-number")).to_have_text(issued.number)
    expect(page.locator("#certificate-name")).to_have_text(mask_name(issued.name))
    _fits_phone(page)
    shot(page, "2-typed")

    wrong = next(ch for ch in CHECK_ALPHABET if ch != issued.number[-1])
    page.locator("#number").fill(issued.number[:-1] + wrong)
    page.locator("#verify-form button[type=submit]").click()
    expect(page.locator("#verify-error")).to_have_attribute("data-reason", "mistyped")
    expect(page.locator("#verify-result")).to_have_count(0)
    _fits_phone(page)
    shot(page, "3-mistyped")
