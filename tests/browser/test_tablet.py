"""Marking on a judge's tablet: offline first, nothing lost, nothing counted twice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from babel.support import Translations
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from .conftest import ROOT, TABLET

DEMO_PASSWORD = "Demo-pass-2026"
JUDGE = "judge1"
SYNC_TIMEOUT = 20_000  # ms; the tablet retries with backoff, so allow a few rounds

_catalog = Translations.load(str(ROOT / "compete" / "translations"), ["zh_Hans_CN"])


def zh(msgid: str, **params: str) -> str:
    """What the zh-CN tablet shows: the catalog's translation, so the test follows the catalog."""
    return _catalog.gettext(msgid) % params if params else _catalog.gettext(msgid)


# Reads what the tablet keeps in IndexedDB (only after the page has opened the database).
QUEUE_OF_EVENT = """
(eventId) => new Promise((resolve, reject) => {
  const open = indexedDB.open("compete-tablet");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const all = db.transaction("queue").objectStore("queue").getAll();
    all.onsuccess = () => { db.close(); resolve(all.result.filter((i) => i.event_id === eventId)); };
    all.onerror = () => reject(all.error);
  };
})
"""

# Forget that the queued marks were answered, as if the answers had been lost on the way back.
REQUEUE_EVENT = """
(eventId) => new Promise((resolve, reject) => {
  const open = indexedDB.open("compete-tablet");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction("queue", "readwrite");
    const store = tx.objectStore("queue");
    let count = 0;
    store.openCursor().onsuccess = (ev) => {
      const cursor = ev.target.result;
      if (!cursor) { return; }
      if (cursor.value.event_id === eventId) {
        cursor.update({ ...cursor.value, state: "pending", ready_at: 0 });
        count += 1;
      }
      cursor.continue();
    };
    tx.oncomplete = () => { db.close(); resolve(count); };
    tx.onerror = () => reject(tx.error);
  };
})
"""


def _cents(value: str) -> int:
    return int(Decimal(value) * 100)


def _text(cents: int) -> str:
    return format((Decimal(cents) / 100).normalize(), "f")


@dataclass(frozen=True)
class Row:
    criterion_id: int
    max_cents: int
    step_cents: int


def _event_id(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT id FROM events WHERE code = 'E01'")).scalar_one()
    finally:
        engine.dispose()


def _marks(database_url: str, event_id: int, code: str) -> list[tuple[int, Decimal, str]]:
    """Every mark row judge1 has for the entry behind ``code``: (criterion, value, client id)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    """
                    SELECT me.criterion_id, me.value, me.client_id
                    FROM mark_events me
                    JOIN review_codes rc ON rc.entry_id = me.entry_id AND rc.event_id = me.event_id
                    JOIN users u ON u.id = me.judge_user_id
                    WHERE me.event_id = :event AND rc.code = :code AND u.username = :judge
                    ORDER BY me.criterion_id, me.seq
                    """
                ),
                {"event": event_id, "code": code, "judge": JUDGE},
            ).all()
    finally:
        engine.dispose()
    return [(row[0], Decimal(str(row[1])), row[2]) for row in rows]


@pytest.fixture
def event_id(live_server, live_env) -> int:
    return _event_id(live_env["DATABASE_URL"])


def _sign_in(page: Page, live_server: str) -> None:
    page.goto(live_server + "/login")
    page.get_by_label(zh("Username")).fill(JUDGE)
    page.get_by_label(zh("Password")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=zh("Sign in")).click()
    expect(page.get_by_role("button", name=zh("Sign out"))).to_be_visible()


def _open_unmarked_sheet(page: Page, live_server: str, event_id: int, shot=None) -> str:
    """From the assignments page, open the first code with nothing marked yet."""
    page.goto(f"{live_server}/tablet/events/{event_id}")
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "1")
    if shot:
        shot(page, "0-assignments")
    cards = page.locator(".code-card")
    expect(cards.first).to_be_visible()
    assert page.locator(".code-card .review-code").first.inner_text().strip()
    code = page.evaluate(
        """() => [...document.querySelectorAll('.code-card')]
                .find((card) => card.querySelector('progress').value === 0).dataset.code"""
    )
    page.locator(f'.code-card[data-code="{code}"] a').click()
    expect(page.locator(".sheet-head .review-code")).to_have_text(code)
    expect(page.locator("#tablet-sheet")).to_have_attribute("data-ready", "1")
    # The service worker has this page and its assets before the network goes.
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "1")
    return code


def _rows(page: Page) -> list[Row]:
    return [
        Row(
            int(el.get_attribute("data-criterion-id")),
            _cents(el.get_attribute("data-max")),
            _cents(el.get_attribute("data-step")),
        )
        for el in page.locator(".crit-row").element_handles()
    ]


def _chip(page: Page, row: Row):
    return page.locator(f"#crit-{row.criterion_id} .mark-status")


def test_marks_entered_offline_survive_a_reload_and_are_stored_once(
    page: Page, live_server, live_env, event_id, shot
):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, live_server)
    code = _open_unmarked_sheet(page, live_server, event_id, shot)
    rows = _rows(page)
    assert len(rows) >= 3, "the demo scheme of E01 has several criteria"
    assert _marks(live_env["DATABASE_URL"], event_id, code) == []
    shot(page, "1-sheet")

    first = page.locator(f"#crit-{rows[0].criterion_id}")
    plus = first.get_by_role(
        "button", name=zh("Increase %(code)s", code=first.get_attribute("data-criterion-code"))
    )
    for target in (plus, first.locator(".mark-input")):
        box = target.bounding_box()
        assert box and box["height"] >= 48 and box["width"] >= 48, "a touch target is too small"

    page.context.set_offline(True)
    banner = page.locator("#sync-banner")
    expect(banner.locator("#sync-net")).to_have_text(zh("Offline"))

    typed: dict[int, int] = {}
    for _ in range(3):  # the first criterion by the stepper: three steps up from empty
        plus.click()
    typed[rows[0].criterion_id] = 3 * rows[0].step_cents
    expect(first.locator(".mark-input")).to_have_value(_text(typed[rows[0].criterion_id]))
    for index, row in enumerate(rows[1:], start=1):
        cents = row.max_cents - row.step_cents * (index % 3 + 1)
        typed[row.criterion_id] = cents
        page.locator(f"#mark-{row.criterion_id}").fill(_text(cents))
    for row in rows:
        expect(_chip(page, row)).to_have_text(zh("Saved on device"))
    expect(banner.locator("#sync-count")).to_have_text(
        zh("Marks waiting to sync: %(num)s", num=str(len(rows)))
    )
    expect(page.locator("#sheet-total")).to_have_text(_text(sum(typed.values())))
    queued = page.evaluate(QUEUE_OF_EVENT, event_id)
    assert sorted(item["criterion_id"] for item in queued) == sorted(typed)
    assert {item["state"] for item in queued} == {"pending"}
    shot(page, "2-offline-entered")

    # Reload without network: the service worker serves the page, IndexedDB the values.
    dialogs: list[str] = []

    def leave(dialog):
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", leave)
    worker = page.context.service_workers[0]
    assert worker.evaluate("fetch('/healthz').then(() => 'online', () => 'offline')") == "offline"
    reloaded = page.reload()
    assert reloaded and reloaded.from_service_worker and reloaded.ok
    assert dialogs == ["beforeunload"], "leaving with unsynced marks warns"
    page.remove_listener("dialog", leave)
    expect(page.locator("#tablet-sheet")).to_have_attribute("data-ready", "1")
    expect(page.locator(".sheet-head .review-code")).to_have_text(code)
    expect(banner.locator("#sync-net")).to_have_text(zh("Offline"))
    for row in rows:
        expect(page.locator(f"#mark-{row.criterion_id}")).to_have_value(
            _text(typed[row.criterion_id])
        )
        expect(_chip(page, row)).to_have_text(zh("Saved on device"))
    assert _marks(live_env["DATABASE_URL"], event_id, code) == [], "nothing left the tablet"
    shot(page, "3-offline-reloaded")

    page.context.set_offline(False)
    for row in rows:
        expect(_chip(page, row)).to_have_text(zh("Synced"), timeout=SYNC_TIMEOUT)
    expect(banner.locator("#sync-count")).to_have_text(zh("All marks are synced."))
    expect(banner.locator("#sync-net")).to_have_text(zh("Online"))
    shot(page, "4-synced")

    stored = _marks(live_env["DATABASE_URL"], event_id, code)
    assert sorted((cid, value) for cid, value, _ in stored) == sorted(
        (cid, Decimal(cents) / 100) for cid, cents in typed.items()
    ), "one row per typed mark"
    client_ids = {item["client_id"] for item in page.evaluate(QUEUE_OF_EVENT, event_id)}
    assert {client_id for *_, client_id in stored} == client_ids

    # The answers were "lost": the tablet sends every mark again; the server keeps the first.
    assert page.evaluate(REQUEUE_EVENT, event_id) == len(rows)
    with page.expect_response(
        lambda r: r.url.endswith("/marks") and r.request.method == "POST"
    ) as answer:
        page.reload()
    results = answer.value.json()["results"]
    assert sorted(r["client_id"] for r in results) == sorted(client_ids)
    assert {r["status"] for r in results} == {"duplicate"}
    for row in rows:
        expect(_chip(page, row)).to_have_text(zh("Synced"), timeout=SYNC_TIMEOUT)
        expect(page.locator(f"#mark-{row.criterion_id}")).to_have_value(
            _text(typed[row.criterion_id])
        )
    assert _marks(live_env["DATABASE_URL"], event_id, code) == stored, "still one row per mark"
    assert errors == []


def test_out_of_range_mark_is_refused_on_the_tablet_and_never_queued(
    page: Page, live_server, live_env, event_id, shot
):
    _sign_in(page, live_server)
    code = _open_unmarked_sheet(page, live_server, event_id)
    row = _rows(page)[0]
    limits = {"min": "0", "max": _text(row.max_cents), "step": _text(row.step_cents)}
    message = page.locator(f"#msg-{row.criterion_id}")
    field = page.locator(f"#mark-{row.criterion_id}")

    field.fill(_text(row.max_cents + row.step_cents))
    field.press("Tab")
    expect(message).to_have_text(zh("Enter a mark from %(min)s to %(max)s.", **limits))
    expect(_chip(page, row)).to_have_text(zh("Not saved"))
    shot(page, "refused")

    if row.step_cents > 1:  # off the step: refused as well
        field.fill(_text(row.step_cents - 1))
        expect(message).to_have_text(zh("The mark must be a multiple of %(step)s.", **limits))
    field.fill("abc")
    expect(message).to_have_text(zh("Enter a number, for example 8.5."))

    expect(page.locator("#sync-count")).to_have_text(zh("All marks are synced."))
    expect(page.locator("#sheet-total")).to_have_text("0")
    assert page.evaluate(QUEUE_OF_EVENT, event_id) == []
    assert _marks(live_env["DATABASE_URL"], event_id, code) == []

    # The judge fixes the value: now it is kept and synced.
    field.fill(_text(row.max_cents))
    field.press("Tab")
    expect(message).to_be_hidden()
    expect(_chip(page, row)).to_have_text(zh("Synced"), timeout=SYNC_TIMEOUT)
    assert [(cid, value) for cid, value, _ in _marks(live_env["DATABASE_URL"], event_id, code)] == [
        (row.criterion_id, Decimal(row.max_cents) / 100)
    ]


def test_changing_a_synced_mark_needs_a_reason_and_adds_a_correction(
    page: Page, live_server, live_env, event_id, shot
):
    _sign_in(page, live_server)
    code = _open_unmarked_sheet(page, live_server, event_id)
    row = _rows(page)[0]
    field = page.locator(f"#mark-{row.criterion_id}")
    panel = page.locator(f"#crit-{row.criterion_id} .reason-panel")
    field.fill(_text(row.step_cents))
    field.press("Tab")
    expect(_chip(page, row)).to_have_text(zh("Synced"), timeout=SYNC_TIMEOUT)
    expect(panel).to_be_hidden()

    field.fill(_text(2 * row.step_cents))
    field.press("Tab")
    expect(_chip(page, row)).to_have_text(zh("Not saved"))
    expect(panel).to_be_visible()
    assert [i["state"] for i in page.evaluate(QUEUE_OF_EVENT, event_id)] == ["synced"]
    panel.get_by_role("button", name=zh("Save correction")).click()
    expect(page.locator(f"#msg-{row.criterion_id}")).to_have_text(
        zh("Enter a reason for the correction.")
    )
    panel.get_by_label(zh("Reason for the correction")).fill("看错了")
    shot(page, "reason")
    panel.get_by_role("button", name=zh("Save correction")).click()
    expect(_chip(page, row)).to_have_text(zh("Synced"), timeout=SYNC_TIMEOUT)
    expect(panel).to_be_hidden()
    stored = _marks(live_env["DATABASE_URL"], event_id, code)
    assert [(cid, value) for cid, value, _ in stored] == [
        (row.criterion_id, Decimal(row.step_cents) / 100),
        (row.criterion_id, Decimal(2 * row.step_cents) / 100),
    ], "a correction is a new row; the first mark stays"


def test_a_mark_made_meanwhile_on_another_tablet_is_shown_as_a_conflict(
    page: Page, browser, live_server, live_env, event_id, shot
):
    _sign_in(page, live_server)
    code = _open_unmarked_sheet(page, live_server, event_id)
    row = _rows(page)[0]
    other_context = browser.new_context(**TABLET, locale="zh-CN")
    try:
        other = other_context.new_page()
        _sign_in(other, live_server)
        other.goto(page.url)
        expect(other.locator("#tablet-sheet")).to_have_attribute("data-ready", "1")
        other.locator(f"#mark-{row.criterion_id}").fill(_text(row.max_cents))
        other.locator(f"#mark-{row.criterion_id}").press("Tab")
        expect(_chip(other, row)).to_have_text(zh("Synced"), timeout=SYNC_TIMEOUT)
    finally:
        other_context.close()

    field = page.locator(f"#mark-{row.criterion_id}")
    field.fill(_text(row.step_cents))
    field.press("Tab")
    expect(_chip(page, row)).to_have_text(zh("Conflict"), timeout=SYNC_TIMEOUT)
    expect(field).to_have_value(_text(row.step_cents))
    expect(page.locator(f"#msg-{row.criterion_id}")).to_contain_text(
        f"{Decimal(row.max_cents) / 100:.2f}"
    )
    expect(page.locator("#sync-count")).to_have_text(zh("Needs attention: %(num)s", num="1"))
    panel = page.locator(f"#crit-{row.criterion_id} .reason-panel")
    expect(panel).to_be_visible()
    shot(page, "conflict")
    panel.get_by_label(zh("Reason for the correction")).fill("复核后确认")
    panel.get_by_role("button", name=zh("Save correction")).click()
    expect(_chip(page, row)).to_have_text(zh("Synced"), timeout=SYNC_TIMEOUT)
    stored = _marks(live_env["DATABASE_URL"], event_id, code)
    assert [value for _, value, _ in stored] == [
        Decimal(row.max_cents) / 100,
        Decimal(row.step_cents) / 100,
    ]
