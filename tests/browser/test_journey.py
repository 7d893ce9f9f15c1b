"""One competition event from setup to the national event, through the real pages.

A fresh competition (not the demo's) on the live gunicorn server: the organiser sets it up
from the Excel templates, the unit contact registers six contestants, the organiser reviews and
draws, check-in scans a ticket's QR code on a tablet, five judges mark on tablets (one offline
for a while and reloading, one with a second tab, one disagreeing until the chief judge's
console flags it), the chief judge locks and submits, the supervisor reviews, the encryption
judge and the supervisor unseal, the results are published, an appeal comes in time and one too
late, the results become final, awards, titles and promotions are decided, certificates issued,
the winner opens the result and the certificate from their QR codes on a phone, and the top two
are pre-registered in the national event. Every step leaves a screenshot in test-artifacts/.

Bad input along the way gets a clear answer and loses nothing: a wrong Excel file (scheme and
registrations), a double click on submit, a tablet that reloads mid-marking (offline too), a
second browser tab, a late appeal.

Steps the application has no page for are done through its services on the live database and
say so where they happen: assigning the marking codes (评审号), and letting the publicity
period run out (the publication's window moved into the past). The appeal deadline passes for
real: the event's rules count one minute from the publication. The judges with tablet accounts
are the demo's (no page links a pool judge to an account); the panel page seats them by hand.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, BrowserType, Page, expect
from sqlalchemy import func, select

from compete.blueprints.judging import services as judging
from compete.blueprints.results.services import current_publication
from compete.demo import demo_people
from compete.domain.lifecycle import EventState
from compete.domain.people import mask_name
from compete.models import (
    Appeal,
    AuditEntry,
    Certificate,
    Competition,
    Entry,
    EntryStatus,
    Event,
    Judge,
    MarkEvent,
    Person,
    ReviewCode,
    SchemeModule,
    Unit,
    User,
)

from .conftest import ARGS, CHROMIUM, PHONE, TABLET
from .journey_support import (
    BEIJING,
    DESK,
    LiveDatabase,
    People,
    download,
    event_id_in,
    fill_sheet,
    local_input,
    qr_code_in_png,
    qr_codes_in_pdf,
    reload_until,
    take_step,
    text_of,
    upload,
)
from .test_checkin import _y4m_of_qr

COMPETITION = "2026年广东省职业技能竞赛（电工）职工组选拔赛"
EVENT_CODE = "DG01"  # not E01: other browser tests look the demo's E01 up by its code
EVENT_NAME = "电工（职工组）"
UNIT = "广州市技师学院"  # the demo's unit contact `unit` speaks for it
MARKING_JUDGES = ["judge1", "judge2", "judge3", "judge4", "judge5"]
EVENT_ROLES = {
    **dict.fromkeys(MARKING_JUDGES, "judge"),
    "chief": "chief_judge",
    "encrypt": "encryption_judge",
    "supervisor": "supervisor",
    "recorder": "score_recorder",
}
SYNC_TIMEOUT = 20_000  # ms: the tablet retries with backoff

# The scheme: two measurement criteria and one judgement criterion (tolerance 3), total 100.
SCHEME = [
    ("A", "电气控制线路安装与调试", "A1", "线路安装与功能", "测量", 40, 1, 5, None),
    ("A", "电气控制线路安装与调试", "A2", "安装工艺", "评价", 30, Decimal("0.5"), 5, 3),
    ("B", "故障排除", "B1", "故障查找与排除", "测量", 30, 1, 5, None),
]
# Contestant p (0 = the strongest): each judge's marks around p's level, agreeing within the
# tolerance; the trimmed mean is the base mark.
BASE = {"A1": (38, 2), "A2": (27, Decimal("1.5")), "B1": (28, 2)}
OFFSETS = {
    "A1": [0, 0, 1, -1, 0],
    "A2": [0, Decimal("0.5"), Decimal("-0.5"), 1, -1],
    "B1": [0, 1, 0, 0, -1],
}
# Judge 4 (index 3) first gives contestant 2's 安装工艺 5 marks above the base mark, outside the
# tolerance of 3 (the others are within 1 of it).
DISAGREEING = (3, 2)


def planned(person: int, judge: int) -> dict[str, Decimal]:
    return {
        code: Decimal(top) - Decimal(drop) * person + Decimal(OFFSETS[code][judge])
        for code, (top, drop) in BASE.items()
    }


def theory(person: int) -> Decimal:
    return Decimal(92 - 3 * person)


@dataclass
class State:
    """What the journey learns as it goes: ids from the URLs, tokens from the QR codes."""

    competition_id: int = 0
    event_id: int = 0
    unit_id: int = 0
    national_event_id: int = 0
    people: list[tuple[str, str, str, str]] = field(default_factory=list)
    entries: dict[int, int] = field(default_factory=dict)  # person index -> entry id
    codes: dict[int, str] = field(default_factory=dict)  # person index -> marking code
    criteria: dict[str, int] = field(default_factory=dict)  # criterion code -> id
    ticket_urls: dict[int, str] = field(default_factory=dict)  # person index -> QR URL


@pytest.fixture(scope="module")
def live_db(live_server, live_env):
    database = LiveDatabase(live_env["DATABASE_URL"])
    yield database
    database.close()


@pytest.fixture
def people(browser: Browser, live_server, live_env, shot):
    crowd = People(browser, live_server, live_env["COMPETE_DEMO_PASSWORD"], shot)
    yield crowd
    crowd.close()


def test_a_competition_from_setup_to_the_national_event(
    people: People, browser_type: BrowserType, live_server, live_db, tmp_path
):
    base, s = live_server, State()
    s.people = _contestants(live_db)
    _setup(people, live_db, base, s, tmp_path)
    _registration(people, live_db, base, s, tmp_path)
    _draws(people, live_db, base, s, tmp_path)
    _check_in(people, browser_type, live_db, base, s, tmp_path)
    _marking(people, live_db, base, s)
    _lock_review_unseal(people, live_db, base, s)
    _publication_and_appeals(people, live_db, base, s)
    _final_awards_certificates(people, live_db, base, s)
    _contestant_on_a_phone(people, live_db, base, s)
    _national_event(people, live_db, base, s)
    assert people.errors == [], people.errors


# ---------------------------------------------------------------- helpers on the live data


def _contestants(live_db: LiveDatabase) -> list[tuple[str, str, str, str]]:
    """Six realistic people nobody in the demo uses."""
    with live_db.session() as session:
        taken = set(session.scalars(select(Person.id_number)))
    return [p for p in demo_people(40, seed=2611) if p[2] not in taken][:6]


def _state(live_db: LiveDatabase, event_id: int) -> EventState:
    with live_db.session() as session:
        return EventState(session.get(Event, event_id).state)


def _user_id(live_db: LiveDatabase, username: str) -> int:
    with live_db.session() as session:
        return session.scalar(select(User.id).where(User.username == username))


def _entry_of(live_db: LiveDatabase, s: State, url: str) -> int:
    token = url.rsplit("/", 1)[-1]
    with live_db.session() as session:
        entry_id = session.scalar(select(Entry.id).where(Entry.qr_token == token))
    return next(p for p, e in s.entries.items() if e == entry_id)


# ---------------------------------------------------------------- 1. setup by the organiser


def _setup(people: People, live_db: LiveDatabase, base: str, s: State, tmp) -> None:
    org = people.page("organiser")
    now = datetime.now(UTC)

    # A new competition; a double click on "save" creates it once.
    org.goto(base + "/competitions/new")
    org.locator("#name").fill(COMPETITION)
    org.locator("#tier").select_option("provincial_2")
    org.locator("#year").fill(str(now.astimezone(BEIJING).year))
    org.locator("#region").fill("广东省")
    org.locator("#organiser").fill("广东省人力资源和社会保障厅")
    org.locator("#host").fill("广州市技师学院")
    org.locator("#venue").fill("广州市技师学院（白云校区）")
    org.locator("main form button[type=submit]").dblclick()
    expect(org).to_have_url(re.compile(r"/competitions/\d+$"))
    s.competition_id = int(org.url.rsplit("/", 1)[-1])
    with live_db.session() as session:
        assert (
            session.scalar(
                select(func.count(Competition.id)).where(Competition.name == COMPETITION)
            )
            == 1
        ), "a double click on submit creates the competition once"
    people.step(org, "competition-created")

    # Its event: registration closes in a week, the event a day later.
    org.locator(f"a[href$='/competitions/{s.competition_id}/events/new']").click()
    org.locator("#code").fill(EVENT_CODE)
    org.locator("#name").fill(EVENT_NAME)
    org.locator("#occupation").fill("电工")
    org.locator("#occupation_code").fill("6-31-01-03")
    org.locator("#standard_grade").select_option("3")
    org.locator("#group").select_option("employee")
    org.locator("#team_size").select_option("1")
    org.locator("#preset_id").select_option(label="广东省省级二类竞赛（职工组）")
    org.locator("#registration_deadline").fill(local_input(now + timedelta(days=7)))
    org.locator("#start_at").fill(local_input(now + timedelta(days=8)))
    org.locator("#end_at").fill(local_input(now + timedelta(days=8, hours=8)))
    org.locator("#venue").fill("实训楼 B 栋")
    org.locator("main form button[type=submit]").click()
    expect(org).to_have_url(re.compile(r"/events/\d+/scheme$"))
    s.event_id = event_id_in(org.url)
    people.step(org, "event-created")

    # The marking scheme from the downloadable template: first a wrong file, then the right one.
    template = download(org, org.locator("a[href$='/scheme-template.xlsx']"))
    rows = [
        {
            "模块代码": module,
            "模块名称": module_name,
            "评分项代码": code,
            "评分项描述": description,
            "类型": kind,
            "满分": top,
            "步长": step,
            "裁判人数": judges,
            "汇总方式": "去掉最高最低分后平均",
            "允许分差": tolerance,
        }
        for module, module_name, code, description, kind, top, step, judges, tolerance in SCHEME
    ]
    wrong = [dict(row) for row in rows]
    wrong[0]["满分"] = 30  # the maxima total 90
    wrong[2]["类型"] = "主客观"  # no such kind
    form = org.locator("form[action$='/scheme/import']")
    upload(org, form, fill_sheet(template, "评分标准", wrong), tmp, "scheme-wrong.xlsx")
    problems = org.locator(".alert-error table tbody tr")
    expect(problems.first).to_be_visible(timeout=15_000)
    assert problems.count() >= 2, "every problem of the file is listed"
    expect(org.locator(".alert-error")).to_contain_text("主客观")
    with live_db.session() as session:
        assert (
            session.scalar(
                select(func.count(SchemeModule.id)).where(
                    SchemeModule.scheme.has(event_id=s.event_id)
                )
            )
            == 0
        )
    people.step(org, "scheme-wrong-file-refused")

    form = org.locator("form[action$='/scheme/import']")
    upload(org, form, fill_sheet(template, "评分标准", rows), tmp, "scheme.xlsx")
    expect(org.locator(".flash-success")).to_be_visible(timeout=15_000)
    expect(org.locator("h2 .badge-ok")).to_be_visible()  # total 100 of 100
    with live_db.session() as session:
        event = session.get(Event, s.event_id)
        s.criteria = {c.code: c.id for m in event.scheme.modules for c in m.criteria}
    assert sorted(s.criteria) == ["A1", "A2", "B1"]
    people.step(org, "scheme-imported")

    # Rules for this event: appeals within one minute of the publication, publicity one day.
    org.goto(f"{base}/events/{s.event_id}/rules/edit")
    org.locator("#p-appeal_anchor").select_option("result_release")
    org.locator("#p-appeal_window_min").fill("1")
    org.locator("#p-publicity_workdays").fill("1")
    org.locator("main form button[type=submit]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    expect(org.locator("tr.overridden")).to_have_count(3)
    people.step(org, "rules")

    # The top two go to the national 电工 event (the demo's N01).
    with live_db.session() as session:
        s.national_event_id = session.scalar(select(Event.id).where(Event.code == "N01"))
        s.unit_id = session.scalar(select(Unit.id).where(Unit.name == UNIT))
    org.goto(f"{base}/events/{s.event_id}/selection")
    org.locator("#target_event_id").select_option(str(s.national_event_id))
    org.locator("#quota").fill("2")
    org.locator("main form[action$='/selection'] button[type=submit]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    people.step(org, "selection-link")

    # The unit's quota, then registration opens.
    org.goto(f"{base}/events/{s.event_id}/units")
    quota = org.locator("form[action$='/units']")
    quota.locator("#unit_id").select_option(str(s.unit_id))
    quota.locator("#quota").fill("6")
    quota.locator("#team_leader").fill("李领队")
    quota.locator("#team_leader_phone").fill("13902020202")
    quota.locator("button[type=submit]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    expect(org.locator("main table tr", has_text=UNIT).locator("td.num").first).to_have_text("6")
    people.step(org, "quota")

    org.goto(f"{base}/events/{s.event_id}")
    take_step(org, EventState.REGISTRATION_OPEN)
    assert _state(live_db, s.event_id) is EventState.REGISTRATION_OPEN
    people.step(org, "registration-open")

    # The administrator gives the demo's officials their roles in this event.
    admin = people.page("admin")
    for username, role in EVENT_ROLES.items():
        admin.goto(f"{base}/admin/users/{_user_id(live_db, username)}")
        form = admin.locator("form[action$='/roles']")
        form.locator("#role").select_option(role)
        form.locator("#event_id").select_option(str(s.event_id))
        form.locator("button[type=submit]").click()
        expect(admin.locator(".flash-success")).to_be_visible()
    people.step(admin, "roles-in-the-event")


# ---------------------------------------------------------------- 2. registration


def _registration(people: People, live_db: LiveDatabase, base: str, s: State, tmp) -> None:
    unit = people.page("unit")
    unit.goto(f"{base}/units/{s.unit_id}")
    row = unit.locator("main tr", has_text=COMPETITION)
    row.locator("summary").click()
    template = download(unit, row.locator("a[href*='registration-template.xlsx']"))

    def line(index: int, person) -> dict:
        name, _sex, number, phone = person
        return {
            "姓名": name,
            "证件号码": number,
            "手机号码": phone,
            "参赛单位": UNIT,
            "工作单位/学校": UNIT,
            "参赛身份": "在职职工",
            "现职业技能等级": "三级/高级工",
            "等级证书编号": f"S2022044{index:06d}",
            "指导教师": f"{name[0]}老师",
        }

    lines = [line(i, p) for i, p in enumerate(s.people)]
    wrong = [dict(x) for x in lines]
    number = wrong[1]["证件号码"]
    wrong[1]["证件号码"] = number[:-1] + ("0" if number[-1] != "0" else "1")  # bad check digit
    wrong[3]["手机号码"] = None  # missing
    upload(unit, row.locator("form"), fill_sheet(template, "报名表", wrong), tmp, "wrong.xlsx")
    report = unit.locator("#problems")
    expect(report).to_be_visible(timeout=15_000)
    assert report.locator("tbody tr").count() >= 2, "every bad row is listed"
    assert number[:-1] not in unit.content(), "ID numbers in the report are masked"
    with live_db.session() as session:
        assert (
            session.scalar(select(func.count(Entry.id)).where(Entry.event_id == s.event_id)) == 0
        ), "nothing was saved"
    people.step(unit, "registration-wrong-file-refused")

    unit.goto(f"{base}/units/{s.unit_id}")
    row = unit.locator("main tr", has_text=COMPETITION)
    row.locator("summary").click()
    upload(unit, row.locator("form"), fill_sheet(template, "报名表", lines), tmp, "entries.xlsx")
    expect(unit.locator(".flash-success")).to_be_visible(timeout=15_000)
    with live_db.session() as session:
        for index, person in enumerate(s.people):
            s.entries[index] = session.scalar(
                select(Entry.id)
                .join(Entry.members)
                .join(Person)
                .where(Entry.event_id == s.event_id, Person.id_number == person[2])
            )
    assert all(s.entries.values()) and len(s.entries) == 6
    people.step(unit, "registrations-imported")

    # The organiser approves them all at once (a double click approves once, too).
    org = people.page("organiser")
    org.goto(f"{base}/events/{s.event_id}/entries")
    boxes = org.locator("input[name=entry_id][form=bulk]")
    expect(boxes).to_have_count(6)
    for index in range(6):
        boxes.nth(index).check()
    people.step(org, "registrations-to-review")
    org.locator("button[form=bulk]").dblclick()
    expect(org.locator(".flash-success")).to_be_visible()
    with live_db.session() as session:
        statuses = session.scalars(select(Entry.status).where(Entry.event_id == s.event_id))
        assert sorted(statuses) == [EntryStatus.APPROVED] * 6
        decisions = select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "entry.approve",
            AuditEntry.target_id.in_(list(s.entries.values())),
        )
        assert session.scalar(decisions) == 6, "each entry approved once"
    people.step(org, "registrations-approved")

    # Closing waits for the deadline; the organiser moves it (and the start) to now.
    org.goto(f"{base}/events/{s.event_id}")
    close = org.locator("form.next-step:has(input[name=target][value='registration_closed'])")
    expect(close.locator("button")).to_be_disabled()
    expect(close.locator(".hint")).to_be_visible()
    people.step(org, "close-waits-for-the-deadline")
    now = datetime.now(UTC)
    org.goto(f"{base}/events/{s.event_id}/edit")
    org.locator("#registration_deadline").fill(local_input(now - timedelta(hours=1)))
    org.locator("#start_at").fill(local_input(now - timedelta(minutes=2)))
    org.locator("#end_at").fill(local_input(now + timedelta(hours=6)))
    org.locator("main form button[type=submit]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    take_step(org, EventState.REGISTRATION_CLOSED)
    people.step(org, "registration-closed")


# ---------------------------------------------------------------- 3. draws and panel


def _draws(people: People, live_db: LiveDatabase, base: str, s: State, tmp) -> None:
    org = people.page("organiser")
    org.goto(f"{base}/events/{s.event_id}/draws")
    numbers = org.locator("form[action$='/draws/entry-numbers']")
    numbers.locator("input[name=seed]").fill("journey-2026-DG01")
    numbers.locator("input[name=prefix]").fill("G")
    numbers.locator("button[type=submit]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    people.step(org, "entry-numbers-drawn")

    # The panel: five marking judges drawn from the pool of 30, then the judges with tablet
    # accounts seated by hand with the reason (the pool has no other way to give a drawn judge
    # an account).
    org.goto(f"{base}/events/{s.event_id}/panel")
    org.locator("form[action$='/panel/draw'] #seed").fill("journey-2026-panel")
    org.locator("form[action$='/panel/draw'] button[type=submit]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    with live_db.session() as session:
        seated = {
            m.judge.user.username if m.judge.user else None: m
            for m in judging.panel_of(session.get(Event, s.event_id))
        }
        accounts = {
            u.username: j.id
            for j, u in session.execute(
                select(Judge, User).join(User, User.id == Judge.user_id)
            ).all()
        }
        # A drawn judge whose account serves in another role here stands down.
        stand_down = [m.id for name, m in seated.items() if name and name not in MARKING_JUDGES]
    for member_id in stand_down:
        remove = org.locator(f"form[action$='/panel/members/{member_id}/remove']")
        remove.locator("input[name=reason]").fill("在本赛项另任职务，回避评分")
        remove.locator("button[type=submit]").click()
        expect(org.locator(".flash-success")).to_be_visible()
    wanted = [("chief", "chief")] + [(u, "marking") for u in MARKING_JUDGES if u not in seated]
    for username, role in wanted:
        form = org.locator("form[action$='/panel/members']")
        form.locator("#judge_id").select_option(str(accounts[username]))
        form.locator("#role").select_option(role)
        form.locator("#reason").fill("持评分平板账号的裁判，按组委会安排入组")
        form.locator("button[type=submit]").click()
        expect(org.locator(".flash-success")).to_be_visible()
    people.step(org, "panel")

    org.goto(f"{base}/events/{s.event_id}")
    take_step(org, EventState.DRAWN)
    people.step(org, "draw-confirmed")

    org.goto(f"{base}/events/{s.event_id}/draws")
    stations = org.locator("form[action$='/draws/stations']")
    stations.locator("input[name=sessions]").fill("1:6")
    stations.locator("input[name=seed]").fill("journey-2026-DG01-stations")
    stations.locator("button[type=submit]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    people.step(org, "stations-drawn")

    # No page assigns the marking codes (评审号) yet: the encryption judge's draw is made
    # through the service, as the demo does.
    with live_db.session() as session:
        event = session.get(Event, s.event_id)
        encrypt = session.scalar(select(User).where(User.username == "encrypt"))
        judging.assign_review_codes(encrypt, event, seed="journey-2026-DG01-codes")
        session.commit()
        by_entry = dict(
            session.execute(
                select(ReviewCode.entry_id, ReviewCode.code).where(
                    ReviewCode.event_id == s.event_id
                )
            ).all()
        )
    s.codes = {p: by_entry[e] for p, e in s.entries.items()}

    # The unit prints the admission tickets; their QR codes lead to each contestant's page.
    unit = people.page("unit")
    unit.goto(f"{base}/units/{s.unit_id}")
    link = unit.locator(f"a[href$='/units/{s.unit_id}/events/{s.event_id}/tickets.pdf']")
    expect(link).to_be_visible()
    people.step(unit, "tickets-link")
    pdf = unit.request.get(base + link.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    for url in qr_codes_in_pdf(unit, base, pdf.body(), tmp):
        assert re.fullmatch(re.escape(base) + r"/r/[A-Za-z0-9_-]+", url), url
        s.ticket_urls[_entry_of(live_db, s, url)] = url
    assert sorted(s.ticket_urls) == list(range(6)), "every ticket carries its QR code"

    org.goto(f"{base}/events/{s.event_id}")
    take_step(org, EventState.IN_PROGRESS)
    assert _state(live_db, s.event_id) is EventState.IN_PROGRESS
    people.step(org, "event-started")


# ---------------------------------------------------------------- 4. check-in


def _check_in(
    people: People, browser_type: BrowserType, live_db: LiveDatabase, base: str, s: State, tmp
) -> None:
    # The strongest contestant's ticket in front of the tablet's camera.
    video = _y4m_of_qr(s.ticket_urls[0], tmp / "ticket.y4m")
    camera = browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera.new_context(**TABLET, locale="zh-CN")
        context.grant_permissions(["camera"], origin=base)
        page = context.new_page()
        people.sign_in(page, "recorder")
        page.goto(f"{base}/events/{s.event_id}/checkin")
        expect(page.locator("#absent-count")).to_have_attribute("data-count", "6")
        page.locator("#scan-start").click()
        result = page.locator("#checkin-result")
        expect(result.locator(".person-card p.big")).to_have_text(s.people[0][0])
        people.step(page, "checkin-scanned")
        result.locator("form button[type=submit]").click()
        expect(result.locator(".flash-success")).to_be_visible()
        people.step(page, "checkin-confirmed")

        # The others by their admission numbers, typed.
        with live_db.session() as session:
            numbers = {
                p: session.get(Entry, e).admission_no for p, e in s.entries.items() if p != 0
            }
        for person, number in numbers.items():
            page.locator("#checkin-form input[name=code]").fill(number)
            page.locator("#checkin-form button[type=submit]").click()
            expect(result.locator(".person-card p.big")).to_have_text(s.people[person][0])
            result.locator("form button[type=submit]").click()
            expect(result.locator(".flash-success")).to_be_visible()
        page.reload()
        expect(page.locator("#absent-count")).to_have_attribute("data-count", "0")
        people.step(page, "everyone-checked-in")
        context.close()
    finally:
        camera.close()

    # Theory scores from the results template (the paper was sat the day before).
    org = people.page("organiser")
    org.goto(f"{base}/events/{s.event_id}/results/inputs")
    template = download(org, org.locator("a[href$='/results/inputs-template.xlsx']"))
    with live_db.session() as session:
        rows = [
            {
                "准考证号": session.get(Entry, s.entries[p]).admission_no,
                "理论成绩": float(theory(p)),
            }
            for p in range(6)
        ]
    upload(org, org.locator("#upload-form"), fill_sheet(template, "成绩录入", rows), tmp, "t.xlsx")
    expect(org.locator("#input-counts")).to_have_attribute("data-theory", "6", timeout=15_000)
    people.step(org, "theory-scores")


# ---------------------------------------------------------------- 5. marking on tablets


def _sheet(page: Page, base: str, s: State, person: int) -> None:
    page.goto(f"{base}/tablet/events/{s.event_id}/sheet/{s.codes[person]}")
    expect(page.locator("#tablet-sheet")).to_have_attribute("data-ready", "1")


def _field(page: Page, s: State, code: str):
    return page.locator(f"#mark-{s.criteria[code]}")


def _chip(page: Page, s: State, code: str):
    return page.locator(f"#crit-{s.criteria[code]} .mark-status")


def _type(page: Page, s: State, marks: dict[str, Decimal]) -> None:
    for code, value in marks.items():
        _field(page, s, code).fill(text_of(value))
        _field(page, s, code).press("Tab")


def _synced(page: Page, s: State, codes=("A1", "A2", "B1")) -> None:
    for code in codes:
        expect(_chip(page, s, code)).to_have_attribute("data-state", "synced", timeout=SYNC_TIMEOUT)


def _marks_of(live_db: LiveDatabase, s: State, username: str, person: int) -> list[Decimal]:
    with live_db.session() as session:
        return [
            Decimal(v)
            for v in session.scalars(
                select(MarkEvent.value)
                .join(User, User.id == MarkEvent.judge_user_id)
                .where(User.username == username, MarkEvent.entry_id == s.entries[person])
                .order_by(MarkEvent.seq)
            )
        ]


def _marking(people: People, live_db: LiveDatabase, base: str, s: State) -> None:
    tablets = {name: people.tablet(name) for name in MARKING_JUDGES}

    # Judge 1 starts from the cards (marking codes only, never names) and marks the first code.
    j1 = tablets["judge1"]
    j1.goto(f"{base}/tablet/events/{s.event_id}")
    expect(j1.locator("html")).to_have_attribute("data-offline-ready", "1")
    expect(j1.locator(".code-card")).to_have_count(6)
    for name, *_ in s.people:
        assert name not in j1.content()
    people.step(j1, "tablet-assignments")

    # Judge 1 loses the network for a while: marks stay on the tablet, survive a reload and
    # sync when the network is back.
    first, second = 0, 1
    _sheet(j1, base, s, first)
    _type(j1, s, planned(first, 0))
    _synced(j1, s)
    _sheet(j1, base, s, second)
    expect(j1.locator("html")).to_have_attribute("data-offline-ready", "1")
    j1.context.set_offline(True)
    expect(j1.locator("#sync-banner")).to_have_attribute("data-net", "offline")
    _type(j1, s, planned(second, 0))
    for code in ("A1", "A2", "B1"):
        expect(_chip(j1, s, code)).to_have_attribute("data-state", "local")
    people.step(j1, "offline-marks-on-the-tablet")
    j1.reload()  # the service worker serves the page; the marks come back from the tablet
    expect(j1.locator("#tablet-sheet")).to_have_attribute("data-ready", "1")
    for code, value in planned(second, 0).items():
        expect(_field(j1, s, code)).to_have_value(text_of(value))
        expect(_chip(j1, s, code)).to_have_attribute("data-state", "local")
    assert _marks_of(live_db, s, "judge1", second) == [], "nothing left the tablet offline"
    people.step(j1, "offline-reloaded")

    # Meanwhile the others mark the first codes; judge 3 keeps a second tab open on one.
    j3 = tablets["judge3"]
    _sheet(j3, base, s, first)
    second_tab = j3.context.new_page()
    _sheet(second_tab, base, s, first)
    early = planned(first, 2)
    # In the second tab judge 3 mistypes 安装工艺; the first tab, not knowing, enters the
    # right mark: the tablet shows the conflict with the server's mark and asks for a reason.
    wrong = early["A2"] - 1
    _type(second_tab, s, {"A2": wrong})
    _synced(second_tab, s, ["A2"])
    _type(j3, s, early)
    expect(_chip(j3, s, "A2")).to_have_attribute("data-state", "conflict", timeout=SYNC_TIMEOUT)
    expect(j3.locator(f"#msg-{s.criteria['A2']}")).to_contain_text(f"{wrong:.2f}")
    people.step(j3, "second-tab-conflict")
    panel = j3.locator(f"#crit-{s.criteria['A2']} .reason-panel")
    panel.locator(".reason-input").fill("另一标签页误录，以本次为准")
    panel.locator(".reason-save").click()
    _synced(j3, s)
    assert _marks_of(live_db, s, "judge3", first)[-1] == early["A2"]
    assert wrong in _marks_of(live_db, s, "judge3", first), "the mistyped mark stays on record"
    second_tab.close()

    # Judge 1 is back online: everything syncs.
    j1.context.set_offline(False)
    _synced(j1, s)
    expect(j1.locator("#sync-count")).to_be_visible()
    people.step(j1, "back-online-synced")
    assert sorted(_marks_of(live_db, s, "judge1", second)) == sorted(planned(second, 0).values())

    # Judge 5 reloads in the middle of a sheet: the typed marks are kept and synced.
    j5 = tablets["judge5"]
    _sheet(j5, base, s, first)
    marks = planned(first, 4)
    _type(j5, s, {k: marks[k] for k in ("A1", "A2")})
    j5.reload()
    expect(j5.locator("#tablet-sheet")).to_have_attribute("data-ready", "1")
    expect(_field(j5, s, "A1")).to_have_value(text_of(marks["A1"]))
    expect(_field(j5, s, "A2")).to_have_value(text_of(marks["A2"]))
    _type(j5, s, {"B1": marks["B1"]})
    _synced(j5, s)
    people.step(j5, "reloaded-mid-sheet")

    # Everyone marks the rest; judge 4 gives contestant 2 five marks too many on 安装工艺.
    done = {("judge1", first), ("judge1", second), ("judge3", first), ("judge5", first)}
    for judge, name in enumerate(MARKING_JUDGES):
        page = tablets[name]
        for person in range(6):
            if (name, person) in done:
                continue
            marks = planned(person, judge)
            if (judge, person) == DISAGREEING:
                marks["A2"] += 4
            _sheet(page, base, s, person)
            _type(page, s, marks)
            _synced(page, s)
    people.step(tablets["judge4"], "judge4-sheet")

    # The chief judge's console flags the disagreement with the marks side by side.
    chief = people.page("chief")
    chief.goto(f"{base}/events/{s.event_id}/console")
    flagged = chief.locator("td.cell.flag")
    expect(flagged).to_have_count(1)
    lock = chief.locator("form.next-step:has(input[name=target][value='scoring_locked']) button")
    expect(lock).to_be_disabled()
    people.step(chief, "console-flag")

    # Judge 4 checks the work again and corrects the mark with a reason.
    j4 = tablets["judge4"]
    person = DISAGREEING[1]
    _sheet(j4, base, s, person)
    right = planned(person, DISAGREEING[0])["A2"]
    _field(j4, s, "A2").fill(text_of(right))
    _field(j4, s, "A2").press("Tab")
    panel = j4.locator(f"#crit-{s.criteria['A2']} .reason-panel")
    expect(panel).to_be_visible()
    panel.locator(".reason-input").fill("复看作品后更正：工艺评价与评分细则不符")
    people.step(j4, "correction-with-reason")
    panel.locator(".reason-save").click()
    _synced(j4, s)

    chief.reload()
    expect(chief.locator("td.cell.flag")).to_have_count(0)
    expect(chief.locator("td.cell.todo")).to_have_count(0)
    take_step(chief, EventState.SCORING_LOCKED)
    assert _state(live_db, s.event_id) is EventState.SCORING_LOCKED
    people.step(chief, "scoring-locked")


# ---------------------------------------------------------------- 6. lock, unseal, review


def _lock_review_unseal(people: People, live_db: LiveDatabase, base: str, s: State) -> None:
    chief = people.page("chief")
    chief.goto(f"{base}/events/{s.event_id}/console")
    take_step(chief, EventState.UNDER_REVIEW, timeout=60)
    assert _state(live_db, s.event_id) is EventState.UNDER_REVIEW
    people.step(chief, "totals-submitted")

    # The review (复核): all of the top 10, so every entry here; each confirmed.
    supervisor = people.page("supervisor")
    supervisor.goto(f"{base}/events/{s.event_id}/review")
    start = supervisor.locator("#start-review")
    reload_until(supervisor, start)  # once the stored results are up to date
    start.locator("#seed").fill("journey-2026-review")
    start.locator("button[type=submit]").click()
    expect(supervisor.locator("#review-progress")).to_have_attribute("data-total", "6")
    people.step(supervisor, "review-sample")
    for code in sorted(s.codes.values()):
        entry = supervisor.locator(f"#entry-{code}")
        entry.locator("summary").click()
        entry.locator("form.review-confirm button[type=submit]").click()
        expect(supervisor.locator(".flash-success")).to_be_visible()
    expect(supervisor.locator("#review-progress")).to_have_attribute("data-checked", "6")
    people.step(supervisor, "review-complete")

    # Unsealing, layer by layer: the encryption judge requests, the supervisor confirms.
    encrypt = people.page("encrypt")
    for layer in ("review_code", "station", "entry_number", "person"):
        for page in (encrypt, supervisor):
            page.goto(f"{base}/events/{s.event_id}/unseal")
            form = page.locator(f"form:has(input[name=layer][value='{layer}'])")
            form.locator("button[type=submit]").click()
            expect(page.locator(".flash-success, .flash-info").first).to_be_visible()
        if layer == "station":
            people.step(supervisor, "unsealing-layer-2")
    expect(supervisor.locator("main .success")).to_be_visible()
    expect(supervisor.locator("main table").last).to_contain_text(s.people[0][0])
    people.step(supervisor, "unsealed")


# ---------------------------------------------------------------- 7. publication and appeals


def _publication_and_appeals(people: People, live_db: LiveDatabase, base: str, s: State) -> None:
    org = people.page("organiser")
    org.goto(f"{base}/events/{s.event_id}/publicity")
    expect(org.locator("#publish-conditions li[data-ok='no']")).to_have_count(0, timeout=30_000)
    people.step(org, "publication-plan")
    take_step(org, EventState.PUBLICITY, timeout=60)
    expect(org.locator("#publication-state")).to_have_attribute("data-state", "publicity")
    people.step(org, "published")
    with live_db.session() as session:
        deadline = current_publication(session.get(Event, s.event_id)).appeal_deadline

    # The unit appeals for contestant 3 within the minute: filed.
    unit = people.page("unit")
    unit.goto(f"{base}/events/{s.event_id}/appeals/new")
    expect(unit.locator("#appeal-window")).to_have_attribute("data-open", "yes")
    unit.locator("#entry_id").select_option(str(s.entries[3]))
    unit.locator("#text").fill("我单位选手认为 B1 故障排除一项评分偏低，申请复核评分记录。")
    unit.locator("#appeal-form button[type=submit]").click()
    expect(unit.locator(".flash-success")).to_be_visible()
    people.step(unit, "appeal-filed")

    # The supervision panel looks at the marks and dismisses it; the decision is final.
    supervisor = people.page("supervisor")
    supervisor.goto(f"{base}/events/{s.event_id}/appeals")
    item = supervisor.locator("article.appeal[data-status='open']")
    expect(item).to_have_count(1)
    item.locator("input[name=outcome][value=dismissed]").check()
    item.locator("textarea[name=decision]").fill(
        "经调阅评分记录，五名裁判 B1 评分一致，符合评分细则。申诉不成立，维持原评判。"
    )
    item.locator("button[type=submit]").click()
    expect(supervisor.locator("article.appeal[data-status='dismissed']")).to_have_count(1)
    people.step(supervisor, "appeal-dismissed")

    # While the results are under public notice the contestant sees them, provisional.
    phone = people.anonymous("phone", PHONE)  # the QR page needs no sign-in
    phone.goto(s.ticket_urls[1])
    expect(phone.locator("#qr-badge")).to_have_attribute("data-badge", "publicity")
    expect(phone.locator("#qr-rank")).to_have_attribute("data-rank", "2")
    people.step(phone, "phone-publicity")

    # So does everyone on the public results page (公示): rank, name, unit, score; no ID
    # number or phone.
    public = people.anonymous("public", DESK)
    public.goto(f"{base}/events/{s.event_id}/results")
    expect(public.locator("#public-results")).to_have_attribute("data-state", "publicity")
    ranks = public.locator("#public-results tr[data-rank]")
    expect(ranks).to_have_count(6)
    expect(ranks.first.locator(".pr-name")).to_have_text(s.people[0][0])
    expect(ranks.first.locator(".pr-unit")).to_have_text(UNIT)
    html = public.content()
    assert not any(p[2] in html or p[3] in html for p in s.people), "no ID numbers or phones"
    people.step(public, "public-results")

    # A second appeal after the deadline is refused with the deadline, and nothing is stored.
    wait = (deadline - datetime.now(UTC)).total_seconds() + 1
    if wait > 0:
        time.sleep(wait)
    unit.goto(f"{base}/events/{s.event_id}/appeals/new")
    expect(unit.locator("#appeal-window")).to_have_attribute("data-open", "no")
    unit.locator("#entry_id").select_option(str(s.entries[4]))
    unit.locator("#text").fill("申请复核 A2 安装工艺评分。")
    unit.locator("#appeal-form button[type=submit]").click()
    message = unit.locator("#appeal-form [role=alert]").first
    expect(message).to_contain_text(deadline.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"))
    expect(unit.locator("#text")).to_have_value("申请复核 A2 安装工艺评分。")  # text kept
    with live_db.session() as session:
        assert (
            session.scalar(select(func.count(Appeal.id)).where(Appeal.event_id == s.event_id)) == 1
        )
    people.step(unit, "late-appeal-refused")


# ---------------------------------------------------------------- 8. final, awards, certificates


def _final_awards_certificates(people: People, live_db: LiveDatabase, base: str, s: State) -> None:
    # The publicity period is one working day from today; to let it run out, the publication's
    # window is moved back through the database (no page can make time pass).
    with live_db.session() as session:
        publication = current_publication(session.get(Event, s.event_id))
        today = datetime.now(BEIJING).date()
        back = (publication.publicity_end - today).days + 1
        publication.publicity_start -= timedelta(days=back)
        publication.publicity_end -= timedelta(days=back)
        session.commit()

    org = people.page("organiser")
    org.goto(f"{base}/events/{s.event_id}/publicity")
    take_step(org, EventState.FINAL)
    expect(org.locator("#publication-state")).to_have_attribute("data-state", "final")
    people.step(org, "final")

    org.goto(f"{base}/events/{s.event_id}/awards")
    org.locator("#allocation form button[type=submit]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    expect(org.locator(f"tr[data-entry='{s.entries[0]}']")).to_have_attribute("data-award", "first")
    for person in (1, 2):
        expect(org.locator(f"tr[data-entry='{s.entries[person]}']")).to_have_attribute(
            "data-award", "merit"
        )
    people.step(org, "awards-allocated")

    approved_on = datetime.now(BEIJING).date().isoformat()
    org.locator("#titles-ref").fill("粤人社函〔2026〕101号")
    org.locator("#titles-date").fill(approved_on)
    org.locator("button[form=approve-titles]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    org.locator("#promotions-ref").fill("粤人社函〔2026〕102号")
    org.locator("#promotions-date").fill(approved_on)
    org.locator("button[form=approve-promotions]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    expect(org.locator("#titles tr[data-status='granted']")).to_have_count(1)
    expect(org.locator("#promotions tr[data-status='granted']")).to_have_count(3)
    people.step(org, "titles-and-promotions")

    org.goto(f"{base}/events/{s.event_id}")
    take_step(org, EventState.AWARDS_ISSUED)
    people.step(org, "awards-issued")

    # Certificates in one batch: its progress page refreshes itself until the batch is built.
    org.goto(f"{base}/events/{s.event_id}/certificates")
    expect(org.locator("#certificate-counts [data-count='to-issue']")).to_be_visible()
    org.locator("form[action$='/certificates/issue'] button[type=submit]").click()
    expect(org).to_have_url(re.compile(r"/jobs/\w+"))
    people.step(org, "certificate-batch")
    expect(org.locator("main progress")).to_have_attribute("value", "100", timeout=60_000)
    org.locator(f"main a[href$='/events/{s.event_id}/certificates']").click()
    expect(org.locator("#certificate-batch a[href*='/certificates/batches/']")).to_be_visible()
    with live_db.session() as session:
        issued = session.scalar(
            select(func.count(Certificate.id)).where(Certificate.event_id == s.event_id)
        )
    # An award certificate for the prize and each merit award, the title, three promotions.
    assert issued == 7
    expect(org.locator("#certificate-table tbody tr")).to_have_count(issued)
    people.step(org, "certificates")


# ---------------------------------------------------------------- 9. the contestant's phone


def _contestant_on_a_phone(people: People, live_db: LiveDatabase, base: str, s: State) -> None:
    phone = people.anonymous("phone", PHONE)
    phone.goto(s.ticket_urls[0])  # the QR code on the winner's admission ticket
    expect(phone.locator("#qr-badge")).to_have_attribute("data-badge", "final")
    expect(phone.locator("#qr-rank")).to_have_attribute("data-rank", "1")
    expect(phone.locator("#qr-rank")).to_have_attribute("data-of", "6")
    expect(phone.locator("#qr-award")).to_have_attribute("data-award", "first")
    expect(phone.locator(".qr-name").first).to_have_text(mask_name(s.people[0][0]))
    assert s.people[0][2] not in phone.content(), "no ID number on the public page"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    people.step(phone, "phone-result")

    certificate = phone.locator("li.qr-cert").first
    expect(certificate).to_have_attribute("data-cert-status", "valid")
    number = certificate.get_attribute("data-certificate")
    image = certificate.locator("[data-link='png']").get_attribute("href")
    png = phone.request.get(base + image)
    assert png.ok and png.headers["content-type"] == "image/png"
    verify_url = qr_code_in_png(phone, base, png.body())
    assert verify_url and verify_url.startswith(base + "/c/"), verify_url
    phone.goto(verify_url)
    expect(phone.locator("#verify-result")).to_have_attribute("data-status", "valid")
    expect(phone.locator("#certificate-number")).to_have_text(number)
    expect(phone.locator("#certificate-name")).to_have_text(mask_name(s.people[0][0]))
    with live_db.session() as session:
        assert number == session.scalar(
            select(Certificate.number).where(Certificate.token == verify_url.rsplit("/", 1)[-1])
        )
    people.step(phone, "phone-certificate-verified")


# ---------------------------------------------------------------- 10. the national event


def _national_event(people: People, live_db: LiveDatabase, base: str, s: State) -> None:
    org = people.page("organiser")
    org.goto(f"{base}/events/{s.event_id}/nominations")
    listing = org.locator("section[data-link]")
    expect(listing.locator("tr[data-status='nominated']")).to_have_count(2)
    people.step(org, "nominations")
    listing.locator("form[id^='prereg-'] button[type=submit]").click()
    expect(org.locator(".flash-success")).to_be_visible()
    expect(listing.locator("tr[data-status='preregistered']")).to_have_count(2)

    org.goto(f"{base}/events/{s.national_event_id}/entries")
    for person in (0, 1):
        row = org.locator(f"main tr:has([data-source-entry='{s.entries[person]}'])")
        expect(row).to_contain_text(s.people[person][0])
    expect(org.locator(f"[data-source-entry='{s.entries[2]}']")).to_have_count(0)
    people.step(org, "national-event")
