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
    # already held: its organiser fills in 补充活动信息 and 活动总结 (partly done here)
    ("青少年航天科普报告会", "省科协", "北京市科学技术协会", "110108", "approved", -5,
     "线下", "科普讲座"),
]

#: 下载资源 of the demo edition: (kind, title, description, link)
RESOURCES = [
    ("guide", "全国科普日平台操作指南（演示）", "信息员发布活动、补充活动信息和填报总结的步骤说明。",
     "https://www.cast.org.cn/"),
    ("example", "往年优秀活动案例选编（演示）", "供活动主办单位参考的往年优秀活动。",
     "https://www.kepuchina.cn/"),
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
    _load_resources(campaign)
    if db.session.scalar(select(func.count(Activity.id)).where(
            Activity.campaign_id == campaign.id)):
        _load_tuiyou(campaign, officer, beijing)
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
        if days < 0:
            _supplement(a)
    db.session.commit()
    click.echo(f"Demo activities: {len(ACTIVITIES)} (every review state; 13800000011 reviews "
               "北京's, 13800000012 is the national admin)")
    _load_tuiyou(campaign, officer, beijing)


def _load_resources(campaign) -> None:
    from .after_models import Resource

    if db.session.scalar(select(func.count(Resource.id)).where(
            Resource.campaign_id == campaign.id)):
        return
    for position, (kind, title, description, url) in enumerate(RESOURCES):
        db.session.add(Resource(campaign_id=campaign.id, kind=kind, title=title,
                                description=description, url=url, position=position))
    db.session.commit()


def _supplement(activity) -> None:
    """An ended activity half-way through 补充活动信息: a media report, the participants
    and two scientists; photos and the summary are left for the demo user."""
    from .after_models import ActivityScientist, ActivitySupplement

    db.session.add(ActivitySupplement(
        activity_id=activity.id,
        media_reports=[{"title": "青少年航天科普报告会在海淀举行（演示）",
                        "url": "https://www.kepuchina.cn/"}],
        participants_offline=180))
    for position, (name, phone, unit, title) in enumerate([
            ("李研究员", "13900000101", "中国科学院某研究所", "研究员"),
            ("王工程师", "13900000102", "某航天研究院", "高级工程师")]):
        db.session.add(ActivityScientist(activity_id=activity.id, position=position,
                                         name=name, phone=phone, unit=unit, title=title))


#: Ended, approved 北京 activities for 推优: (name, hosts, complete). The hosts give the
#: organiser-unit step a 科协 share to watch (the province's own 科协 cannot be
#: recommended by it).
TUIYOU_ACTIVITIES = [
    ("“双碳”科普嘉年华", ["中国科学技术馆（演示）", "北京市海淀区科学技术协会"], True),
    ("脑科学开放实验室", ["北京脑科学与类脑研究所（演示）"], True),
    ("城市森林自然观察", ["北京自然博物馆（演示）", "北京市科学技术协会"], True),
    ("人工智能伦理公开课", ["北京市朝阳区科学技术协会"], True),
    # 总结未交: shown as ineligible with the missing items named
    ("地震科普体验日", ["北京市防震减灾宣教中心（演示）"], False),
]
#: 推优 admins named by phone: 北京's has an account; 广东's registers later (the grant
#: waits for that phone).
TUIYOU_ADMINS = [("11", "北京市推优管理员（演示）", "13800000014", True),
                 ("44", "广东省推优管理员（演示）", "13800000015", False)]


def _load_tuiyou(campaign, officer, beijing) -> None:
    """推优 demo: 北京's and 广东's 推优 admins, 北京's quotas (3 activities, 2 units) and
    five ended activities, four of them complete (eligible)."""
    from ..cli import DEMO_PASSWORD
    from . import tuiyou
    from .tuiyou_models import TuiyouGrant, TuiyouQuota

    if db.session.scalar(select(func.count(TuiyouGrant.id))):
        return
    national = User.by_phone("13800000012")
    for code, name, phone, registered in TUIYOU_ADMINS:
        if registered and User.by_phone(phone) is None:
            user = User(phone=phone, name=name)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.commit()
        tuiyou.grant_by_phone(tuiyou.province_scope(code), name, phone, national)
    if tuiyou.quota_of(campaign.id, "province:11") is None:
        db.session.add(TuiyouQuota(campaign_id=campaign.id, scope_key="province:11",
                                   activities=3, units=2, activities_used=0, units_used=0,
                                   suggested_activities=3, suggested_units=2))
    now = utcnow()
    for i, (name, hosts, complete) in enumerate(TUIYOU_ACTIVITIES):
        start = now - timedelta(days=6 + i)
        a = Activity(
            campaign_id=campaign.id, owner_id=officer.id, status="approved", name=name,
            mode="线下", activity_type="科普讲座", start_at=start,
            end_at=start + timedelta(hours=4), region_code="110108",
            supervisor_category="省科协", supervisor_org_id=beijing.id if beijing else None,
            route_province="11", details=f"{name}：科技工作者现场讲解、互动体验（演示数据）。",
            audience="社区居民、中小学生", contact_name="张老师", contact_phone="010-62345678",
            scientists=[{"name": "李研究员", "unit": "中国科学院某研究所", "title": "研究员"}],
            hosts=[_host(h) for h in hosts], organisers=[{"name": "北京某科普基地（演示）"}],
            filer_unit="北京市海淀区科学技术协会（演示）",
            submitted_at=start - timedelta(days=20), first_submitted_at=start - timedelta(days=20),
            decided_at=start - timedelta(days=15), approved_at=start - timedelta(days=15))
        db.session.add(a)
        db.session.flush()
        from .operations.listing import publish_snapshot

        publish_snapshot(a)
        _complete_supplement(a, officer, filed=complete)
    db.session.commit()
    click.echo("推优: 13800000014 is 北京's 推优 admin (quota 3 activities, 2 units); "
               "广东's is named for 13800000015, who has not registered yet")


def _host(name: str) -> dict:
    org = db.session.scalar(select(Org).where(Org.name == name))
    return {"id": org.id, "name": org.name} if org else {"name": name}


def _complete_supplement(activity, owner, *, filed: bool) -> None:
    """补充活动信息 with a media report, 180 participants, three effect photos and one
    participant photo (real PNGs), and the summary (filed when ``filed``)."""
    import io

    from PIL import Image
    from werkzeug.datastructures import FileStorage

    from ..files.operations import attach, save_upload
    from .after_models import (F_EFFECT_PHOTO, F_PARTICIPANT_PHOTO, SUMMARY_PARTS,
                               ActivitySupplement)
    from .files import field_name

    end = activity.end_at
    db.session.add(ActivitySupplement(
        activity_id=activity.id,
        media_reports=[{"title": f"{activity.name}举行（演示报道）",
                        "url": "https://www.kepuchina.cn/"}],
        participants_offline=180, video_durations={},
        summary={key: f"{label}：{activity.name}（演示）。" for key, label in SUMMARY_PARTS},
        summary_filed_at=(end + timedelta(days=2)) if filed else None))
    colours = [(38, 110, 180), (60, 150, 90), (200, 120, 40), (120, 80, 160)]
    for field, n in ((F_EFFECT_PHOTO, 3), (F_PARTICIPANT_PHOTO, 1)):
        for i in range(n):
            buf = io.BytesIO()
            Image.new("RGB", (480, 320), colours[(i + activity.id) % 4]).save(buf, "PNG")
            buf.seek(0)
            stored = save_upload(field_name(activity.campaign_id, field),
                                 FileStorage(buf, filename=f"{field}-{i + 1}.png",
                                             content_type="image/png"), owner, commit=False)
            attach(stored, "activity", activity.id, commit=False)
