"""Shared helpers of the applicant-side tests (test_works_apply_*.py); no tests here."""
from __future__ import annotations

import io

import pytest

from kepu.extensions import db
from kepu.works.models import Work

HX = {"HX-Request": "true"}
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes(w: int = 40, h: int = 30) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), "white").save(buf, "PNG")
    return buf.getvalue()


def step1_values(**overrides) -> dict:
    values = {"title": "量子计算入门", "work_type": "科普视频", "category": "前沿科技",
              "intro": "用动画讲清量子比特。"}
    values.update(overrides)
    return values


def step2_values(wc, **overrides) -> dict:
    values = {
        "author_name": "张三", "applicant_unit": "北京科普创作中心",
        "unit_address": "北京市海淀区复兴路3号", "contact_name": "李四",
        "contact_phone": "13912345678", "email": "zs@example.com", "job_title": "编辑",
        "unit_type": "省级科协", "channel_id": str(wc.unit.id),
        "highlights": "科学性强，播放量超过100万次。",
        "media_title": ["", "", ""], "media_url": ["", "", ""], "awards": "",
    }
    values.update(overrides)
    return values


def url(work, step=None) -> str:
    if step is None:
        return f"/works/{work.id}"
    return f"/works/{work.id}/step/{step}"


def fresh(work) -> Work:
    db.session.expire_all()
    return db.session.get(Work, work.id)


def post_step(client, work, step, action="save", data=None, version=None, **kw):
    """Post a step form like the browser does (version from the DB unless given)."""
    payload = dict(data or {})
    payload.setdefault("version", str(version if version is not None else fresh(work).version))
    payload.setdefault("step", str(step))
    payload["action"] = action
    return client.post(url(work, step), data=payload, content_type="multipart/form-data", **kw)


def autosave(client, work, step, data=None, version=None):
    payload = dict(data or {})
    payload.setdefault("version", str(version if version is not None else fresh(work).version))
    payload["step"] = str(step)
    return client.post(f"/works/{work.id}/autosave", data=payload, headers=HX)


def new_draft(wc, owner=None, **fields) -> Work:
    """A draft with nothing filled in (as works.new creates it)."""
    values = {"status": "draft", "step": 1, "version": 1, "media_reports": []}
    values.update(fields)
    work = Work(campaign_id=wc.campaign.id, owner_id=(owner or wc.applicant).id, **values)
    db.session.add(work)
    db.session.commit()
    return work


def set_settings(wc, **settings) -> None:
    """Change the edition settings (nested ``limits`` merged)."""
    data = dict(wc.campaign.settings or {})
    if "limits" in settings:
        data["limits"] = {**data.get("limits", {}), **settings.pop("limits")}
    data.update(settings)
    wc.campaign.settings = data
    db.session.commit()


@pytest.fixture
def applicant(wc, auth):
    auth.login_as(wc.applicant)
    return wc.applicant


def attach_required_files(wc, work, owner=None):
    """A cover image and a work file attached to ``work`` (what step 1 requires)."""
    from kepu.files.operations import attach

    owner = owner or wc.applicant
    cover = wc.upload(owner, "cover", png_bytes(), "cover.png")
    wf = wc.upload(owner, "work_file", PDF_BYTES, "作品.pdf")
    attach(cover, "work", work.id, commit=False)
    attach(wf, "work", work.id, commit=False)
    db.session.commit()
    return cover, wf


def filled_draft(wc, step=1, **fields) -> Work:
    """A draft with every field valid and the required files attached."""
    values = dict(step1_values())
    values.update({k: v for k, v in step2_values(wc).items()
                   if k not in ("media_title", "media_url", "channel_id")})
    values.update(fields)
    work = new_draft(wc, channel_id=wc.unit.id, **values)
    work.step = step
    db.session.commit()
    attach_required_files(wc, work)
    return work
