"""全国科普日 public site (seed 002 三(三)): home, list with Chinese keyword search and
filters, detail; only 已通过 and listed activities, read from the approved snapshot."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day.models import Activity, ActivityPublic, ActivityPublicTally
from kepu.science_day.operations import search
from kepu.science_day.operations.listing import publish_snapshot
from kepu.science_day.routing import route_province
from kepu.timeutil import utcnow

HX = {"HX-Request": "true"}


@dataclass
class Pub:
    campaign: Campaign
    bj: Org
    gz: Org
    officer: object
    national: object

    def make(self, name="科普讲座", region="110105", status="approved", days=10, hours=3,
             mode="线下", kind="科普讲座", supervisor=None, category="省科协", hosts=None,
             publish=True, **kw):
        org = supervisor or self.bj
        now = utcnow()
        a = Activity(campaign_id=self.campaign.id, owner_id=self.officer.id, status=status,
                     name=name, mode=mode, activity_type=kind,
                     start_at=now + timedelta(days=days),
                     end_at=now + timedelta(days=days, hours=hours), region_code=region,
                     supervisor_category=category, supervisor_org_id=org.id,
                     route_province=route_province(category, org, region),
                     hosts=hosts if hosts is not None else [{"name": "某某科技馆"}],
                     audience="中小学生", details="活动将……\n第二行",
                     scientists=[{"name": "张院士", "unit": "某研究所", "title": "研究员"}],
                     contact_name="李老师", contact_phone="010-12345678",
                     submitted_at=now, approved_at=now if status == "approved" else None,
                     **kw)
        db.session.add(a)
        db.session.flush()
        if publish and status == "approved":
            publish_snapshot(a)
        db.session.commit()
        return a


@pytest.fixture
def pub(app, make_user) -> Pub:
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={"theme": "提升全民科学素质"})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11",
             certifications=["全国科普示范县（市、区）"])
    gz = Org(name="广州市科学技术协会", kind="市级科协", region_code="4401")
    db.session.add_all([campaign, bj, gz])
    db.session.commit()
    return Pub(campaign, bj, gz,
               officer=make_user("13900000701", name="信息员", roles=["info_officer"]),
               national=make_user("13900000702", name="全国审核", roles=["national_admin"]))


def names(html: str) -> list[str]:
    return re.findall(r'class="sdp-card-title">([^<]+)<', html)


def listing(client, **args) -> list[str]:
    resp = client.get("/science-day/events/", query_string=args)
    assert resp.status_code == 200
    return names(resp.get_data(as_text=True))


# --- tokens ---------------------------------------------------------------------------

def test_bigrams_and_queries():
    assert search.bigrams("科普讲座") == "科普 普讲 讲座 座"
    assert search.bigrams("5G 科普", "AI") == "5g 科普 普 ai"
    assert search.query_terms("量子力学") == [("phrase", ["量子", "子力", "力学"])]
    assert search.query_terms("量") == [("prefix", ["量"])]
    assert search.fts5_query(search.query_terms("AI 量子")) == '"ai" AND "量子"'
    assert search.tsquery(search.query_terms("量子 学")) == "('量子') & '学':*"
    assert search.query_terms("!!!") == []


# --- what is public -----------------------------------------------------------------------

def test_only_approved_listed_activities_are_public(pub, client):
    shown = pub.make("通过的活动")
    pending = pub.make("待审核的活动", status="national_pending")
    draft = pub.make("草稿活动", status="draft")
    hidden = pub.make("下架的活动", listed=False)
    assert listing(client) == ["通过的活动"]
    assert client.get(f"/science-day/events/{shown.id}").status_code == 200
    for a in (pending, draft, hidden):
        assert client.get(f"/science-day/events/{a.id}").status_code == 404
    assert client.get("/science-day/events/999999").status_code == 404


def test_home_shows_theme_counts_and_search(pub, client):
    pub.make("甲", mode="线上")
    pub.make("乙", region="440111", supervisor=pub.gz, category="市科协")
    pub.make("丙", status="national_pending")
    html = client.get("/science-day/").get_data(as_text=True)
    assert "2026年全国科普日" in html and "提升全民科学素质" in html
    assert 'name="q"' in html
    assert re.search(r'sdp-figure-value">2<', html)             # two public activities
    assert "/science-day/events/?province=44" in html


def test_detail_shows_the_approved_version_with_certified_organisers(pub, client):
    a = pub.make("原来的名称", booking=True, booking_url="https://example.com/book",
                 hosts=[{"id": pub.bj.id, "name": "北京市科学技术协会"}, {"name": "某学校"}])
    html = client.get(f"/science-day/events/{a.id}").get_data(as_text=True)
    assert "原来的名称" in html and "已认证" in html and "https://example.com/book" in html
    assert "北京市朝阳区" in html and "张院士" in html and "李老师" in html
    # an edit under review changes the activity, never the public page
    a.name, a.status = "修改后的名称", "national_pending"
    db.session.commit()
    html = client.get(f"/science-day/events/{a.id}").get_data(as_text=True)
    assert "原来的名称" in html and "修改后的名称" not in html
    assert listing(client, q="原来") == ["原来的名称"] and listing(client, q="修改后") == []
    # approved again: the new version is public
    a.status = "approved"
    publish_snapshot(a)
    db.session.commit()
    assert listing(client, q="修改后") == ["修改后的名称"] and listing(client, q="原来") == []


# --- search ---------------------------------------------------------------------------------

def test_chinese_keyword_search(pub, client):
    pub.make("量子力学科普讲座")
    pub.make("走进黑洞", hosts=[{"name": "中国科学院国家天文台"}])
    pub.make("AI 与生活", region="440111", supervisor=pub.gz, category="市科协")
    assert listing(client, q="量子") == ["量子力学科普讲座"]          # two characters
    assert listing(client, q="力学科普") == ["量子力学科普讲座"]       # inside the name
    assert listing(client, q="量力") == []                             # not contiguous
    assert listing(client, q="天文台") == ["走进黑洞"]                 # a host's name
    assert listing(client, q="广州") == ["AI 与生活"]                  # the place
    assert listing(client, q="ai") == ["AI 与生活"]                    # latin, any case
    assert listing(client, q="黑") == ["走进黑洞"]                     # one character
    assert sorted(listing(client, q="讲座 量子")) == ["量子力学科普讲座"]
    assert listing(client, q="量子", province="44") == []
    resp = client.get("/science-day/events/", query_string={"q": "！？"})
    assert "请输入汉字、字母或数字" in resp.get_data(as_text=True)


def test_active_search_returns_only_the_results(pub, client):
    pub.make("量子力学科普讲座")
    resp = client.get("/science-day/events/?q=量子", headers=HX)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith('<section id="public-results"')
    assert "量子力学科普讲座" in html and "HX-Request" in resp.headers.get("Vary", "")


# --- filters ----------------------------------------------------------------------------------

def test_filters(pub, client):
    pub.make("朝阳线下", region="110105")
    pub.make("海淀线上", region="110108", mode="线上", kind="科普展览")
    pub.make("白云线下", region="440111", supervisor=pub.gz, category="市科协")
    pub.make("已结束的", region="440106", supervisor=pub.gz, category="市科协", days=-5)
    pub.make("进行中的", region="440106", supervisor=pub.gz, category="市科协", days=0,
             hours=5)
    assert sorted(listing(client, province="11")) == ["朝阳线下", "海淀线上"]
    assert sorted(listing(client, province="44", city="4401", county="440111")) == ["白云线下"]
    # a city of another province (stale after the province changed) is ignored
    assert sorted(listing(client, province="11", city="4401")) == ["朝阳线下", "海淀线上"]
    assert listing(client, mode="线上") == ["海淀线上"]
    assert listing(client, type="科普展览") == ["海淀线上"]
    assert listing(client, type="不存在的类型") != []                  # ignored, not an error
    assert listing(client, status="ended") == ["已结束的"]
    assert listing(client, status="ongoing") == ["进行中的"]
    assert sorted(listing(client, status="upcoming")) == ["朝阳线下", "海淀线上", "白云线下"]
    today = (utcnow() + timedelta(hours=8)).date()
    assert listing(client, date_from=str(today - timedelta(days=6)),
                   date_to=str(today - timedelta(days=4))) == ["已结束的"]
    html = client.get("/science-day/events/?date_from=2026-13-45").get_data(as_text=True)
    assert "请按“年-月-日”填写日期" in html and 'aria-invalid="true"' in html
    html = client.get("/science-day/events/?date_from=2026-09-20&date_to=2026-09-10"
                      ).get_data(as_text=True)
    assert "结束日期不能早于开始日期" in html


def test_pages_and_counts(pub, client):
    for i in range(25):
        pub.make(f"活动{i:02d}", days=10 + i)
    html = client.get("/science-day/events/").get_data(as_text=True)
    assert "共 <strong>25</strong> 项活动" in html and "第 1 / 2 页" in html
    assert names(html)[0] == "活动24"                                 # latest start first
    page2 = names(client.get("/science-day/events/?page=2").get_data(as_text=True))
    assert page2 == [f"活动{i:02d}" for i in (4, 3, 2, 1, 0)]
    upcoming = names(client.get("/science-day/events/?status=upcoming"
                                ).get_data(as_text=True))
    assert upcoming[0] == "活动00"                                    # soonest first
    assert client.get("/science-day/events/?page=abc").status_code == 200
    assert client.get("/science-day/events/?page=99").status_code == 200


def test_tallies_follow_every_change(pub, client):
    a = pub.make("甲")
    b = pub.make("乙", mode="线上")
    pub.make("丙", region="440111", supervisor=pub.gz, category="市科协")

    def tallied():
        db.session.expire_all()
        return {(t.province_code, t.mode): t.n for t in db.session.scalars(
            select(ActivityPublicTally)) if t.n}

    assert tallied() == {("11", "线下"): 1, ("11", "线上"): 1, ("44", "线下"): 1}
    row = db.session.get(ActivityPublic, a.id)
    row.listed = False
    db.session.commit()
    assert tallied() == {("11", "线上"): 1, ("44", "线下"): 1}
    b.mode = "线下"
    publish_snapshot(b)
    db.session.commit()
    assert tallied() == {("11", "线下"): 1, ("44", "线下"): 1}
    db.session.delete(db.session.get(ActivityPublic, b.id))
    db.session.commit()
    assert tallied() == {("44", "线下"): 1}
    listed = db.session.scalar(select(func.count()).select_from(ActivityPublic).where(
        ActivityPublic.listed.is_(True)))
    assert sum(tallied().values()) == listed


def test_other_editions_by_year(pub, client):
    pub.make("今年的活动")
    old = Campaign(kind="science_day", year=2025, title="2025年全国科普日", settings={})
    db.session.add(old)
    db.session.commit()
    assert listing(client, year="2025") == []
    assert client.get("/science-day/?year=2025").status_code == 200
    assert client.get("/science-day/?year=1999").status_code == 404
    assert client.get("/science-day/?year=abc").status_code == 404


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_poster_is_public_only_with_its_activity(pub, client, app):
    from kepu.files.models import StoredFile
    from kepu.files.storage import path_for

    data = _png()
    stored = StoredFile(owner_id=pub.officer.id, field=f"science_day:{pub.campaign.id}:poster",
                        original_name="海报.png", stored_name="poster-test.png", ext="png",
                        content_type="image/png", size=len(data), sha256="ab" * 32,
                        entity_type="activity")
    db.session.add(stored)
    db.session.commit()
    path = path_for(stored.stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    a = pub.make("有海报的活动", publish=False)
    stored.entity_id = a.id
    publish_snapshot(a)
    db.session.commit()
    assert db.session.get(ActivityPublic, a.id).poster_file_id == stored.id
    url = f"/science-day/events/{a.id}/images/{stored.id}"
    assert client.get(url).status_code == 200
    thumb = client.get(url + "?thumb=1")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    from PIL import Image

    assert Image.open(io.BytesIO(thumb.data)).size == (480, 360)
    other = pub.make("别的活动")
    assert client.get(f"/science-day/events/{other.id}/images/{stored.id}"
                      ).status_code == 404
    db.session.get(ActivityPublic, a.id).listed = False
    db.session.commit()
    assert client.get(url).status_code == 404


def test_home_without_an_edition(app, client):
    resp = client.get("/science-day/")
    assert resp.status_code == 200 and "尚未发布" in resp.get_data(as_text=True)
    assert client.get("/science-day/events/").status_code == 404


def test_capped_keyword_count_still_pages_on(pub, client, monkeypatch):
    monkeypatch.setattr(search, "KEYWORD_COUNT_CAP", 5)
    for i in range(25):
        pub.make(f"量子活动{i:02d}")
    html = client.get("/science-day/events/?q=量子").get_data(as_text=True)
    assert "共 <strong>5+</strong> 项活动" in html and "下一页" in html
    assert names(html)[0] == "量子活动24"                              # newest first
    html = client.get("/science-day/events/?q=量子&page=2").get_data(as_text=True)
    assert len(names(html)) == 5 and "下一页" not in html and "上一页" in html
