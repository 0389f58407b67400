"""Fixtures for the works-call tests (owned by the lead; helpers add their own
fixtures in their own test modules).

``wc`` bundles a 2026 edition with an open window, two recommender units with their
admins, an applicant, two experts and a platform admin. ``wc.make_work(...)``
creates a complete work (every required field, a cover image and a work file) in
any state, straight in the database.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from werkzeug.datastructures import FileStorage

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.timeutil import utcnow

HX = {"HX-Request": "true"}


def png_bytes(w: int = 40, h: int = 30, color: str = "white") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class WorksWorld:
    campaign: Campaign
    unit: Org
    other_unit: Org
    unit_admin: object
    other_unit_admin: object
    applicant: object
    other_applicant: object
    expert: object
    expert2: object
    admin: object
    made: list = field(default_factory=list)

    def upload(self, owner, field_key: str, data: bytes, name: str):
        from kepu.files.operations import save_upload
        from kepu.works.files import field_name

        fs = FileStorage(stream=io.BytesIO(data), filename=name)
        return save_upload(field_name(self.campaign.id, field_key), fs, owner)

    def make_work(self, owner=None, status: str = "pending", channel: Org | None = None,
                  with_files: bool = True, **fields):
        from kepu.files.operations import attach
        from kepu.works.models import Work

        owner = owner or self.applicant
        channel = channel or self.unit
        values = dict(
            title="量子计算入门", work_type="科普视频", category="前沿科技",
            intro="用动画讲清量子比特。", author_name="张三", applicant_unit="北京科普创作中心",
            unit_address="北京市海淀区复兴路3号", contact_name="张三",
            contact_phone="13912345678", email="zhangsan@example.com", job_title="编辑",
            unit_type="省级科协", highlights="科学性强，播放量超过100万次。",
            media_reports=[], awards="",
        )
        values.update(fields)
        now = utcnow()
        work = Work(campaign_id=self.campaign.id, owner_id=owner.id, status=status,
                    channel_id=channel.id if channel else None, step=3,
                    submitted_at=None if status == "draft" else now, **values)
        db.session.add(work)
        db.session.flush()
        if with_files:
            cover = self.upload(owner, "cover", png_bytes(), "cover.png")
            wf = self.upload(owner, "work_file", PDF_BYTES, "作品.pdf")
            attach(cover, "work", work.id, commit=False)
            attach(wf, "work", work.id, commit=False)
        db.session.commit()
        self.made.append(work)
        return work


def make_campaign(kind: str = "works", year: int = 2026, **settings) -> Campaign:
    base = {"window_open": "2020-01-01 00:00", "window_close": "2099-12-31 23:59"}
    base.update(settings)
    c = Campaign(kind=kind, year=year, title=f"{year}年全国优质科普作品征集", settings=base)
    db.session.add(c)
    db.session.commit()
    return c


@pytest.fixture
def wc(app, make_user) -> WorksWorld:
    campaign = make_campaign()
    unit = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    other = Org(name="上海市科学技术协会", kind="省级科协", region_code="31")
    db.session.add_all([unit, other])
    db.session.commit()
    return WorksWorld(
        campaign=campaign, unit=unit, other_unit=other,
        unit_admin=make_user("13900000011", name="北京推荐管理员",
                             roles=[("unit_admin", {"org_id": unit.id})]),
        other_unit_admin=make_user("13900000012", name="上海推荐管理员",
                                   roles=[("unit_admin", {"org_id": other.id})]),
        applicant=make_user("13900000013", name="申报者"),
        other_applicant=make_user("13900000014", name="另一申报者"),
        expert=make_user("13900000015", name="专家甲", roles=["expert"]),
        expert2=make_user("13900000016", name="专家乙", roles=["expert"]),
        admin=make_user("13900000017", name="平台管理员", roles=["platform_admin"]),
    )
