"""Demo data of 全国科普日 for ``flask kepu demo`` (idempotent): an edition with open
windows, a provincial admin of 北京, the national admin, a society admin, an info officer,
and activities in every state to click through."""
from __future__ import annotations

from datetime import timedelta

import click
from sqlalchemy import func, select

from ..accounts.models import User
from ..accounts.operations import grant_role
from ..extensions import db
from ..orgs.models import Org
from ..timeutil import utcnow
from .models import Activity, InfoOfficer
from .operations.editions import ensure_edition
from .routing import route_province

OPEN_WINDOWS = {key: {"open": "2026-08-15 00:00", "close": close} for key, close in (
    ("filing", "2026-12-31 23:59:59"), ("supplement", "2027-01-15 23:59:59"),
    ("summary", "2027-01-15 23:59:59"), ("annual_report", "2027-01-15 23:59:59"),
    ("recommend", "2027-01-31 23:59:59"))}

#: phone, name, role, scope
PEOPLE = [
    ("13800000011", "北京市科协审核员（演示）", "provincial_admin", {"region_code": "11"}),
    ("13800000012", "中国科协审核员（演示）", "national_admin", {}),
    ("13800000013", "科普中国信息员（演示）", "info_officer", {}),
    # the busiest demo user also administers a 全国学会's 归口 activities
    ("13800000003", None, "society_admin", {"org": "中国科普作家协会"}),
]

# name, 归口 category, 归口 org, region, status, days ahead, mode, type, food safety
ACTIVITIES = [
    ("食品安全进社区：读懂配料表", "省科协", "北京市科学技术协会", "110105", "province_pending", 20,
     "线下", "科普讲座"),
    # a district of a 直辖市 picks 市科协 (seed 001 三.5)
    ("走进中关村：人工智能开放日", "市科协", None, "110108", "province_pending", 5,
     "线下", "科技馆/基地开放"),
    ("北京天文馆星空夜", "省科协", "北京市科学技术协会", "110102", "national_pending", 12,
     "线上线下", "科普展览"),
    ("湿地鸟类观察研学", "省科协", "北京市科学技术协会", "110113", "province_rejected", 15,
     "线下", "科普研学"),
    ("应急避险科普体验营", "省科协", "北京市科学技术协会", "110106", "approved", 9,
     "线下", "科学实验与体验"),
    ("科普作家进校园", "全国学会", "中国科普作家协会", "110101", "national_pending", 14,
     "线下", "科普讲座"),
    ("科幻写作线上公开课", "全国学会", "中国科普作家协会", "11", "approved", 7,
     "线上", "网络科普"),
    ("社区健康讲堂（草稿）", "省科协", "北京市科学技术协会", "110105", "draft", 25,
     "线下", "科普讲座"),
]


def load() -> None:
    campaign, created = ensure_edition(2026, **OPEN_WINDOWS)
    if created:
        campaign.settings = {**campaign.settings,
                             "theme": "提升全民科学素质，助力科技自立自强（演示主题）"}
        db.session.commit()
    click.echo("Science Day edition 2026: "
               + ("created (demo windows open until 2026-12-31)" if created else "exists"))
    for phone, name, role, scope in PEOPLE:
        user = User.by_phone(phone)
        if user is None:
            from ..cli import DEMO_PASSWORD

            user = User(phone=phone, name=name or phone)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
        org_id = None
        if "org" in scope:
            org = db.session.scalar(select(Org).where(Org.name == scope["org"]))
            org_id = org.id if org else None
            if org_id is None:
                continue
        if not user.has_role(role, org_id=org_id, region_code=scope.get("region_code")):
            grant_role(user, role, org_id=org_id, region_code=scope.get("region_code"))
    officer = User.by_phone("13800000013")
    beijing = db.session.scalar(select(Org).where(Org.name == "北京市科学技术协会"))
    if db.session.scalar(select(InfoOfficer.id).where(InfoOfficer.user_id == officer.id)) is None:
        db.session.add(InfoOfficer(user_id=officer.id, org_id=beijing.id if beijing else None,
                                   unit_name="北京市海淀区科学技术协会（演示）"))
    db.session.commit()
    if db.session.scalar(select(func.count(Activity.id)).where(
            Activity.campaign_id == campaign.id)):
        return
    now = utcnow()
    for name, category, org_name, region, status, days, mode, kind in ACTIVITIES:
        org = (db.session.scalar(select(Org).where(Org.name == org_name)) if org_name
               else db.session.scalar(select(Org).where(
                   Org.region_code == region, Org.kind.in_(("市级科协", "县级科协")))))
        start = now + timedelta(days=days)
        submitted = None if status == "draft" else now - timedelta(hours=len(name))
        a = Activity(
            campaign_id=campaign.id, owner_id=officer.id, status=status, name=name, mode=mode,
            activity_type=kind, start_at=start, end_at=start + timedelta(hours=3),
            region_code=region, supervisor_category=category,
            supervisor_org_id=org.id if org else None,
            route_province=route_province(category, org, region),
            food_safety="食品安全" in name, short_notice=days < 7,
            details=f"{name}将邀请科技工作者现场讲解与互动体验，面向公众开放（演示数据）。",
            audience="社区居民、中小学生", contact_name="张老师", contact_phone="010-62345678",
            scientists=[{"name": "李研究员", "unit": "中国科学院某研究所", "title": "研究员"}],
            hosts=[{"id": beijing.id, "name": beijing.name}] if beijing else [{"name": "北京市科学技术协会"}],
            organisers=[{"name": "北京某科普基地（演示）"}],
            filer_unit="北京市海淀区科学技术协会（演示）", submitted_at=submitted,
            first_submitted_at=submitted,
            reject_reason="活动详情未写明参与的科技工作者，请补充。" if "rejected" in status else "",
            approved_at=now if status == "approved" else None)
        db.session.add(a)
        db.session.flush()
        if status == "approved":
            from .operations.listing import publish_snapshot

            publish_snapshot(a)
    db.session.commit()
    click.echo(f"Demo activities: {len(ACTIVITIES)} (every review state; 13800000011 reviews "
               "北京's, 13800000012 is the national admin)")
