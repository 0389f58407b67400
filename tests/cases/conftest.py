"""Fixtures for the cases tests (owned by the lead).

``cc`` bundles a 2026 cases edition with an open window, two recommender units each
with a 推荐码 and a bound case admin, an implementing-unit user, another user and a
platform admin. ``cc.make_case(...)`` creates a complete case in any state.
"""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass

import pytest
from werkzeug.datastructures import FileStorage

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.timeutil import utcnow

HX = {"HX-Request": "true"}


def jpeg_bytes(w: int, h: int, quality: int = 80) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), (30, 120, 200)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@dataclass
class CasesWorld:
    campaign: Campaign
    unit: Org
    other_unit: Org
    code: object
    other_code: object
    case_admin: object
    other_case_admin: object
    implementer: object
    other_user: object
    admin: object

    def upload(self, owner, field: str, data: bytes, name: str):
        from kepu.files.operations import save_upload

        return save_upload(field, FileStorage(stream=io.BytesIO(data), filename=name), owner)

    def make_case(self, owner=None, status: str = "submitted", unit: Org | None = None,
                  with_photos: bool = True, **fields):
        from kepu.cases.models import F_PHOTO_LANDSCAPE, F_PHOTO_PORTRAIT, Case
        from kepu.files.operations import attach

        owner = owner or self.implementer
        unit = unit or self.unit
        values = dict(
            name="流动科技馆进乡村", impl_unit="某县科技馆", unit_address="某省某县人民路1号",
            contact_name="李四", job_title="馆长", contact_phone="13912340000",
            email="lisi@example.com", category="activity", subtype="科普讲座",
            summary="组织流动科技馆巡展20场，覆盖学生1万人次。", media_reports=[], awards="",
            details="实施、应用及推广情况：……\n成效与创新亮点：……\n经验及思考：……",
        )
        values.update(fields)
        now = utcnow()
        case = Case(campaign_id=self.campaign.id, org_id=unit.id, owner_id=owner.id,
                    status=status, submitted_at=None if status == "draft" else now,
                    recommended_at=now if status in ("recommended", "finalised") else None,
                    **values)
        db.session.add(case)
        db.session.flush()
        if with_photos:
            attach(self.upload(owner, F_PHOTO_LANDSCAPE, jpeg_bytes(80, 50), "横.jpg"),
                   "case", case.id, commit=False)
            attach(self.upload(owner, F_PHOTO_PORTRAIT, jpeg_bytes(50, 80), "竖.jpg"),
                   "case", case.id, commit=False)
        db.session.commit()
        return case


def make_cases_campaign(year: int = 2026, **settings) -> Campaign:
    base = {"window_open": "2020-01-01 00:00", "window_close": "2099-12-31 23:59"}
    base.update(settings)
    c = Campaign(kind="cases", year=year, title=f"{year}年度“典赞·科普中国”科普案例征集",
                 settings=base)
    db.session.add(c)
    db.session.commit()
    return c


@pytest.fixture
def cc(app, make_user) -> CasesWorld:
    from kepu.cases.models import RecommendCode

    campaign = make_cases_campaign()
    unit = Org(name="中国科普作家协会", kind="全国学会")
    other = Org(name="江苏省科学技术协会", kind="省级科协", region_code="32")
    db.session.add_all([unit, other])
    db.session.flush()
    code = RecommendCode(campaign_id=campaign.id, org_id=unit.id,
                         code=secrets.token_hex(4).upper())
    other_code = RecommendCode(campaign_id=campaign.id, org_id=other.id,
                               code=secrets.token_hex(4).upper())
    db.session.add_all([code, other_code])
    db.session.commit()
    return CasesWorld(
        campaign=campaign, unit=unit, other_unit=other, code=code, other_code=other_code,
        case_admin=make_user("13900000021", name="作协案例管理员",
                             roles=[("case_unit", {"org_id": unit.id})]),
        other_case_admin=make_user("13900000022", name="江苏案例管理员",
                                   roles=[("case_unit", {"org_id": other.id})]),
        implementer=make_user("13900000023", name="实施单位用户"),
        other_user=make_user("13900000024", name="其他用户"),
        admin=make_user("13900000025", name="平台管理员", roles=["platform_admin"]),
    )
