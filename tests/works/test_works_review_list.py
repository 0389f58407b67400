"""Unit review list and admin list: scope, filters, search, sort, pagination, fragments."""
from __future__ import annotations

import re
from datetime import timedelta

from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.timeutil import utcnow

HX = {"HX-Request": "true"}


def titles(html: str) -> list[str]:
    return re.findall(r'class="review-title"><a href="[^"]*">([^<]+)</a>', html)


def test_login_required_and_roles(client, auth, wc):
    assert client.get("/works/unit/").status_code in (302, 401)
    auth.login_as(wc.applicant)
    assert client.get("/works/unit/").status_code == 404
    assert client.get("/works/admin/").status_code == 404
    assert client.post("/works/unit/export.xlsx").status_code == 404
    assert client.get("/works/unit/export.csv").status_code == 404
    auth.login_as(wc.unit_admin)
    assert client.get("/works/admin/").status_code == 404
    assert client.post("/works/admin/export.xlsx").status_code == 404
    assert client.get("/works/admin/export.csv").status_code == 404
    assert client.get("/works/admin/quotas").status_code == 404


def test_unit_admin_sees_only_own_non_draft_works(client, auth, wc):
    wc.make_work(title="本单位待推荐")
    wc.make_work(title="本单位已退回", status="returned", return_comment="请补充")
    wc.make_work(title="本单位草稿", status="draft")
    wc.make_work(title="外单位作品", channel=wc.other_unit)
    auth.login_as(wc.unit_admin)
    r = client.get("/works/unit/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert sorted(titles(html)) == ["本单位已退回", "本单位待推荐"]
    assert "外单位作品" not in html and "本单位草稿" not in html
    assert "北京市科学技术协会" in html
    # the counts at the top
    assert re.search(r'待推荐 <span class="queue-count">1</span>', html)
    assert re.search(r'退回修改 <span class="queue-count">1</span>', html)
    assert re.search(r'全部 <span class="queue-count">2</span>', html)
    # quota meter: unlimited by default
    assert "已推荐 0 / 不限" in html
    # inline actions only on the pending row
    assert html.count(">推荐</button>") == 1 and html.count(">退回修改</a>") == 1


def test_unit_switcher_only_own_orgs(client, auth, wc, make_user):
    third = Org(name="天津市科学技术协会", kind="省级科协")
    db.session.add(third)
    db.session.commit()
    multi = make_user("13900000031", name="两单位管理员",
                      roles=[("unit_admin", {"org_id": wc.unit.id}),
                             ("unit_admin", {"org_id": third.id})])
    wc.make_work(title="北京作品")
    wc.make_work(title="天津作品", channel=third)
    auth.login_as(multi)
    html = client.get("/works/unit/").get_data(as_text=True)
    assert 'name="org"' in html and "切换单位" in html
    # default: first by name (北京 < 天津 in code-point order)
    first = sorted([wc.unit, third], key=lambda o: o.name)[0]
    assert titles(html) == ["北京作品" if first.id == wc.unit.id else "天津作品"]
    html = client.get(f"/works/unit/?org={third.id}").get_data(as_text=True)
    assert titles(html) == ["天津作品"]
    assert client.get(f"/works/unit/?org={wc.other_unit.id}").status_code == 404
    assert client.get("/works/unit/?org=abc").status_code == 404


def test_platform_admin_list_sees_all_non_draft(client, auth, wc):
    wc.make_work(title="甲作品")
    wc.make_work(title="乙作品", channel=wc.other_unit, status="recommended")
    wc.make_work(title="草稿作品", status="draft")
    auth.login_as(wc.admin)
    html = client.get("/works/admin/").get_data(as_text=True)
    assert sorted(titles(html)) == ["乙作品", "甲作品"]
    assert "草稿作品" not in html
    assert "上海市科学技术协会" in html  # 推荐单位 column / filter
    # the admin cannot recommend (not the unit admin): no inline buttons
    assert "/recommend" not in html
    # the bulk form posts the selected ids to expert assignment
    assert 'action="/works/admin/assign"' in html
    assert 'name="ids" value=' in html  # the 完成推荐 row can be ticked
    # filter by recommender unit
    html = client.get(f"/works/admin/?channel={wc.other_unit.id}").get_data(as_text=True)
    assert titles(html) == ["乙作品"]
    # the platform admin without unit grants is sent to the admin list
    r = client.get("/works/unit/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/works/admin/")


def test_search_filters_and_sort(client, auth, wc):
    now = utcnow()
    a = wc.make_work(title="Quantum 入门", work_type="科普视频", category="前沿科技",
                     applicant_unit="北京科普创作中心")
    b = wc.make_work(title="健康饮食", work_type="科普文章", category="健康生活",
                     applicant_unit="协和医院", status="returned")
    c = wc.make_work(title="QUANTUM 进阶", work_type="科普图书", category="前沿科技",
                     applicant_unit="清华大学", status="recommended")
    a.submitted_at, b.submitted_at, c.submitted_at = (now - timedelta(days=3),
                                                      now - timedelta(days=2),
                                                      now - timedelta(days=1))
    db.session.commit()
    auth.login_as(wc.unit_admin)

    def get(qs):
        return titles(client.get("/works/unit/?" + qs).get_data(as_text=True))

    assert get("") == ["QUANTUM 进阶", "健康饮食", "Quantum 入门"]  # submitted desc
    assert get("order=asc") == ["Quantum 入门", "健康饮食", "QUANTUM 进阶"]
    assert sorted(get("q=quantum")) == ["QUANTUM 进阶", "Quantum 入门"]  # case-insensitive
    assert get("q=%25") == []  # LIKE wildcards are escaped
    assert get("status=returned") == ["健康饮食"]
    assert get("status=draft") == get("")  # not a list state: ignored
    assert get("work_type=科普图书") == ["QUANTUM 进阶"]
    assert sorted(get("category=前沿科技")) == ["QUANTUM 进阶", "Quantum 入门"]
    assert get("unit=协和") == ["健康饮食"]
    assert get("sort=status&order=asc") == ["Quantum 入门", "健康饮食", "QUANTUM 进阶"]
    assert get("sort=title&order=asc")[0] == "QUANTUM 进阶"
    # a unit admin cannot widen the scope with channel= (not a filter of its list)
    wc.make_work(title="外单位", channel=wc.other_unit)
    assert "外单位" not in get(f"channel={wc.other_unit.id}")
    # bad values are ignored, never an error
    assert get("page=abc&per_page=7&sort=x&order=up") == get("")


def test_pagination(client, auth, wc):
    for i in range(23):
        wc.make_work(title=f"作品{i:02d}", with_files=False)
    auth.login_as(wc.unit_admin)
    html = client.get("/works/unit/?sort=title&order=asc").get_data(as_text=True)
    assert len(titles(html)) == 20 and "共 2 页" in html
    assert "共 <strong>23</strong> 件" in html and "第 1–20 件" in html
    assert "下一页" in html and 'href="/works/unit/?sort=title&amp;page=2"' in html
    assert 'aria-current="page">1</span>' in html and 'aria-label="第 2 页">2</a>' in html
    # page size 50 shows all 23
    html = client.get("/works/unit/?sort=title&per_page=50").get_data(as_text=True)
    assert len(titles(html)) == 23 and "共 2 页" not in html
    html = client.get("/works/unit/?sort=title&order=asc&page=2").get_data(as_text=True)
    assert titles(html) == ["作品20", "作品21", "作品22"]
    # past the end shows the last page
    html = client.get("/works/unit/?sort=title&order=asc&page=9").get_data(as_text=True)
    assert titles(html) == ["作品20", "作品21", "作品22"]


def test_active_search_returns_only_results_block(client, auth, wc):
    wc.make_work(title="量子")
    wc.make_work(title="生态")
    auth.login_as(wc.unit_admin)
    r = client.get("/works/unit/?q=量子", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.lstrip().startswith('<div id="queue-results"')
    assert "<html" not in html and 'name="q"' not in html
    assert titles(html) == ["量子"]
    assert "HX-Request" in r.headers.get("Vary", "")
    # the full page has the active-search form kept in sync with the URL
    full = client.get("/works/unit/?q=量子").get_data(as_text=True)
    assert 'hx-push-url="true"' in full and 'value="量子"' in full
    assert 'hx-trigger="input changed delay:300ms, search"' in full
    # no trigger listens to the whole form (an unparsable "from:" did, and wiped rows)
    assert "from:" not in full


def test_queue_api_scope(app, wc):
    from kepu.review_queue import QueueContext
    from kepu.works.queues import ADMIN_QUEUE, UNIT_QUEUE

    wc.make_work(title="甲")
    wc.make_work(title="乙", channel=wc.other_unit)
    wc.make_work(title="丙", status="draft")

    def run(queue, org=None, **args):
        ctx = QueueContext(wc.admin, wc.campaign, org)
        with app.test_request_context():
            page = queue.page(ctx, {"sort": "title", "order": "asc", **args})
        return [w.title for w in page.items]

    assert run(UNIT_QUEUE, wc.unit) == ["甲"]
    assert run(UNIT_QUEUE, wc.other_unit) == ["乙"]
    assert run(UNIT_QUEUE, None) == []
    assert sorted(run(ADMIN_QUEUE)) == ["乙", "甲"]
    args = ADMIN_QUEUE.parse({"q": " 甲  ", "page": "x", "per_page": "50"},
                             QueueContext(wc.admin, wc.campaign))
    assert args.q == "甲" and args.page == 1 and args.query() == {"q": "甲", "per_page": "50"}
    assert args.query(page=3) == {"q": "甲", "page": "3", "per_page": "50"}


def test_detail_scope(client, auth, wc):
    w = wc.make_work(title="详情作品", return_comment="")
    other = wc.make_work(title="外单位", channel=wc.other_unit)
    draft = wc.make_work(title="草稿", status="draft")
    auth.login_as(wc.unit_admin)
    r = client.get(f"/works/{w.id}/review")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "详情作品" in html and "用动画讲清量子比特。" in html
    assert "cover.png" in html and "作品.pdf" in html
    assert "inline=1" in html  # image preview
    assert client.get(f"/works/{other.id}/review").status_code == 404
    assert client.get(f"/works/{draft.id}/review").status_code == 404
    assert client.get("/works/999999/review").status_code == 404
    auth.login_as(wc.applicant)
    assert client.get(f"/works/{w.id}/review").status_code == 404
    auth.login_as(wc.expert)
    assert client.get(f"/works/{w.id}/review").status_code == 404
    auth.login_as(wc.admin)
    html = client.get(f"/works/{w.id}/review").get_data(as_text=True)
    assert "详情作品" in html
    assert f"/works/admin/{w.id}/assign" in html
    assert client.get(f"/works/{draft.id}/review").status_code == 404
