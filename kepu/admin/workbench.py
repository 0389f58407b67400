"""The platform area on the workbench (平台管理: pending approvals) and the platform
sections of the admin side menu. Campaign sections come from the campaigns
(``kepu.workbench.register_campaign``)."""
from __future__ import annotations

from ..workbench import (Card, Count, Link, MenuSection, register, register_admin_section,
                         url_or_none)
from . import operations as ops


def cards(user) -> list[Card]:
    if not user.is_platform_admin:
        return []
    counts = ops.dashboard_counts()
    apps = url_or_none("orgs.admin_applications")
    orgs = url_or_none("orgs.admin_orgs")
    card = Card(key="admin.platform", title="平台管理", subtitle="审批与用户", order=50)
    card.counts = [
        Count("推荐单位管理员申请待审核", counts["pending_applications"], apps, "todo"),
        Count("待审核单位", counts["pending_orgs"], orgs and f"{orgs}?status=pending", "todo"),
        Count("注册用户", counts["users"], url_or_none("admin.users")),
    ]
    home = url_or_none("admin.index")
    if counts["pending_applications"] and apps:
        card.action = Link("审核推荐单位管理员申请", apps)
    elif home:
        card.action = Link("进入管理后台", home)
    if home and card.action and card.action.url != home:
        card.links.append(Link("管理后台", home))
    return [card]


register(cards, key="admin")
register_admin_section("platform", MenuSection(
    title="平台", order=10,
    items=[("admin.index", "管理首页"), ("admin.users", "用户与角色"),
           ("orgs.admin_applications", "推荐单位管理员审核"), ("orgs.admin_orgs", "组织库"),
           ("orgs.admin_import", "导入组织库")]))
