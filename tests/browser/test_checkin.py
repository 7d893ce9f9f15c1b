"""Check-in (检录) on a tablet: typed admission numbers and camera scans of the ticket QR code."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import qrcode
from babel.support import Translations
from PIL import Image
from playwright.sync_api import Browser, BrowserType, Page, expect
from sqlalchemy import create_engine, text

from .conftest import ARGS, CHROMIUM, ROOT, TABLET

DEMO_PASSWORD = "Demo-pass-2026"
RECORDER = "recorder"
RECORDER_NAME = "检录员 何工"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")

# What the zh-CN tablet shows: the catalog's translation, so the test follows the catalog.
_catalog = Translations.load(str(ROOT / "compete" / "translations"), ["zh_Hans_CN"])


def zh(msgid: str, **params: str) -> str:
    return _catalog.gettext(msgid) % params if params else _catalog.gettext(msgid)


@dataclass(frozen=True)
class Ticket:
    event_id: int
    admission_no: str
    token: str
    entry_number: str
    name: str


def _unchecked_tickets(database_url: str, count: int) -> list[Ticket]:
    """Approved entries of the demo event E01 that nobody has checked in yet."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    """
                    SELECT e.event_id, e.admission_no, e.qr_token, e.entry_number, p.name
                    FROM entries e
                    JOIN events ev ON ev.id = e.event_id
                    JOIN entry_members m ON m.entry_id = e.id
                    JOIN people p ON p.id = m.person_id
                    WHERE ev.code = 'E01' AND e.status = 'approved'
                      AND e.admission_no IS NOT NULL AND e.qr_token IS NOT NULL
                      AND e.id NOT IN (SELECT entry_id FROM check_ins)
                    ORDER BY e.entry_number
                    LIMIT :count
                    """
                ),
                {"count": count},
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == count, "the demo event E01 has too few entries left to check in"
    return [Ticket(*row) for row in rows]


@pytest.fixture
def tickets(live_server, live_env) -> list[Ticket]:
    return _unchecked_tickets(live_env["DATABASE_URL"], 1)


def _sign_in_and_open_checkin(page: Page, live_server: str, event_id: int) -> None:
    page.goto(live_server + "/login")
    page.get_by_label(zh("Username")).fill(RECORDER)
    page.get_by_label(zh("Password")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=zh("Sign in")).click()
    expect(page.get_by_role("button", name=zh("Sign out"))).to_be_visible()
    page.goto(f"{live_server}/events/{event_id}/checkin")
    expect(page.locator("#checkin-form")).to_be_visible()


def _absent_count(page: Page) -> int:
    match = re.search(r"\d+", page.locator("#absent-count").inner_text())
    assert match, "the absentee badge shows no number"
    return int(match.group())


def test_typed_admission_number_checks_in_once_then_says_when_and_by_whom(
    page: Page, live_server, tickets, shot
):
    ticket = tickets[0]
    _sign_in_and_open_checkin(page, live_server, ticket.event_id)
    absent_before = _absent_count(page)
    shot(page, "1-page")

    code = page.locator("#checkin-form input[name=code]")
    result = page.locator("#checkin-result")
    code.fill(ticket.admission_no)
    page.locator("#checkin-form button[type=submit]").click()
    expect(result.locator(".person-card p.big")).to_have_text(ticket.name)
    expect(result).to_contain_text(ticket.entry_number)
    confirm = result.get_by_role("button", name=zh("Confirm check-in"))
    expect(confirm).to_be_visible()
    box = confirm.bounding_box()
    assert box and box["height"] >= 60, "the confirm button is a big touch target"
    assert page.url.endswith("/checkin"), "the lookup stayed on the page (fetch, no reload)"
    shot(page, "2-looked-up")

    confirm.click()
    expect(result.get_by_role("status")).to_have_text(zh("Checked in."))
    expect(result.locator(".flash-success")).to_be_visible()
    expect(
        page.locator(f'#absent-list li[data-admission-no="{ticket.admission_no}"]')
    ).to_have_count(0)
    assert _absent_count(page) == absent_before - 1
    shot(page, "3-checked-in")

    code.fill(ticket.admission_no)
    page.locator("#checkin-form button[type=submit]").click()
    warning = result.locator(".flash-warning")
    expect(warning).to_contain_text(RECORDER_NAME)
    expect(warning).to_contain_text(TIMESTAMP)
    expect(result.get_by_role("button", name=zh("Confirm check-in"))).to_have_count(0)
    shot(page, "4-already")

    page.reload()
    assert _absent_count(page) == absent_before - 1, "the server counts one absentee fewer"
    expect(page.locator("#absent-list")).not_to_contain_text(ticket.name)
    assert page.evaluate("document.documentElement.scrollWidth") <= 768


def _y4m_of_qr(data: str, path: Path, *, width: int = 640, height: int = 480) -> Path:
    """A short Y4M 4:2:0 video of the QR code on white paper; Chromium loops it."""
    qr = qrcode.QRCode(border=4, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white").convert("L")
    side = height * 4 // 5 // image.size[0] * image.size[0]
    image = image.resize((side, side), Image.Resampling.NEAREST)
    frame = Image.new("RGB", (width, height), "white")
    frame.paste(image.convert("RGB"), ((width - side) // 2, (height - side) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    out = io.BytesIO()
    out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
    for _ in range(5):
        out.write(b"FRAME\n" + planes)
    path.write_bytes(out.getvalue())
    return path


@pytest.fixture
def camera_browser(browser_type: BrowserType, tmp_path, live_server, live_env):
    """A Chromium whose fake camera films the admission ticket of an unchecked entry."""
    ticket = _unchecked_tickets(live_env["DATABASE_URL"], 1)[0]
    video = _y4m_of_qr(f"{live_server}/r/{ticket.token}", tmp_path / "ticket.y4m")
    browser = browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    yield browser, ticket
    browser.close()


def test_camera_scan_of_the_ticket_qr_finds_the_contestant_and_checks_in(
    camera_browser: tuple[Browser, Ticket], live_server, shot
):
    browser, ticket = camera_browser
    context = browser.new_context(**TABLET, locale="zh-CN")
    context.grant_permissions(["camera"], origin=live_server)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    try:
        _sign_in_and_open_checkin(page, live_server, ticket.event_id)
        absent_before = _absent_count(page)
        scan = page.get_by_role("button", name=zh("Scan with the camera"))
        expect(scan).to_be_visible()
        scan.click()
        expect(page.locator("#scanner-video")).to_be_visible()

        result = page.locator("#checkin-result")
        expect(result.locator(".person-card p.big")).to_have_text(ticket.name)
        expect(result).to_contain_text(ticket.entry_number)
        shot(page, "1-scanned")

        result.get_by_role("button", name=zh("Confirm check-in")).click()
        expect(result.get_by_role("status")).to_have_text(zh("Checked in."))
        assert _absent_count(page) == absent_before - 1
        shot(page, "2-checked-in")

        # The ticket stays in front of the camera: no second lookup replaces the success.
        expect(page.locator("#scanner-status")).to_have_text(
            zh("Hold the QR code of the admission ticket in front of the camera.")
        )
        expect(result.locator(".flash-success")).to_be_visible()

        page.get_by_role("button", name=zh("Stop the camera")).click()
        expect(page.locator(".scanner")).to_be_hidden()
        page.reload()
        assert _absent_count(page) == absent_before - 1
        assert errors == []
    finally:
        context.close()


def test_camera_failure_is_explained_on_the_page(page: Page, live_server, live_env):
    """No camera and no permission here: the page says so and typing still works."""
    ticket = _unchecked_tickets(live_env["DATABASE_URL"], 1)[0]
    _sign_in_and_open_checkin(page, live_server, ticket.event_id)
    page.get_by_role("button", name=zh("Scan with the camera")).click()
    camera_errors = [
        zh(
            "Camera access was denied. Allow the camera for this site in the browser settings,"
            " or type the admission number."
        ),
        zh("No camera found. Type the admission number instead."),
    ]
    expect(page.locator("#scanner-status")).to_have_text(
        re.compile("|".join(re.escape(message) for message in camera_errors))
    )
    expect(page.locator("#scanner-video")).to_be_hidden()
    page.locator("#checkin-form input[name=code]").fill(ticket.admission_no)
    page.locator("#checkin-form button[type=submit]").click()
    expect(page.locator("#checkin-result .person-card p.big")).to_have_text(ticket.name)


def test_manual_lookup_works_without_javascript(browser: Browser, live_server, live_env):
    ticket = _unchecked_tickets(live_env["DATABASE_URL"], 1)[0]
    context = browser.new_context(**TABLET, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        _sign_in_and_open_checkin(page, live_server, ticket.event_id)
        page.locator("#checkin-form input[name=code]").fill(ticket.admission_no)
        page.locator("#checkin-form button[type=submit]").click()
        expect(page.locator("#checkin-result .person-card p.big")).to_have_text(ticket.name)
        expect(page.get_by_role("button", name=zh("Confirm check-in"))).to_be_visible()
    finally:
        context.close()


def test_scan_button_stays_hidden_without_javascript(browser: Browser, live_server, live_env):
    event_id = _unchecked_tickets(live_env["DATABASE_URL"], 1)[0].event_id
    context = browser.new_context(**TABLET, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        _sign_in_and_open_checkin(page, live_server, event_id)
        scan = page.locator("#scan-start")
        expect(scan).to_have_attribute("hidden", "")
        assert not scan.is_visible(), "a camera button that cannot work is shown"
    finally:
        context.close()
