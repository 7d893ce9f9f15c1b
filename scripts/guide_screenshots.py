"""Screenshots for the user guide (docs/guide.zh.md, docs/guide.en.md) taken from the demo.

    python scripts/guide_screenshots.py            # both languages (after `make install-test`)
    python scripts/guide_screenshots.py --lang en  # one language
    python scripts/guide_screenshots.py --only judge-  # only the screens whose name starts so

Starts the application like the browser tests do (tests/browser/conftest.py): a temporary SQLite
database, `flask db upgrade`, `flask compete seed-demo`, gunicorn with sync workers on a free
port. Then Debian's Chromium signs in as each demo account on the device that role uses
(desktop 1366×768, tablet 768×1024, phone 390×844) and saves PNG files:

    docs/img/<role>-<screen>.png      Chinese (the default language)
    docs/img/en/<role>-<screen>.png   English (the `lang` cookie set to `en`)

A few screens need something to show that the demo does not have yet, so the script does it
first through the pages, as the people would: five judges mark contestant R001 of 电工 (E01) on
their tablets (judge 4 far above the others on a judgement criterion, so the chief judge's
console flags it) and judge 1 marks R002. Each language then checks in one contestant and lets
judge 1 mark one more sheet, offline first. Everything happens on the temporary database, which
is deleted at the end.

Every image is reduced to a 256-colour PNG (and scaled down if still too big) so that none is
larger than 250 KB.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESK = {"viewport": {"width": 1366, "height": 768}}
TABLET = {"viewport": {"width": 768, "height": 1024}, "is_mobile": True, "has_touch": True}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
PASSWORD = "Demo-pass-2026"
LIMIT = 250 * 1024  # bytes per image
TALL = 2000  # px: full-page shots are cut here
LANGUAGES = {"zh": ("zh_CN", "zh-CN", IMG), "en": ("en", "en-US", IMG / "en")}

# 电工 (E01): contestant R001's marks from each of the five judges, by criterion. Judge 4 gives
# A2 (线路安装工艺, judgement, tolerance 3) four marks above the others: a disagreement flag.
R001 = {
    "judge1": {
        "A1": "8.5",
        "A2": "11",
        "A3": "13",
        "B1": "12.5",
        "B2": "13",
        "C1": "17",
        "D1": "8.5",
    },
    "judge2": {
        "A1": "8.5",
        "A2": "11.5",
        "A3": "13",
        "B1": "12.5",
        "B2": "13",
        "C1": "17",
        "D1": "8",
    },
    "judge3": {"A1": "9", "A2": "10.5", "A3": "13", "B1": "12", "B2": "13", "C1": "16", "D1": "9"},
    "judge4": {
        "A1": "8.5",
        "A2": "15",
        "A3": "14",
        "B1": "12.5",
        "B2": "13.5",
        "C1": "17",
        "D1": "9",
    },
    "judge5": {
        "A1": "8",
        "A2": "11",
        "A3": "13",
        "B1": "12.5",
        "B2": "12.5",
        "C1": "17",
        "D1": "8",
    },
}
R002 = {"A1": "7.5", "A2": "10", "A3": "12", "B1": "11", "B2": "12.5", "C1": "15", "D1": "8"}
OFFLINE = {"A1": "9", "A2": "12.5", "A3": "14"}  # judge 1, one more sheet, first offline
OFFLINE_CODE = {"zh": "R003", "en": "R004"}
RETURNED_UNIT = "广州市技师学院"  # the demo's unit contact `unit` speaks for it
RETURN_REASON = "请补充近期免冠证件照片"


# ---------------------------------------------------------------- the live server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flask(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"flask {' '.join(args)} failed")
    return done.stdout


@dataclass
class Demo:
    base: str
    result_path: str  # a 车工 contestant's /r/<token>
    certificate_path: str  # that contestant's certificate /c/<token>


@contextmanager
def live_demo() -> Iterator[Demo]:
    """gunicorn on a free port serving a fresh SQLite database holding the demo."""
    tmp = Path(tempfile.mkdtemp(prefix="compete-guide-"))
    env = {
        **os.environ,
        "COMPETE_SECRET_KEY": "guide-" + os.urandom(8).hex(),
        "DATABASE_URL": f"sqlite:///{tmp}/guide.db",
        "COMPETE_DEMO_PASSWORD": PASSWORD,
    }
    env.pop("REDIS_URL", None)
    proc = None
    log = (tmp / "server.log").open("w")
    try:
        _flask(env, "db", "upgrade")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        printed = _flask(env, "compete", "seed-demo", "--base-url", base)
        result = re.search(r"(/r/[\w-]+)", printed)
        certificate = re.search(r"(/c/[\w-]+)", printed)
        if not (result and certificate):
            raise SystemExit("seed-demo printed no result or certificate link:\n" + printed)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-k",
                "sync",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit(
                        "gunicorn exited:\n" + (tmp / "server.log").read_text()
                    ) from None
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not answer /healthz")
        yield Demo(base, result.group(1), certificate.group(1))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- images


def shrink(png: bytes, limit: int = LIMIT) -> bytes:
    """A 256-colour PNG of the screenshot, scaled down until it is at most ``limit`` bytes."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    while True:
        small = image.quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        out = io.BytesIO()
        small.save(out, format="PNG", optimize=True)
        if out.tell() <= limit or image.width < 300:
            return out.getvalue()
        image = image.resize(
            (int(image.width * 0.85), int(image.height * 0.85)), Image.Resampling.LANCZOS
        )


def pdf_page_png(pdf: bytes, *, width: int = 1000) -> bytes:
    """The first page of a PDF as a PNG ``width`` pixels wide (poppler's pdftoppm)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-f",
                "1",
                "-l",
                "1",
                "-png",
                "-scale-to-x",
                str(width),
                "-scale-to-y",
                "-1",
                str(source),
                str(Path(tmp) / "page"),
            ],
            check=True,
        )
        return next(Path(tmp).glob("page*.png")).read_bytes()


# ---------------------------------------------------------------- people in browsers


@dataclass
class Camera:
    """Browser contexts per (account, device) in one language, and the files they produce."""

    browser: Browser
    demo: Demo
    lang: str
    only: str
    made: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    contexts: dict[tuple[str, str], BrowserContext] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return LANGUAGES[self.lang][2]

    def page(self, username: str | None, device: dict) -> Page:
        """A signed-in page (or an anonymous one when ``username`` is None) on ``device``."""
        key = (username or "-", str(device["viewport"]))
        if key not in self.contexts:
            cookie, locale, _ = LANGUAGES[self.lang]
            context = self.browser.new_context(**device, locale=locale)
            context.add_cookies([{"name": "lang", "value": cookie, "url": self.demo.base}])
            context.on("page", self._watch)
            self.contexts[key] = context
            page = context.new_page()
            if username:
                page.goto(self.demo.base + "/login")
                page.locator("#username").fill(username)
                page.locator("#password").fill(PASSWORD)
                page.locator("main form button[type=submit]").click()
                expect(page.locator("form[action$='/logout']")).to_be_attached()
        return self.contexts[key].pages[0]

    def _watch(self, page: Page) -> None:
        page.on("dialog", lambda dialog: dialog.accept())
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: {exc}"))

    def wanted(self, name: str) -> bool:
        return not self.only or name.startswith(self.only)

    def open(self, page: Page, path: str) -> Page:
        response = page.goto(self.demo.base + path)
        if response is None or response.status >= 400:
            status = response.status if response else "no answer"
            self.problems.append(f"{path}: HTTP {status}")
        page.wait_for_load_state("networkidle")
        return page

    def shot(self, page: Page, name: str, *, full: bool | int = False, target=None) -> None:
        """Save the viewport, or the page from the top down to ``full`` pixels (True: TALL),
        or one element."""
        if not self.wanted(name):
            return
        if target is not None:
            png = target.screenshot(animations="disabled")
        elif full:
            width = page.viewport_size["width"]
            tallest = TALL if full is True else int(full)
            height = min(page.evaluate("document.documentElement.scrollHeight"), tallest)
            png = page.screenshot(
                full_page=True,
                clip={"x": 0, "y": 0, "width": width, "height": height},
                animations="disabled",
            )
        else:
            png = page.screenshot(animations="disabled")
        self.save(name, png)

    def save(self, name: str, png: bytes) -> None:
        if not self.wanted(name):
            return
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / f"{name}.png"
        path.write_bytes(shrink(png))
        self.made.append(path)
        print(f"  {path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB", flush=True)

    def fetch(self, page: Page, path: str) -> bytes:
        response = page.context.request.get(self.demo.base + path)
        if not response.ok:
            self.problems.append(f"{path}: HTTP {response.status}")
        return response.body()

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()
        self.contexts.clear()


def to_top(page: Page, locator) -> None:
    """Scroll so that ``locator`` sits just below the top of the window."""
    locator.first.evaluate(
        "e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 16)"
    )


def mark_sheet(page: Page, base: str, code: str, marks: dict[str, str], *, wait: bool = True):
    """A judge fills one sheet on the tablet as they would: type, leave the field."""
    page.goto(f"{base}/tablet/events/1/sheet/{code}")
    expect(page.locator("#tablet-sheet")).to_have_attribute("data-ready", "1")
    for criterion, value in marks.items():
        field = page.locator(f".crit-row[data-criterion-code='{criterion}'] .mark-input")
        field.fill(value)
        field.press("Tab")
    if wait:
        wait_synced(page, len(marks))


def wait_synced(page: Page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.crit-row[data-state=synced]').length >= n",
        arg=count,
        timeout=30_000,
    )


# ---------------------------------------------------------------- what the demo lacks


def prepare(browser: Browser, demo: Demo) -> None:
    """Marks for 电工 (E01) through the tablets: R001 by all five judges, R002 by judge 1; and
    one 焊工 (E02) registration of 广州市技师学院 returned to the unit with a reason."""
    camera = Camera(browser, demo, "zh", "")
    try:
        desk = camera.page("organiser", DESK)
        camera.open(desk, "/events/2/entries")
        row = desk.locator("tr", has_text=RETURNED_UNIT).filter(has=desk.locator("form.decide"))
        row.first.locator("input[name=reason]").fill(RETURN_REASON)
        row.first.locator("button[value=return]").click()
        desk.wait_for_load_state("networkidle")
        for username, marks in R001.items():
            page = camera.page(username, TABLET)
            mark_sheet(page, demo.base, "R001", marks)
        mark_sheet(camera.page("judge1", TABLET), demo.base, "R002", R002)
    finally:
        camera.close()
    if camera.problems:
        raise SystemExit("marking failed: " + "; ".join(camera.problems))


# ---------------------------------------------------------------- the screens, role by role


def organiser(c: Camera) -> None:
    p = c.page("organiser", DESK)
    c.open(p, "/")
    c.shot(p, "organiser-home")
    c.open(p, "/competitions/1")
    c.shot(p, "organiser-competition", full=True)
    c.open(p, "/competitions/1/events/new")
    c.shot(p, "organiser-new-event", full=True)
    c.open(p, "/events/2")
    c.shot(p, "organiser-event")
    c.open(p, "/events/2/scheme")
    c.shot(p, "organiser-scheme", full=True)
    c.open(p, "/events/2/rules")
    c.shot(p, "organiser-rules")
    c.open(p, "/presets")
    c.shot(p, "organiser-presets")
    c.open(p, "/events/2/units")
    c.shot(p, "organiser-units")
    c.open(p, "/events/2/entries")
    c.shot(p, "organiser-registrations")
    c.open(p, "/judges")
    c.shot(p, "organiser-judge-pool")
    c.open(p, "/events/1/panel")
    c.shot(p, "organiser-panel")
    c.open(p, "/events/1/draws")
    c.shot(p, "organiser-draws")
    c.open(p, "/events/4/results/inputs")
    c.shot(p, "organiser-theory")
    c.open(p, "/events/4/results/provisional")
    c.shot(p, "organiser-ranking")
    c.shot(p, "organiser-charts", target=p.locator("section.chart-card").first)
    c.open(p, "/events/4/publicity")
    c.shot(p, "organiser-publication")
    c.open(p, "/events/4/awards")
    c.shot(p, "organiser-awards")
    to_top(p, p.locator("h2").nth(2))  # the titles, after the rules and the award list
    c.shot(p, "organiser-titles")
    c.open(p, "/events/4/certificates")
    c.shot(p, "organiser-certificates")
    c.open(p, "/events/4/selection")
    c.shot(p, "organiser-selection")
    c.open(p, "/events/4/nominations")
    c.shot(p, "organiser-nominations")
    c.open(p, "/events/5/entries")  # 全国技能大赛 车工 (N02): the pre-registered nominees
    c.shot(p, "organiser-national")
    c.open(p, "/competitions/1/awards")
    c.shot(p, "organiser-competition-awards")
    c.open(p, "/competitions/1/honours")
    c.shot(p, "organiser-honours")
    c.open(p, "/events/4/history")
    c.shot(p, "organiser-history")
    c.open(p, "/events/1/entries/1/qr")
    c.shot(p, "organiser-entry-qr")


def public(c: Camera) -> None:
    p = c.page(None, DESK)
    c.open(p, "/events/4/results")
    c.shot(p, "public-results")
    c.open(p, "/events/4/results/notice")
    c.shot(p, "public-notice")
    c.open(p, "/competitions/1/screen")
    c.shot(p, "public-screen")
    c.open(p, "/competitions/1/medals")
    c.shot(p, "public-medals")


def unit(c: Camera) -> None:
    p = c.page("unit", DESK)
    c.open(p, "/units/1")
    c.shot(p, "unit-home", full=True)
    p.locator("a[href*='/edit']").first.click()
    p.wait_for_load_state("networkidle")
    c.shot(p, "unit-fix", full=True)
    c.open(p, "/units/1/events/2/entries/new")
    c.shot(p, "unit-register", full=True)
    c.open(p, "/units/1/appeals")
    c.shot(p, "unit-appeals", full=True)
    p.locator("a[href$='/appeals/new']").first.click()
    p.wait_for_load_state("networkidle")
    c.shot(p, "unit-appeal-new")
    if c.wanted("unit-ticket"):
        c.save("unit-ticket", pdf_page_png(c.fetch(p, "/units/1/events/1/tickets.pdf")))


def judge(c: Camera) -> None:
    p = c.page("judge1", TABLET)
    c.open(p, "/")
    c.shot(p, "judge-home")
    c.open(p, "/tablet/events/1/sheet/R001")
    expect(p.locator("#tablet-sheet")).to_have_attribute("data-ready", "1")
    wait_synced(p, 7)
    c.shot(p, "judge-sheet")
    # One more sheet, first without a network: the marks wait on the tablet.
    code = OFFLINE_CODE[c.lang]
    c.open(p, f"/tablet/events/1/sheet/{code}")
    expect(p.locator("#tablet-sheet")).to_have_attribute("data-ready", "1")
    p.context.set_offline(True)
    expect(p.locator("#sync-banner")).to_have_attribute("data-net", "offline")
    for criterion, value in OFFLINE.items():
        field = p.locator(f".crit-row[data-criterion-code='{criterion}'] .mark-input")
        field.fill(value)
        field.press("Tab")
    p.wait_for_function(
        "n => document.querySelectorAll('.crit-row[data-state=local]').length >= n",
        arg=len(OFFLINE),
    )
    c.shot(p, "judge-offline")
    p.context.set_offline(False)
    p.locator("#sync-now").click()
    wait_synced(p, len(OFFLINE))
    c.shot(p, "judge-synced")
    c.open(p, "/tablet/events/1")
    c.shot(p, "judge-assignments")
    c.open(p, "/tablet/events/4")
    c.shot(p, "judge-assignments-done")


def chief(c: Camera) -> None:
    p = c.page("chief", TABLET)
    c.open(p, "/")
    c.shot(p, "chief-home")
    c.open(p, "/events/1/console")
    c.shot(p, "chief-console", full=1300)
    c.open(p, "/events/4/console")
    c.shot(p, "chief-console-complete")
    c.open(p, "/events/1/pairing")
    row = p.locator("#pairable tr", has_text="judge1")
    row.get_by_role("button").click()
    p.wait_for_load_state("networkidle")
    c.shot(p, "chief-pairing")
    url = p.locator("code.pairing-url").inner_text().strip()
    tablet = c.page(None, TABLET)
    tablet.goto(url)
    c.shot(tablet, "judge-pair")
    c.open(p, "/events/1/unlock")
    c.shot(p, "chief-unlock")
    if c.wanted("chief-protocol"):
        c.save("chief-protocol", pdf_page_png(c.fetch(p, "/events/4/protocol.pdf"), width=1400))


def recorder(c: Camera) -> None:
    p = c.page("recorder", TABLET)
    c.open(p, "/events/1/checkin")
    c.shot(p, "recorder-checkin")
    number = p.locator("#absent-list li[data-admission-no]").first.get_attribute(
        "data-admission-no"
    )
    p.locator("#checkin-form input[name=code]").fill(number)
    p.locator("#checkin-form button[type=submit]").click()
    confirm = p.locator("#checkin-result form button[type=submit]")
    expect(confirm).to_be_visible()
    c.shot(p, "recorder-checkin-found")
    confirm.click()
    expect(p.locator("#checkin-result .flash-success")).to_be_visible()
    c.shot(p, "recorder-checkin-done")
    c.open(p, "/events/1/results/inputs")
    c.shot(p, "recorder-theory")


def encrypt(c: Camera) -> None:
    p = c.page("encrypt", DESK)
    c.open(p, "/events/1/draws")
    c.shot(p, "encrypt-draws")
    c.open(p, "/events/1/draws/1/print")
    c.shot(p, "encrypt-draw-print")
    c.open(p, "/events/4/unseal")
    c.shot(p, "encrypt-unseal")


def supervisor(c: Camera) -> None:
    p = c.page("supervisor", DESK)
    c.open(p, "/events/1/draws")
    p.locator("form[action$='/draws/1/replay'] button").click()
    p.wait_for_load_state("networkidle")
    c.shot(p, "supervisor-replay")
    c.open(p, "/events/4/review")
    c.shot(p, "supervisor-review")
    first = p.locator("article.review-entry").first
    first.locator("summary").click()
    first.scroll_into_view_if_needed()
    c.shot(p, "supervisor-review-marks", target=first)
    c.open(p, "/events/4/appeals")
    c.shot(p, "supervisor-appeals", full=True)
    c.open(p, "/events/4/unseal")
    c.shot(p, "supervisor-unseal")
    c.open(p, "/events/4/results/provisional")
    chart = p.locator("section.chart-card").nth(1)
    chart.scroll_into_view_if_needed()
    c.shot(p, "supervisor-leniency", target=chart)


def contestant(c: Camera) -> None:
    p = c.page(None, PHONE)
    c.open(p, c.demo.result_path)
    c.shot(p, "contestant-result")
    to_top(p, p.locator("#qr-results-h"))
    c.shot(p, "contestant-result-scores")
    to_top(p, p.locator("#qr-certs-h"))
    c.shot(p, "contestant-certificates")
    c.open(p, c.demo.certificate_path)
    c.shot(p, "contestant-verify")
    c.open(p, "/certificates/verify")
    c.shot(p, "contestant-verify-number")
    image = p.locator("a[href*='/certificates/'][href$='.png']")
    c.open(p, c.demo.result_path)
    if c.wanted("contestant-certificate-image"):
        href = image.first.get_attribute("href")
        png = c.fetch(p, href)
        picture = Image.open(io.BytesIO(png))
        picture.thumbnail((900, 900))
        out = io.BytesIO()
        picture.save(out, format="PNG")
        c.save("contestant-certificate-image", out.getvalue())
    # Before the results: an 电工 (E01) contestant's page, from the organiser's QR page.
    desk = c.page("organiser", DESK)
    c.open(desk, "/events/1/entries/1/qr")
    before = desk.locator("a[href*='/r/']").first.get_attribute("href")
    p.goto(before)
    p.wait_for_load_state("networkidle")
    c.shot(p, "contestant-before", full=True)


def admin(c: Camera) -> None:
    p = c.page("admin", DESK)
    c.open(p, "/admin/users")
    c.shot(p, "admin-users")


ROLES: list[Callable[[Camera], None]] = [
    organiser,
    public,
    unit,
    judge,
    chief,
    recorder,
    encrypt,
    supervisor,
    contestant,
    admin,
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["zh", "en", "both"], default="both")
    parser.add_argument("--only", default="", help="only screens whose name starts with this")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: `make sysdeps` installs Debian's chromium")
    languages = ["zh", "en"] if args.lang == "both" else [args.lang]
    made: list[Path] = []
    problems: list[str] = []
    with live_demo() as demo, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            print(f"demo served at {demo.base}; marking R001 and R002 of 电工 on the tablets")
            prepare(browser, demo)
            for lang in languages:
                print(f"[{lang}]")
                camera = Camera(browser, demo, lang, args.only)
                try:
                    for role in ROLES:
                        role(camera)
                finally:
                    camera.close()
                made += camera.made
                problems += [f"[{lang}] {p}" for p in camera.problems]
        finally:
            browser.close()
    big = [p for p in made if p.stat().st_size > LIMIT]
    print(f"{len(made)} screenshots written under {IMG.relative_to(ROOT)}/")
    for problem in problems:
        print("problem:", problem)
    if big:
        print("too big:", ", ".join(str(p) for p in big))
    return 1 if big or problems else 0


if __name__ == "__main__":
    sys.exit(main())
