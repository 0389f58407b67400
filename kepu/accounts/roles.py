"""Roles of the grants table. Applicants need no grant: every user owns their entries."""
from __future__ import annotations

PLATFORM_ADMIN = "platform_admin"
NATIONAL_ADMIN = "national_admin"
PROVINCIAL_ADMIN = "provincial_admin"
CITY_ADMIN = "city_admin"
COUNTY_ADMIN = "county_admin"
SOCIETY_ADMIN = "society_admin"
MINISTRY_ADMIN = "ministry_admin"
UNIT_ADMIN = "unit_admin"
EXPERT = "expert"
INFO_OFFICER = "info_officer"
CASE_UNIT = "case_unit"
# 全国科普日 推优 admins (issue 13): of a province (region) or a 全国学会 / 部委 (org)
TUIYOU_ADMIN = "tuiyou_admin"
TUIYOU_ORG_ADMIN = "tuiyou_org_admin"

#: role -> (Chinese label, scope kind: None | "org" | "region" | "campaign")
ROLES: dict[str, tuple[str, str | None]] = {
    PLATFORM_ADMIN: ("平台管理员", None),
    NATIONAL_ADMIN: ("全国管理员（中国科协）", None),
    PROVINCIAL_ADMIN: ("省级科协管理员", "region"),
    CITY_ADMIN: ("市级科协管理员", "region"),
    COUNTY_ADMIN: ("县级科协管理员", "region"),
    SOCIETY_ADMIN: ("全国学会管理员", "org"),
    MINISTRY_ADMIN: ("部委管理员", "org"),
    UNIT_ADMIN: ("推荐单位管理员", "org"),
    EXPERT: ("评审专家", "campaign"),
    INFO_OFFICER: ("科普中国信息员", None),
    CASE_UNIT: ("案例推荐单位管理员", "org"),
    TUIYOU_ADMIN: ("科普日推优管理员（省级）", "region"),
    TUIYOU_ORG_ADMIN: ("科普日推优管理员（学会/部委）", "org"),
}


def label(role: str) -> str:
    return ROLES.get(role, (role, None))[0]
