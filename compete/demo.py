"""The demo loaded by ``flask compete seed-demo`` (idempotent): a Guangdong provincial class 2
competition with its events, units, contestants, a judge pool and the national events it feeds.

``load_demo`` makes the competition with 电工 (E01, under way, no marks yet) and 焊工 (E02, open
for registration). ``load_demo_results`` adds 车工 (E03), run through every stage to the end
with the application's own services: marks from five judges, theory scores, lock, review with a
correction, unsealing, publication with an appeal, final results, awards, titles, promotions,
certificates and the nominations for the national event. The command line loads both; tests
that need only the first part stay fast and free of marks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from .blueprints.admin.services import assign_role
from .blueprints.competitions import presets, schemes, services
from .domain.idnumber import with_check_digit
from .domain.tiers import Tier
from .extensions import db
from .models import Competition, Entry, Event, Role, Unit, UnitQuota, User

DEMO_NAME = "2026年广东省职业技能竞赛（电工、焊工）选拔赛"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁"
GIVEN = {
    "M": [
        "伟",
        "强",
        "磊",
        "军",
        "洋",
        "勇",
        "杰",
        "涛",
        "明",
        "超",
        "建国",
        "志强",
        "晓东",
        "子轩",
        "浩然",
        "俊杰",
        "家豪",
        "思远",
        "文博",
        "国栋",
        "锦辉",
        "振华",
        "伟业",
        "嘉乐",
    ],
    "F": [
        "芳",
        "娜",
        "敏",
        "静",
        "艳",
        "秀英",
        "慧",
        "嘉怡",
        "梓涵",
        "雨婷",
        "海燕",
        "丽娟",
        "永红",
        "晓琳",
        "诗琪",
        "佩珊",
        "婉婷",
        "颖",
        "欣怡",
        "美玲",
    ],
}
ADDRESS_CODES = [
    "440103",
    "440104",
    "440106",
    "440303",
    "440304",
    "440305",
    "440604",
    "441302",
    "440402",
    "441900",
    "440703",
    "445102",
]
UNITS = [
    ("广州市技师学院", "school", "广州市"),
    ("深圳技师学院", "school", "深圳市"),
    ("佛山市技师学院", "school", "佛山市"),
    ("广东电网有限责任公司广州供电局", "enterprise", "广州市"),
    ("广州地铁集团有限公司", "enterprise", "广州市"),
    ("珠海格力电器股份有限公司", "enterprise", "珠海市"),
    ("美的集团股份有限公司", "enterprise", "佛山市"),
    ("广汽丰田汽车有限公司", "enterprise", "广州市"),
    ("中国南方电网超高压输电公司", "enterprise", "广州市"),
    ("东莞市技师学院", "school", "东莞市"),
    ("惠州市技师学院", "school", "惠州市"),
    ("中山市技师学院", "school", "中山市"),
]

# username, display name, role, scope key (None, "competition", "event", "unit")
ACCOUNTS = [
    ("admin", "系统管理员", Role.ADMIN, None, "System administrator"),
    ("organiser", "省人社厅组委会", Role.ORGANISER, "competition", "Organiser (组委会)"),
    ("chief", "裁判长 陈工", Role.CHIEF_JUDGE, "event", "Chief judge, 电工 and 车工 events"),
    ("judge1", "评分裁判 1", Role.JUDGE, "event", "Judge 1 of 5, 电工 and 车工 events"),
    ("judge2", "评分裁判 2", Role.JUDGE, "event", "Judge 2 of 5"),
    ("judge3", "评分裁判 3", Role.JUDGE, "event", "Judge 3 of 5"),
    ("judge4", "评分裁判 4", Role.JUDGE, "event", "Judge 4 of 5"),
    ("judge5", "评分裁判 5", Role.JUDGE, "event", "Judge 5 of 5"),
    ("encrypt", "加密裁判 林工", Role.ENCRYPTION_JUDGE, "event", "Encryption judge"),
    ("recorder", "检录员 何工", Role.SCORE_RECORDER, "event", "Score recorder / check-in"),
    ("supervisor", "监督仲裁组 周工", Role.SUPERVISOR, "event", "Supervisor / arbitration"),
    ("unit", "广州市技师学院 联系人", Role.UNIT_CONTACT, "unit", "Unit contact, 广州市技师学院"),
]

ELECTRICIAN_SCHEME = [
    (
        "A",
        "电气控制线路安装与调试",
        [
            ("A1", "元器件选择与布置", "measurement", "10", "0.5"),
            ("A2", "线路安装工艺", "judgement", "15", "0.5"),
            ("A3", "通电调试功能实现", "measurement", "15", "1"),
        ],
    ),
    (
        "B",
        "PLC 与变频器应用",
        [
            ("B1", "程序设计", "measurement", "15", "0.5"),
            ("B2", "参数设置与运行", "measurement", "15", "0.5"),
        ],
    ),
    (
        "C",
        "故障排除",
        [
            ("C1", "故障查找与排除", "measurement", "20", "1"),
        ],
    ),
    (
        "D",
        "职业素养与安全",
        [
            ("D1", "安全文明生产", "judgement", "10", "0.5"),
        ],
    ),
]

WELDER_SCHEME = [
    (
        "A",
        "板对接焊",
        [
            ("A1", "外观质量", "judgement", "20", "0.5"),
            ("A2", "射线探伤", "measurement", "20", "1"),
        ],
    ),
    (
        "B",
        "管对接焊",
        [
            ("B1", "外观质量", "judgement", "20", "0.5"),
            ("B2", "弯曲试验", "measurement", "20", "1"),
        ],
    ),
    ("C", "安全文明生产", [("C1", "安全与规范", "judgement", "20", "0.5")]),
]


def demo_people(count: int, *, seed: int = 2026):
    """Deterministic realistic people: (name, sex, id_number, phone)."""
    rng = random.Random(seed)
    people, seen = [], set()
    while len(people) < count:
        sex = rng.choice("MF")
        name = rng.choice(SURNAMES) + rng.choice(GIVEN[sex])
        born = date(1980, 1, 1) + timedelta(days=rng.randrange(0, 365 * 24))
        seq = rng.randrange(10, 99) * 10 + (
            rng.choice((1, 3, 5, 7, 9)) if sex == "M" else rng.choice((0, 2, 4, 6, 8))
        )
        number = with_check_digit(f"{rng.choice(ADDRESS_CODES)}{born:%Y%m%d}{seq:03d}")
        if number in seen:
            continue
        seen.add(number)
        phone = f"1{rng.choice('3578')}{rng.randrange(0, 10**9):09d}"
        people.append((name, sex, number, phone))
    return people


def _scheme(actor, event, layout) -> None:
    for code, name, criteria in layout:
        module = schemes.add_module(actor, event, code=code, name=name)
        for c_code, desc, kind, max_mark, step in criteria:
            schemes.add_criterion(
                actor,
                event,
                module,
                code=c_code,
                description=desc,
                kind=kind,
                max_mark=Decimal(max_mark),
                step=Decimal(step),
                judges=5,
                aggregation=None,
                tolerance=Decimal("3") if kind == "judgement" else None,
            )


def load_demo(*, password: str) -> tuple[bool, list[tuple[str, str]]]:
    """Create the demo unless it exists; returns (created, [(username, what it is)])."""
    accounts = [(u, label) for u, _, _, _, label in ACCOUNTS]
    if db.session.scalar(select(Competition.id).where(Competition.name == DEMO_NAME)):
        return False, accounts
    now = datetime.now(UTC)
    presets.ensure_builtin_presets()
    gd = presets.default_preset()
    student = next(
        p for p in presets.ensure_builtin_presets() if p.key == "gd_provincial_2_student"
    )
    national = next(
        p for p in presets.ensure_builtin_presets() if p.key == "national_comprehensive"
    )

    competition = services.create_competition(
        None,
        name=DEMO_NAME,
        tier=Tier.PROVINCIAL_2,
        year=2026,
        region="广东省",
        organiser="广东省人力资源和社会保障厅",
        host="广州市技师学院",
        co_organisers="广东省职业技能鉴定指导中心",
        venue="广州市技师学院（白云校区）",
        start_date=date(2026, 12, 10),
        end_date=date(2026, 12, 12),
        description="省级二类竞赛，职工组前列选手选派参加全国技能大赛。",
    )
    electrician = services.create_event(
        None,
        competition,
        code="E01",
        name="电工（职工组）",
        occupation="电工",
        occupation_code="6-31-01-03",
        standard_grade=3,
        group="employee",
        team_size=1,
        preset_version=gd.latest,
        registration_deadline=now + timedelta(days=10),
        start_at=now + timedelta(days=17),
        end_at=now + timedelta(days=17, hours=8),
        venue="实训楼 A 栋",
    )
    welder = services.create_event(
        None,
        competition,
        code="E02",
        name="焊工（学生组）",
        occupation="焊工",
        occupation_code="6-18-02-04",
        standard_grade=3,
        group="student",
        team_size=1,
        preset_version=student.latest,
        registration_deadline=now + timedelta(days=10),
        start_at=now + timedelta(days=18),
        end_at=now + timedelta(days=18, hours=8),
        venue="焊接实训中心",
    )
    _scheme(None, electrician, ELECTRICIAN_SCHEME)
    _scheme(None, welder, WELDER_SCHEME)

    nationals = services.create_competition(
        None,
        name="第三届中华人民共和国职业技能大赛",
        tier=Tier.NATIONAL_COMPREHENSIVE,
        year=2027,
        region="全国",
        organiser="人力资源和社会保障部",
        description="全国技能大赛（演示）",
    )
    national_event = services.create_event(
        None,
        nationals,
        code="N01",
        name="电工",
        occupation="电工",
        standard_grade=4,
        group="employee",
        team_size=1,
        preset_version=national.latest,
    )
    services.link_selection(None, electrician, national_event, quota=2)

    units = []
    for name, kind, region in UNITS:
        unit = Unit(name=name, kind=kind, region=region)
        db.session.add(unit)
        units.append(unit)
    db.session.flush()

    scopes = {
        "competition": {"competition_id": competition.id},
        "event": {"event_id": electrician.id},
        "unit": {"unit_id": units[0].id},
        None: {},
    }
    for username, display, role, scope, _label in ACCOUNTS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, display_name=display)
            user.set_password(password)
            db.session.add(user)
            db.session.flush()
        assign_role(None, user, role=role, **scopes[scope])
        if role is Role.ORGANISER:
            assign_role(None, user, role=Role.ORGANISER)  # may also create competitions
            assign_role(None, user, role=Role.ORGANISER, competition_id=nationals.id)
    db.session.flush()
    _registrations(competition, electrician, welder, units)
    return True, accounts


def _advance(event, target, *, reason: str) -> None:
    """Demo only: put an event at a later stage, recording the step like any other."""
    from .models import EventTransition

    db.session.add(
        EventTransition(event=event, from_state=event.state, to_state=target, reason=reason)
    )
    event.state = target


def _registrations(competition, electrician, welder, units) -> None:
    """120 contestants: the 电工 event drawn and ready for check-in, the 焊工 event open."""
    from .blueprints.registration import services as registration
    from .blueprints.registration.importer import MemberInput
    from .domain.idnumber import IdType
    from .domain.lifecycle import EventState

    now = datetime.now(UTC)
    people = demo_people(120)
    grades = [3, 3, 4, 2, 3, 4, 3, 2, 3, 5]
    for event in (electrician, welder):
        _advance(event, EventState.REGISTRATION_OPEN, reason="demo data")
        for unit in units:
            registration.set_quota(None, event, unit, quota=5 if event is electrician else 6)
    for index, (name, sex, number, phone) in enumerate(people):
        event = electrician if index < 60 else welder
        unit = units[index % len(units)]
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        member = MemberInput(
            name=name,
            gender=sex,
            id_type=IdType.RESIDENT_ID,
            id_number=number,
            birth_date=born,
            phone=phone,
            current_grade=grades[index % len(grades)],
            grade_certificate_no=f"S{2020 + index % 5}0440{index:05d}",
            employer=unit.name,
            row=0,
        )
        entry = registration.register_entry(
            None, event, unit, members=[member], coaches=[f"{name[0]}老师"]
        )
        if event is electrician:
            registration.decide_entry(None, entry, decision="approve", now=now)
        elif index % 10 == 1:
            registration.decide_entry(
                None, entry, decision="return", reason="请补充职业技能等级证书编号", now=now
            )
        elif index % 3 == 0:
            registration.decide_entry(None, entry, decision="approve", now=now)
    _advance(electrician, EventState.REGISTRATION_CLOSED, reason="demo data")
    registration.draw_entry_numbers(None, electrician, seed="demo-2026-E01", prefix="D")
    _advance(electrician, EventState.DRAWN, reason="demo data")
    registration.draw_station_numbers(
        None, electrician, sessions=[(1, 30), (2, 30)], seed="demo-2026-E01-stations"
    )
    db.session.flush()
    _judging(electrician, units)


JUDGE_ACCOUNTS = {
    "chief": "chief",
    "judge1": "marking",
    "judge2": "marking",
    "judge3": "marking",
    "judge4": "marking",
    "judge5": "marking",
    "encrypt": "encryption",
    "supervisor": "supervisor",
    "recorder": "recorder",
}


def _judging(event, units) -> None:
    """A pool of 30 judges; the 电工 panel drawn from it, marking codes, marking under way."""
    from .blueprints.judging import services as judging
    from .domain.lifecycle import EventState
    from .models import Draw, DrawKind, Judge, PanelRole

    rng = random.Random(30)
    pool = []
    for index, (name, sex, number, phone) in enumerate(demo_people(30, seed=99)):
        judge = Judge(
            name=name,
            gender=sex,
            id_number=number,
            phone=phone,
            unit_id=None if index < 12 else units[index % len(units)].id,
            employer="广东省职业技能鉴定指导中心" if index < 12 else "",
            occupations=["电工"] if index % 3 else ["焊工"],
            grade=5 if index % 2 else 4,
            title="副高" if index % 4 == 0 else "中级",
            is_assessor=index % 2 == 0,
            years_in_occupation=5 + rng.randrange(20),
        )
        db.session.add(judge)
        pool.append(judge)
    db.session.flush()
    users = {
        u.username: u
        for u in db.session.scalars(select(User).where(User.username.in_(list(JUDGE_ACCOUNTS))))
    }
    chosen = list(zip(pool, JUDGE_ACCOUNTS.items(), strict=False))
    draw = Draw(
        event_id=event.id,
        kind=DrawKind.PANEL,
        seed="demo-2026-panel",
        inputs={"pool": [j.id for j in pool]},
        result={str(judge.id): role for judge, (_u, role) in chosen},
    )
    db.session.add(draw)
    db.session.flush()
    for judge, (username, role) in chosen:
        judge.user_id = users[username].id
        judging.add_panel_member(None, event, judge, role=PanelRole(role), draw=draw)
    judging.assign_review_codes(None, event, seed="demo-2026-E01-codes")
    _advance(event, EventState.IN_PROGRESS, reason="demo data")
    db.session.flush()


# ---------------------------------------------------------------- 车工: the whole course

LATHE_CODE = "E03"
LATHE_ENTRIES = 37  # the worked example of domain §8(a): prizes 1/2/3, 优胜奖 down to rank 18
NATIONAL_NAME = "第三届中华人民共和国职业技能大赛"
LATHE_SCHEME = [
    (
        "A",
        "零件加工",
        [
            ("A1", "尺寸精度", "measurement", "30", "0.5"),
            ("A2", "几何公差", "measurement", "15", "0.5"),
            ("A3", "表面粗糙度", "measurement", "10", "0.5"),
        ],
    ),
    (
        "B",
        "加工工艺与数控编程",
        [
            ("B1", "加工工艺编制", "judgement", "10", "0.5"),
            ("B2", "数控程序编制", "measurement", "10", "0.5"),
        ],
    ),
    (
        "C",
        "装配与检测",
        [
            ("C1", "配合件装配", "measurement", "10", "1"),
            ("C2", "检测报告", "judgement", "5", "0.5"),
        ],
    ),
    ("D", "职业素养与安全", [("D1", "安全文明生产", "judgement", "10", "0.5")]),
]
MARKING_JUDGES = ("judge1", "judge2", "judge3", "judge4", "judge5")
# How each marking judge leans on judgement criteria, in steps of the criterion (judge4 is
# lenient, judge5 strict: the leniency chart shows them).
JUDGE_LEAN = {"judge1": 0, "judge2": 0, "judge3": 0, "judge4": 2, "judge5": -2}
# Grades held before the event, by strength (the strongest first), repeated.
LATHE_GRADES = [3, 4, 4, 3, 5, 4, 3, 2, 3, 4]
BEIJING = "Asia/Shanghai"
DAYS_AGO = 38  # the 车工 event was held this many days before the demo is loaded


@dataclass(frozen=True)
class DemoLinks:
    """Public pages of the finished 车工 event: a contestant's result page (the QR on the
    ticket) and that contestant's award certificate's verification page."""

    result: str
    certificate: str


def _users(*names: str) -> dict[str, User]:
    return {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(names)))}


def lathe_event() -> Event | None:
    """The demo's 车工 event, if ``load_demo_results`` has run."""
    return db.session.scalar(
        select(Event)
        .join(Competition, Competition.id == Event.competition_id)
        .where(Competition.name == DEMO_NAME, Event.code == LATHE_CODE)
    )


def demo_links(event: Event) -> DemoLinks:
    """The first-ranked contestant's result page and award certificate (paths, no host)."""
    from .models import Certificate, CertificateKind, EntryScore

    first = db.session.scalar(
        select(EntryScore)
        .where(EntryScore.event_id == event.id, EntryScore.rank.is_not(None))
        .order_by(EntryScore.rank, EntryScore.entry_id)
        .limit(1)
    )
    entry = db.session.get(Entry, first.entry_id) if first is not None else None
    if entry is None or entry.qr_token is None:
        return DemoLinks(result="", certificate="")  # changed by hand since it was loaded
    certificate = db.session.scalar(
        select(Certificate.token).where(
            Certificate.entry_id == entry.id, Certificate.kind == CertificateKind.AWARD
        )
    )
    return DemoLinks(
        result=f"/r/{entry.qr_token}", certificate=f"/c/{certificate}" if certificate else ""
    )


def load_demo_results(*, now: datetime | None = None) -> tuple[bool, DemoLinks]:
    """Add the 车工 event (E03) to the demo, run to the end; ``load_demo`` must have run.

    Idempotent: returns (created, links). Everything goes through the services a user's click
    would call, dated as if the event was held ``DAYS_AGO`` days before ``now``. Flushes; the
    caller commits.
    """
    existing = lathe_event()
    if existing is not None:
        return False, demo_links(existing)
    competition = db.session.scalar(select(Competition).where(Competition.name == DEMO_NAME))
    if competition is None:
        raise RuntimeError("load_demo must run before load_demo_results")
    now = now or datetime.now(UTC)
    event = _LatheRun(competition, now).run()
    return True, demo_links(event)


class _LatheRun:
    """One pass through the 车工 event's life, each step at its own (past) time."""

    def __init__(self, competition: Competition, now: datetime):
        from zoneinfo import ZoneInfo

        self.competition = competition
        self.rng = random.Random(2026_03)
        self.zone = ZoneInfo(BEIJING)
        day = (now.astimezone(self.zone) - timedelta(days=DAYS_AGO)).date()
        self.start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=self.zone).astimezone(UTC)
        self.users = _users(*(a[0] for a in ACCOUNTS))
        electrician = next(e for e in competition.events if e.code == "E01")
        self.units = list(  # the demo's units, in the order they were made
            db.session.scalars(
                select(Unit)
                .join(UnitQuota, UnitQuota.unit_id == Unit.id)
                .where(UnitQuota.event_id == electrician.id)
                .order_by(Unit.id)
            )
        )

    def at(self, days: float = 0, hours: float = 0) -> datetime:
        """A moment counted from 09:00 (Beijing) on the day the event was held."""
        return self.start + timedelta(days=days, hours=hours)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def step(self, username: str, target, hours: float, days: float = 0) -> None:
        """Move the event on as ``username`` would with the button, guards and all."""
        from .blueprints.competitions.lifecycle import transition_event

        transition_event(
            self.users[username], self.event, target, reason=None, now=self.at(days, hours)
        )

    # ------------------------------------------------------------ the course

    def run(self) -> Event:
        from .domain.lifecycle import EventState as S

        self._setup()
        self.step("organiser", S.REGISTRATION_OPEN, 0, days=-30)
        self._register()
        self.step("organiser", S.REGISTRATION_CLOSED, 0, days=-11)
        self._approve_and_draw()
        self.step("encrypt", S.DRAWN, 2, days=-8)
        self._stations_and_check_in()
        self.step("chief", S.IN_PROGRESS, 0)
        self._theory()
        self._appeal_filed()
        self._marks()
        self._appeal_dismissed()
        self.step("chief", S.SCORING_LOCKED, 11)  # the totals are stored on entering
        self.step("chief", S.UNDER_REVIEW, 11.5)
        self._review()
        self._unseal()
        self.step("supervisor", S.PUBLICITY, 0.5, days=2)  # the publication is stored
        self._final()
        self._awards()
        self._nominations()
        self._decisions()
        self.step("organiser", S.AWARDS_ISSUED, 1, days=self.final_day + 8)
        self._certificates()
        db.session.flush()
        return self.event

    def _setup(self) -> None:
        from .blueprints.admin.services import assign_role

        gd = presets.default_preset()
        national = next(
            p for p in presets.ensure_builtin_presets() if p.key == "national_comprehensive"
        )
        self.event = services.create_event(
            None,
            self.competition,
            code=LATHE_CODE,
            name="车工（职工组）",
            occupation="车工",
            occupation_code="6-18-01-01",
            standard_grade=3,
            group="employee",
            team_size=1,
            preset_version=gd.latest,
            registration_deadline=self.at(-12),
            start_at=self.at(0),
            end_at=self.at(0, 7.5),
            venue="机械加工实训中心",
        )
        _scheme(None, self.event, LATHE_SCHEME)
        nationals = db.session.scalar(select(Competition).where(Competition.name == NATIONAL_NAME))
        self.national_event = services.create_event(
            None,
            nationals,
            code="N02",
            name="车工",
            occupation="车工",
            occupation_code="6-18-01-01",
            standard_grade=4,
            group="employee",
            team_size=1,
            preset_version=national.latest,
        )
        self.link = services.link_selection(None, self.event, self.national_event, quota=2)
        for username, _display, role, scope, _label in ACCOUNTS:
            if scope == "event":
                assign_role(None, self.users[username], role=role, event_id=self.event.id)

    def _register(self) -> None:
        from .blueprints.registration import services as registration
        from .blueprints.registration.importer import MemberInput
        from .domain.idnumber import IdType
        from .models import Person

        for unit in self.units:
            registration.set_quota(None, self.event, unit, quota=4)
        taken = set(db.session.scalars(select(Person.id_number)))
        people = [p for p in demo_people(LATHE_ENTRIES + 20, seed=2603) if p[2] not in taken]
        people = people[:LATHE_ENTRIES]
        # Strength decides the marks: evenly spread, shuffled over the entries, and one
        # contestant whose piece went wrong (below the pass mark of 60).
        strengths = [Decimal("0.95") - Decimal("0.0088") * i for i in range(LATHE_ENTRIES - 1)]
        strengths.append(Decimal("0.45"))
        order = list(range(LATHE_ENTRIES))
        self.rng.shuffle(order)
        self.strength: dict[int, Decimal] = {}
        self.entries = []
        for index, (name, sex, number, phone) in enumerate(people):
            unit = self.units[index % len(self.units)]
            place = order[index]  # 0 = the strongest
            born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            member = MemberInput(
                name=name,
                gender=sex,
                id_type=IdType.RESIDENT_ID,
                id_number=number,
                birth_date=born,
                phone=phone,
                current_grade=LATHE_GRADES[place % len(LATHE_GRADES)],
                grade_certificate_no=f"S{2019 + index % 6}0440{9000 + index:05d}",
                employer=unit.name,
                row=0,
            )
            entry = registration.register_entry(
                None, self.event, unit, members=[member], coaches=[f"{name[0]}师傅"]
            )
            entry.created_at = self.at(-28, index * 0.5)
            self.strength[entry.id] = strengths[place]
            self.entries.append(entry)

    def _approve_and_draw(self) -> None:
        from .blueprints.judging.pool import add_member_manually, draw_panel_for_event
        from .blueprints.registration import services as registration
        from .models import Judge, PanelRole

        organiser = self.users["organiser"]
        for index, entry in enumerate(self.entries):
            registration.decide_entry(
                organiser, entry, decision="approve", now=self.at(-10, index * 0.1)
            )
        registration.draw_entry_numbers(
            self.users["encrypt"], self.event, seed="demo-2026-E03", prefix="L"
        )
        # The panel: the demo's judge accounts, seated here too. The five marking judges are the
        # pool's 车工 judges, drawn (a replayable draw); the others are engaged by the organiser.
        judges = {
            judge.user_id: judge
            for judge in db.session.scalars(select(Judge).where(Judge.user_id.is_not(None)))
        }
        for username in MARKING_JUDGES:
            judge = judges[self.users[username].id]
            if "车工" not in (judge.occupations or []):
                judge.occupations = [*(judge.occupations or []), "车工"]
        db.session.flush()
        draw_panel_for_event(
            organiser, self.event, seed="demo-2026-E03-panel", size=5, now=self.at(-9, 2)
        )
        reasons = {
            PanelRole.CHIEF: "组委会聘任裁判长",
            PanelRole.ENCRYPTION: "组委会指定加密裁判",
            PanelRole.SUPERVISOR: "组委会指定监督仲裁人员",
            PanelRole.RECORDER: "组委会指定检录及计分裁判",
        }
        for username, role in JUDGE_ACCOUNTS.items():
            role = PanelRole(role)
            if role in reasons:
                add_member_manually(
                    organiser,
                    self.event,
                    judge_id=judges[self.users[username].id].id,
                    role=role,
                    module_code=None,
                    reason=reasons[role],
                )

    def _stations_and_check_in(self) -> None:
        from .blueprints.judging import services as judging
        from .blueprints.registration import services as registration
        from .models import ReviewCode

        registration.draw_station_numbers(
            self.users["encrypt"],
            self.event,
            sessions=[(1, 20), (2, 20)],
            seed="demo-2026-E03-stations",
        )
        recorder = self.users["recorder"]
        for index, entry in enumerate(self.entries):
            registration.check_in(
                recorder, self.event, entry, method="qr", now=self.at(0, -0.75 + index * 0.01)
            )
        judging.assign_review_codes(self.users["encrypt"], self.event, seed="demo-2026-E03-codes")
        self.codes = dict(
            db.session.execute(
                select(ReviewCode.entry_id, ReviewCode.code).where(
                    ReviewCode.event_id == self.event.id
                )
            ).all()
        )

    def _theory(self) -> None:
        """The theory paper (sat the day before), marked and entered by the organiser."""
        from .blueprints.results.inputs import record_input
        from .models import InputKind

        organiser = self.users["organiser"]
        self.theory: dict[int, Decimal] = {}
        for entry in self.entries:
            raw = float(self.strength[entry.id]) * 100 + self.rng.gauss(0, 5)
            value = Decimal(round(min(99.0, max(35.0, raw)) * 2)) / 2
            self.theory[entry.id] = value
        self._plan_tie()
        for index, entry in enumerate(self.entries):
            record_input(
                organiser,
                self.event,
                entry=entry,
                kind=InputKind.THEORY,
                value=self.theory[entry.id],
                reason=None,
                now=self.at(0, 3 + index * 0.01),
            )

    def _plan_tie(self) -> None:
        """Two contestants of about the tenth strength will tie on the final score: same
        theory score, same marks except one mark more on 模块A and one less on 模块D."""
        by_strength = sorted(self.entries, key=lambda e: -self.strength[e.id])
        self.tie = (by_strength[9].id, by_strength[10].id)
        self.theory[self.tie[1]] = self.theory[self.tie[0]]

    def _marks(self) -> None:
        """Every marking judge marks every code on every criterion, one batch per judge."""
        from .blueprints.judging import services as judging

        criteria = judging._scheme_criteria(self.event)
        plan: dict[tuple[int, int], list[Decimal]] = {}  # (entry, criterion) -> judge marks
        for entry in self.entries:
            for criterion in criteria:
                plan[(entry.id, criterion.id)] = self._cell(entry, criterion)
        self._copy_for_tie(plan, criteria)
        for number, username in enumerate(MARKING_JUDGES):
            user = self.users[username]
            batch = []
            for position, entry in enumerate(self.entries):
                for criterion in criteria:
                    batch.append(
                        judging.MarkInput(
                            client_id=f"demo-E03-{self.codes[entry.id]}-{criterion.code}",
                            code=self.codes[entry.id],
                            criterion_id=criterion.id,
                            value=plan[(entry.id, criterion.id)][number],
                            base=None,
                            entered_at=self.at(0, 7.6 + position * 0.03),
                            reason=None,
                            device=f"tablet-{number + 1:02d}",
                        )
                    )
            answers = judging.record_marks(
                user, self.event, batch, now=self.at(0, 9 + number * 0.2)
            )
            refused = [a for a in answers if a.status != "stored"]
            if refused:
                raise RuntimeError(f"demo marks refused: {refused[0]}")

    def _cell(self, entry: Entry, criterion) -> list[Decimal]:
        """Five judges' marks for one criterion: near the contestant's strength; measurement
        marks agree within a step, judgement marks within the tolerance (3 marks)."""
        top, step = Decimal(criterion.max_mark), Decimal(criterion.step)
        centre = float(self.strength[entry.id] * top) + self.rng.gauss(0, 0.05 * float(top))
        base = Decimal(round(centre / float(step))) * step
        marks = []
        for username in MARKING_JUDGES:
            if criterion.kind.value == "judgement":
                offset = JUDGE_LEAN[username] + self.rng.choice((-1, 0, 0, 1))
                offset = max(-3, min(3, offset))
            else:
                offset = self.rng.choice((0, 0, 0, 0, 1, -1))
            # Clamping at 0 or the maximum only narrows the spread.
            marks.append(min(top, max(Decimal(0), base + offset * step)))
        return marks

    def _copy_for_tie(self, plan, criteria) -> None:
        """The second of the pair gets the first's marks, one more on A1 and one less on D1
        from every judge: the same practical score, a better heaviest module (A)."""
        first, second = self.tie
        by_code = {c.code: c for c in criteria}
        for criterion in criteria:
            plan[(second, criterion.id)] = list(plan[(first, criterion.id)])
        a1, d1 = by_code["A1"].id, by_code["D1"].id
        up = 1 if max(plan[(first, a1)]) <= 29 and min(plan[(first, d1)]) >= 1 else -1
        plan[(second, a1)] = [v + up for v in plan[(first, a1)]]
        plan[(second, d1)] = [v - up for v in plan[(first, d1)]]

    def _appeal_filed(self) -> None:
        """The unit contact of 广州市技师学院 appeals within two hours of the end."""
        from .blueprints.results import appeals

        contact = self.users["unit"]
        units = {a.unit_id for a in contact.assignments if a.unit_id}
        entry = next(e for e in self.entries if e.unit_id in units)
        self.appeal = appeals.file_appeal(
            self.users["unit"],
            entry,
            text=(
                "我单位选手在第二场比赛中，所用数控车床主轴出现异响，停机检查约 10 分钟，"
                "影响加工进度。申请核查设备记录并酌情补时。"
            ),
            now=self.at(0, 8.5),
        )

    def _appeal_dismissed(self) -> None:
        from .blueprints.results import appeals

        appeals.decide_appeal(
            self.users["supervisor"],
            self.appeal,
            upheld=False,
            decision=(
                "经监督仲裁组调阅现场录像、设备运行记录并询问现场裁判，该机床运行正常，"
                "停机系选手自行更换刀具所致，不属于设备故障。申诉不成立，维持原评判。"
                "本仲裁为最终决定。"
            ),
            now=self.at(0, 10.5),
        )

    def _review(self) -> None:
        """The supervisor reviews the sample; one error found and corrected (6.67% > 5%), so
        the whole panel's marks are rechecked; then the results are recomputed."""
        from .blueprints.judging.corrections import Correction
        from .blueprints.judging.services import current_marks
        from .blueprints.results import review
        from .blueprints.results import services as results

        supervisor = self.users["supervisor"]
        sample = review.start_review(
            supervisor, self.event, now=self.at(1, 0.5), seed="demo-2026-E03-review"
        )
        picked = next(e for e in sample.entry_ids[sample.top_n :] if e not in self.tie)
        entries = {entry.id: entry for entry in self.entries}
        c1 = next(c for m in self.event.scheme.modules for c in m.criteria if c.code == "C1")
        for index, entry_id in enumerate(list(sample.entry_ids)):
            moment = self.at(1, 1 + index * 0.1)
            if entry_id != picked:
                review.confirm_entry(supervisor, sample, entries[entry_id], now=moment)
                continue
            cells = sorted(
                (Decimal(mark.value), judge)
                for (judge, _entry, criterion), mark in current_marks(
                    self.event, entry_id=entry_id
                ).items()
                if criterion == c1.id
            )
            value, judge = cells[len(cells) // 2]
            fixed = value + 1 if value + 1 <= c1.max_mark else value - 1
            review.correct_entry(
                supervisor,
                sample,
                entries[entry_id],
                [Correction(judge, c1.id, fixed)],
                reason=(
                    f"复核发现该评分裁判 C1 评分表记 {fixed:.0f} 分，系统录入为 {value:.0f} 分，"
                    "按评分表原件更正。"
                ),
                now=moment,
            )
        full = review.current_review(self.event)
        for index, entry_id in enumerate(list(full.entry_ids)):
            review.confirm_entry(
                supervisor, full, entries[entry_id], now=self.at(1, 3 + index * 0.05)
            )
        moment = self.at(1, 6)
        outcome = results.recompute_results(self.event, now=moment)
        self._recompute_record(outcome, moment)

    def _recompute_record(self, outcome, moment: datetime) -> None:
        """What the recompute job stores when it runs (its account, with the judges' leniency),
        for the results pages; the demo runs it in line instead of through the job queue."""
        import uuid

        from .blueprints.results import services as results
        from .models import Job, JobStatus

        summary = outcome.summary(results._coded_entries(self.event))
        summary["leniency"] = results.judge_leniency(self.event, upto=outcome.marks_seq)
        db.session.add(
            Job(
                id=uuid.uuid4().hex,
                kind=results.RECOMPUTE_JOB,
                params={"full": False},
                event_id=self.event.id,
                status=JobStatus.DONE,
                done=2,
                total=2,
                result=summary,
                created_by_id=self.users["supervisor"].id,
                created_at=moment,
                started_at=moment,
                finished_at=moment,
            )
        )
        db.session.flush()

    def _unseal(self) -> None:
        from .blueprints.judging.unseal import LAYERS, unseal_step

        for index, layer in enumerate(LAYERS):
            unseal_step(self.users["encrypt"], self.event, layer, now=self.at(1, 7 + index * 0.2))
            unseal_step(
                self.users["supervisor"], self.event, layer, now=self.at(1, 7.1 + index * 0.2)
            )

    def _final(self) -> None:
        """The day after the publicity window (5 working days) the results become final."""
        from .blueprints.results.services import current_publication
        from .domain.lifecycle import EventState as S

        publication = current_publication(self.event)
        self.final_day = (publication.publicity_end - self.local_day(self.start)).days + 1
        self.step("organiser", S.FINAL, 1, days=self.final_day)

    def _awards(self) -> None:
        """Rank 5 already holds 广东省技术能手 (recorded by hand from 2021): not granted twice.
        Then the awards are allocated and the titles and promotions proposed."""
        from .blueprints.awards import services as awards
        from .blueprints.awards.titles import record_title
        from .blueprints.results.services import stored_results

        organiser = self.users["organiser"]
        rows = {row.rank: row for row in stored_results(self.event) if row.rank is not None}
        fifth = db.session.get(Entry, rows[5].entry_id)
        record_title(
            organiser,
            fifth.members[0].person,
            title="GD_TECH_EXPERT",
            granted_on=date(2021, 12, 20),
            source="2021年广东省职业技能竞赛获奖核准文件",
            approval_ref="粤人社函〔2021〕318号（演示）",
            now=self.at(self.final_day, 1.5),
        )
        awards.allocate_awards(organiser, self.event, now=self.at(self.final_day, 2))
        self.ranked = rows

    def _nominations(self) -> None:
        """Quota 2 for the national 车工 event: rank 2 declines in writing, so ranks 1 and 3 are
        pre-registered there."""
        from .blueprints.competitions import selection

        organiser = self.users["organiser"]
        second = db.session.get(Entry, self.ranked[2].entry_id)
        moment = self.at(self.final_day + 1, 1)
        selection.decline(
            organiser,
            self.link,
            second,
            kind="declined",
            reason="本人因所在企业重点项目生产任务，书面申请放弃参加全国赛选拔集训。",
            now=moment,
        )
        selection.preregister(organiser, self.link, now=moment)

    def _decisions(self) -> None:
        """The provincial department approves the titles but one (its employment proof was not
        supplied in time) and every promotion."""
        from .blueprints.awards import services as awards
        from .blueprints.awards.promotions import event_promotions
        from .blueprints.awards.titles import event_titles
        from .models import GrantStatus

        organiser = self.users["organiser"]
        moment = self.at(self.final_day + 7, 1)
        day = self.local_day(moment)
        proposed = [t for t in event_titles(self.event) if t.status is GrantStatus.PROPOSED]
        if proposed:
            declined = proposed[-1]
            awards.decline_title(
                organiser,
                self.event,
                declined,
                reason="未按期补正劳动合同及社保缴纳证明，暂不予核准。",
                now=moment,
            )
            approved = [t.id for t in proposed[:-1]]
            if approved:
                awards.approve_titles(
                    organiser,
                    self.event,
                    approved,
                    approval_ref="粤人社函〔2026〕512号（演示）",
                    granted_on=day,
                    now=moment,
                )
        promotions = [
            p.id for p in event_promotions(self.event) if p.status is GrantStatus.PROPOSED
        ]
        if promotions:
            awards.approve_promotions(
                organiser,
                self.event,
                promotions,
                approval_ref="粤人社技〔2026〕87号（演示）",
                granted_on=day,
                now=moment,
            )

    def _certificates(self) -> None:
        from .blueprints.awards.certificates import issue_certificates

        issue_certificates(self.users["organiser"], self.event, now=self.at(self.final_day + 8, 2))
