"""A small populated instance for the app-wide hardening tests (tests/core).

``hw`` holds a works and a cases edition with open windows, two recommender units, a
user per role, works and cases in the states the review pages act on, a 推荐码 and an
uploaded file: enough to reach every route that takes an id or a ``next``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from werkzeug.datastructures import FileStorage

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.timeutil import utcnow


def png_bytes(w: int = 4, h: int = 2) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), "white").save(buf, "PNG")
    return buf.getvalue()


@dataclass
class HardeningWorld:
    users: dict
    works: Campaign
    cases: Campaign
    unit: Org
    other_unit: Org
    w_pending: object
    w_reviewed: object
    c_sub: object
    c_rec: object
    code: object
    file: object


def _work(campaign, owner, unit, status, **kw):
    from kepu.works.models import Work

    w = Work(campaign_id=campaign.id, owner_id=owner.id, status=status, channel_id=unit.id,
             title=kw.pop("title", f"作品-{status}"), work_type="科普视频", category="前沿科技",
             intro="简介", author_name="张三", applicant_unit="某单位", unit_address="某地",
             contact_phone="13912345678", unit_type="省级科协", highlights="亮点",
             submitted_at=utcnow(), **kw)
    db.session.add(w)
    return w


def _case(campaign, owner, unit, status, **kw):
    from kepu.cases.models import Case

    c = Case(campaign_id=campaign.id, org_id=unit.id, owner_id=owner.id, status=status,
             name=kw.pop("name", f"案例{status}"), impl_unit="某馆", unit_address="某地",
             contact_name="李四", job_title="馆长", contact_phone="13912340000",
             email="a@example.com", category="activity", subtype="科普讲座", summary="概述",
             details="详细", submitted_at=utcnow(), **kw)
    db.session.add(c)
    return c


@pytest.fixture
def hw(app, make_user) -> HardeningWorld:
    from kepu.cases.models import RecommendCode
    from kepu.files.operations import save_upload

    window = {"window_open": "2020-01-01 00:00", "window_close": "2099-12-31 23:59"}
    works = Campaign(kind="works", year=2026, title="2026作品征集", settings=dict(window))
    cases = Campaign(kind="cases", year=2026, title="2026典赞", settings=dict(window))
    unit = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    other_unit = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([works, cases, unit, other_unit])
    db.session.commit()
    users = {
        "owner": make_user("13900000101", name="申报者"),
        "unit_admin": make_user("13900000103", roles=[("unit_admin", {"org_id": unit.id})]),
        "case_admin": make_user("13900000107", roles=[("case_unit", {"org_id": unit.id})]),
        "national_admin": make_user("13900000110", roles=["national_admin"]),
        "platform_admin": make_user("13900000109", roles=["platform_admin"]),
    }
    owner = users["owner"]
    w_pending = _work(works, owner, unit, "pending")
    w_reviewed = _work(works, owner, unit, "reviewed", selected=True)
    c_sub = _case(cases, owner, unit, "submitted")
    c_rec = _case(cases, owner, unit, "recommended", name="已推荐案例", recommended_at=utcnow())
    code = RecommendCode(campaign_id=cases.id, org_id=unit.id, code="ABCDEFGHJK")
    db.session.add(code)
    db.session.commit()
    stored = save_upload("image", FileStorage(io.BytesIO(png_bytes()), filename="图.png",
                                              content_type="image/png"), owner)
    return HardeningWorld(users, works, cases, unit, other_unit, w_pending, w_reviewed,
                          c_sub, c_rec, code, stored)
