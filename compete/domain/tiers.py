"""Competition tiers, contestant groups and entry kinds (domain.md §1–2)."""

from __future__ import annotations

from enum import StrEnum

from . import N_


class Tier(StrEnum):
    """The level of a competition in the national system, from WorldSkills to a workplace."""

    WORLDSKILLS = "worldskills"  # 世界技能大赛 (selection)
    NATIONAL_COMPREHENSIVE = "national_comprehensive"  # 全国技能大赛
    NATIONAL_1 = "national_1"  # 国家级一类
    NATIONAL_2 = "national_2"  # 国家级二类 / 全国行业职业技能竞赛
    PROVINCIAL_COMPREHENSIVE = "provincial_comprehensive"  # 省级综合赛
    PROVINCIAL_1 = "provincial_1"  # 省级一类
    PROVINCIAL_2 = "provincial_2"  # 省级二类 (省选拔赛)
    CITY_1 = "city_1"  # 市一类
    CITY_2 = "city_2"  # 市二类
    DISTRICT = "district"  # 区级
    ENTERPRISE_SCHOOL = "enterprise_school"  # 企业/院校 (岗位练兵、技术比武)

    @property
    def label(self) -> str:
        return TIER_LABELS[self]

    @property
    def level(self) -> int:
        """Higher is more senior; a selection feeds an event of a higher level."""
        return TIER_LEVELS[self]


TIER_LABELS = {
    Tier.WORLDSKILLS: N_("WorldSkills selection"),
    Tier.NATIONAL_COMPREHENSIVE: N_("National Skills Competition"),
    Tier.NATIONAL_1: N_("National class 1"),
    Tier.NATIONAL_2: N_("National class 2 (industry)"),
    Tier.PROVINCIAL_COMPREHENSIVE: N_("Provincial comprehensive"),
    Tier.PROVINCIAL_1: N_("Provincial class 1"),
    Tier.PROVINCIAL_2: N_("Provincial class 2"),
    Tier.CITY_1: N_("City class 1"),
    Tier.CITY_2: N_("City class 2"),
    Tier.DISTRICT: N_("District"),
    Tier.ENTERPRISE_SCHOOL: N_("Enterprise or school"),
}

TIER_LEVELS = {
    Tier.WORLDSKILLS: 9,
    Tier.NATIONAL_COMPREHENSIVE: 8,
    Tier.NATIONAL_1: 7,
    Tier.NATIONAL_2: 6,
    Tier.PROVINCIAL_COMPREHENSIVE: 5,
    Tier.PROVINCIAL_1: 4,
    Tier.PROVINCIAL_2: 4,
    Tier.CITY_1: 3,
    Tier.CITY_2: 3,
    Tier.DISTRICT: 2,
    Tier.ENTERPRISE_SCHOOL: 1,
}


class Group(StrEnum):
    """Contestant group; each group is ranked separately (职工组/学生组/教师组)."""

    EMPLOYEE = "employee"
    STUDENT = "student"
    TEACHER = "teacher"

    @property
    def label(self) -> str:
        return GROUP_LABELS[self]


GROUP_LABELS = {
    Group.EMPLOYEE: N_("Employee group"),
    Group.STUDENT: N_("Student group"),
    Group.TEACHER: N_("Teacher group"),
}
