"""Support for the journey test: browser sessions per person, the live database, Excel files
filled in as a user would, and QR codes read back from tickets and certificates."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from compete.extensions import db

from ..conftest import build_app
from .conftest import TABLET

BEIJING = ZoneInfo("Asia/Shanghai")
DESK = {"viewport": {"width": 1366, "height": 768}}
JSQR = "/static/vendor/jsqr-1.4.0/jsQR.js"

# jsQR on a PNG handed over as base64 (no fetch: the page's CSP allows only its own origin).
DECODE_PNG = """async (data) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  const image = context.getImageData(0, 0, canvas.width, canvas.height);
  const found = window.jsQR(image.data, image.width, image.height);
  return found ? found.data : null;
}"""


def local_input(moment: datetime) -> str:
    """A moment as a ``datetime-local`` field takes it (Beijing time, minutes)."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")


def text_of(value: Decimal) -> str:
    """A mark as a judge types it: 24, 24.5 (no trailing zeros)."""
    return format(value.normalize(), "f")


class LiveDatabase:
    """The live server's database, for what no page shows (ids, tokens) and for the few steps
    the application has no page for (reported as such in the test)."""

    def __init__(self, url: str) -> None:
        self.app = build_app(SQLALCHEMY_DATABASE_URI=url)

    @contextmanager
    def session(self) -> Iterator[Any]:
        with self.app.app_context():
            yield db.session

    def close(self) -> None:
        with self.app.app_context():
            db.engine.dispose()


@dataclass
class People:
    """One browser context per person and device, signed in once."""

    browser: Browser
    base: str
    password: str
    shot: Callable[[Page, str], Path]
    pages: dict[str, Page] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    number: int = 0

    def page(self, username: str, device: dict | None = None, *, key: str | None = None) -> Page:
        key = key or username
        if key in self.pages:
            return self.pages[key]
        context = self.browser.new_context(**(device or DESK), locale="zh-CN")
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # data-confirm and leaving warnings
        page.on("pageerror", lambda exc: self.errors.append(f"{key}: {exc}"))
        self.sign_in(page, username)
        self.pages[key] = page
        return page

    def tablet(self, username: str) -> Page:
        return self.page(username, TABLET)

    def anonymous(self, key: str, device: dict) -> Page:
        """A browser nobody signed in to (a contestant's phone, the public)."""
        if key not in self.pages:
            context = self.browser.new_context(**device, locale="zh-CN")
            self.pages[key] = context.new_page()
            self.pages[key].on("pageerror", lambda exc: self.errors.append(f"{key}: {exc}"))
        return self.pages[key]

    def sign_in(self, page: Page, username: str) -> None:
        page.goto(self.base + "/login")
        page.locator("#username").fill(username)
        page.locator("#password").fill(self.password)
        page.locator("main form button[type=submit]").click()
        expect(page.locator("form[action$='/logout']")).to_be_attached()

    def step(self, page: Page, name: str) -> None:
        """Each step of the journey leaves a screenshot behind (test-artifacts/)."""
        self.number += 1
        self.shot(page, f"journey-{self.number:02d}-{name}")

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def download(page: Page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_bytes()


def fill_sheet(data: bytes, sheet: str, rows: list[dict[str, Any]]) -> bytes:
    """Rows written under the template's own header row, column by header text."""
    workbook = load_workbook(io.BytesIO(data))
    ws = workbook[sheet]
    headers = {cell.value: cell.column for cell in ws[1] if cell.value}
    for index, row in enumerate(rows, start=2):
        for header, value in row.items():
            ws.cell(row=index, column=headers[header], value=value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(page: Page, form, data: bytes, tmp: Path, name: str) -> None:
    """Choose the file in the form and send it (the page shows progress, then the answer)."""
    path = tmp / name
    path.write_bytes(data)
    form.locator("input[type=file]").set_input_files(str(path))
    form.locator("button[type=submit]").click()


def qr_codes_in_pdf(page: Page, base: str, pdf: bytes, tmp: Path) -> list[str]:
    """Every QR code printed in a PDF (tickets come two to a page): each half of each page,
    rendered with pdftoppm and read by jsQR in the browser."""
    source = tmp / "scan.pdf"
    source.write_bytes(pdf)
    prefix = tmp / "scan"
    subprocess.run(["pdftoppm", "-png", "-r", "110", str(source), str(prefix)], check=True)
    page.goto(base + "/certificates/verify")
    page.add_script_tag(url=base + JSQR)
    found = []
    for png in sorted(tmp.glob("scan-*.png")):
        image = Image.open(png)
        width, height = image.size
        for box in ((0, 0, width, height // 2), (0, height // 2, width, height)):
            half = io.BytesIO()
            image.crop(box).save(half, format="PNG")
            data = page.evaluate(DECODE_PNG, base64.b64encode(half.getvalue()).decode("ascii"))
            if data:
                found.append(data)
        png.unlink()
    return found


def qr_code_in_png(page: Page, base: str, png: bytes) -> str | None:
    page.add_script_tag(url=base + JSQR)
    return page.evaluate(DECODE_PNG, base64.b64encode(png).decode("ascii"))


def take_step(page: Page, target: str, *, timeout: float = 30.0) -> None:
    """Press the lifecycle button for ``target`` once its conditions hold (the page is reloaded
    while a background recompute catches up)."""
    button = page.locator(
        f"form.next-step:has(input[name=target][value='{target}']) button[type=submit]"
    )
    deadline = time.monotonic() + timeout
    while button.is_disabled():
        assert time.monotonic() < deadline, page.locator("form.next-step .hint").all_inner_texts()
        time.sleep(0.5)
        page.reload()
    button.click()
    expect(page.locator(".flash-success")).to_be_visible()


def reload_until(page: Page, locator, *, timeout: float = 60.0) -> None:
    """Reload ``page`` until ``locator`` is there (a background job finishing)."""
    deadline = time.monotonic() + timeout
    while locator.count() == 0:
        assert time.monotonic() < deadline, f"{locator} never appeared on {page.url}"
        time.sleep(0.5)
        page.reload()


def event_id_in(url: str) -> int:
    match = re.search(r"/events/(\d+)", url)
    assert match, url
    return int(match.group(1))
