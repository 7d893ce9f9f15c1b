"""The demo loaded by ``flask compete seed-demo`` (idempotent): a Guangdong provincial class 2
competition with two events, units, contestants, a judge pool and a national event it feeds."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from .blueprints.admin.services import assign_role
from .blueprints.competitions import presets, schemes, services
from .domain.idnumber import with_check_digit
from .domain.tiers import Tier
from .extensions import db
from .models import Competition, Role, Unit, User

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
    ("chief", "裁判长 陈工", Role.CHIEF_JUDGE, "event", "Chief judge, 电工 event"),
    ("judge1", "评分裁判 1", Role.JUDGE, "event", "Judge 1 of 5, 电工 event"),
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
