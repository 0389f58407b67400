"""Every role × every works/cases route, including other people's objects.

The base matrix (tests/test_permissions_matrix.py) covers accounts, orgs, files and
admin; this one adds the campaign roles: the owner of the entries, another user, the
admin of the work's recommender unit and of another unit, an assigned and an
unassigned expert, the case admins of the case's unit and of another unit, the national
admin (中国科协: case selection) and the platform admin. Refusals must change nothing; the role a route is for must succeed.
``test_every_campaign_route_is_in_the_matrix`` fails when a route is added without a row.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.cases.models import (Case, CaseUnitSubmission, PastCase, RecommendCode,
                               ShowcaseWork)
from kepu.extensions import db
from kepu.jobs import Job
from kepu.orgs.models import Org
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog
from tests.conftest import for_each_role
from kepu.works.models import Work, WorkAssignment, WorkUnitQuota

ROLES = ["anonymous", "owner", "other", "unit_admin", "other_unit_admin", "expert",
         "other_expert", "case_admin", "other_case_admin", "national_admin", "platform_admin"]
L, R = "login", "redirect"


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 2), "white").save(buf, "PNG")
    return buf.getvalue()


PNG = _png()


@dataclass
class World:
    users: dict
    works: Campaign
    cases: Campaign
    unit: Org
    other_unit: Org
    w_draft: Work
    w_pending: Work
    w_recommended: Work
    w_review: Work
    w_reviewed: Work
    w_returned: Work
    assignment: WorkAssignment
    c_draft: Case
    c_sub: Case
    c_rec: Case
    c_fin: Case
    c_ret: Case
    code: RecommendCode
    past: PastCase
    ids: dict  # plain ids of objects a test may delete


def _work(owner, unit, status, **kw):
    w = Work(campaign_id=kw.pop("campaign_id"), owner_id=owner.id, status=status,
             channel_id=unit.id, title=kw.pop("title", f"作品-{status}"), work_type="科普视频",
             category="前沿科技", intro="简介", author_name="张三", applicant_unit="某单位",
             unit_address="某地", contact_phone="13912345678", unit_type="省级科协",
             highlights="亮点", submitted_at=None if status == "draft" else utcnow(), **kw)
    db.session.add(w)
    return w


def _case(owner, unit, status, campaign_id, **kw):
    c = Case(campaign_id=campaign_id, org_id=unit.id, owner_id=owner.id, status=status,
             name=kw.pop("name", f"案例{status}"), impl_unit="某馆", unit_address="某地",
             contact_name="李四", job_title="馆长", contact_phone="13912340000",
             email="a@example.com", category="activity", subtype="科普讲座", summary="概述",
             details="详细", submitted_at=None if status == "draft" else utcnow(), **kw)
    db.session.add(c)
    return c


@pytest.fixture
def world(app, make_user) -> World:
    window = {"window_open": "2020-01-01 00:00", "window_close": "2099-12-31 23:59"}
    works = Campaign(kind="works", year=2026, title="2026作品征集", settings=dict(window))
    cases = Campaign(kind="cases", year=2026, title="2026典赞", settings=dict(window))
    unit = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    other_unit = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([works, cases, unit, other_unit])
    db.session.commit()
    users = {
        "owner": make_user("13900000101", name="申报者"),
        "other": make_user("13900000102", name="路人"),
        "unit_admin": make_user("13900000103", roles=[("unit_admin", {"org_id": unit.id})]),
        "other_unit_admin": make_user("13900000104",
                                      roles=[("unit_admin", {"org_id": other_unit.id})]),
        "expert": make_user("13900000105", name="专家甲", roles=["expert"]),
        "other_expert": make_user("13900000106", name="专家乙", roles=["expert"]),
        "case_admin": make_user("13900000107", roles=[("case_unit", {"org_id": unit.id})]),
        "other_case_admin": make_user("13900000108",
                                      roles=[("case_unit", {"org_id": other_unit.id})]),
        "national_admin": make_user("13900000110", name="中国科协", roles=["national_admin"]),
        "platform_admin": make_user("13900000109", roles=["platform_admin"]),
    }
    owner = users["owner"]
    wid = works.id
    w_draft = _work(owner, unit, "draft", campaign_id=wid, step=1)
    w_pending = _work(owner, unit, "pending", campaign_id=wid)
    w_recommended = _work(owner, unit, "recommended", campaign_id=wid)
    w_review = _work(owner, unit, "in_review", campaign_id=wid)
    w_reviewed = _work(owner, unit, "reviewed", campaign_id=wid, selected=True)
    w_returned = _work(owner, unit, "returned", campaign_id=wid, return_comment="请修改")
    db.session.flush()
    # just returned by the unit (so 撤销退回 is possible)
    db.session.add(AuditLog(entity_type="work", entity_id=w_returned.id, action="return",
                            from_state="pending", to_state="returned",
                            actor_id=users["unit_admin"].id, data={"version": 1}))
    assignment = WorkAssignment(work_id=w_review.id, expert_id=users["expert"].id)
    done = WorkAssignment(work_id=w_reviewed.id, expert_id=users["expert"].id,
                          scores={"scientific": 90, "innovative": 80, "communicative": 80},
                          total=84.0, submitted_at=utcnow())
    db.session.add_all([assignment, done])
    cid = cases.id
    c_draft = _case(owner, unit, "draft", cid)
    c_sub = _case(owner, unit, "submitted", cid)
    c_rec = _case(owner, unit, "recommended", cid, name="已推荐案例",
                  recommended_at=utcnow())
    c_fin = _case(owner, other_unit, "finalised", cid, name="已盖章案例",
                  recommended_at=utcnow())
    c_ret = _case(owner, unit, "returned", cid, name="刚退回的案例", return_comment="补充")
    db.session.flush()
    db.session.add(AuditLog(entity_type="case", entity_id=c_ret.id, action="return",
                            from_state="submitted", to_state="returned",
                            actor_id=users["case_admin"].id, data={"version": 1}))
    code = RecommendCode(campaign_id=cid, org_id=unit.id, code="ABCDEFGHJK")
    other_code = RecommendCode(campaign_id=cid, org_id=other_unit.id, code="MNPQRSTUVW")
    past = PastCase(campaign_id=cid, year=2025, name="往年案例", unit_name="往年单位",
                    norm_name="往年案例", norm_unit="往年单位")
    # an eligible unit without a 推荐码 yet (for 生成推荐码)
    db.session.add(Org(name="天津市科学技术协会", kind="省级科协", region_code="12"))
    db.session.add_all([code, other_code, past,
                        CaseUnitSubmission(campaign_id=cid, org_id=other_unit.id,
                                           locked=True, submitted_at=utcnow())])
    db.session.commit()
    return World(users, works, cases, unit, other_unit, w_draft, w_pending, w_recommended,
                 w_review, w_reviewed, w_returned, assignment, c_draft, c_sub, c_rec, c_fin,
                 c_ret, code, past, {"w_draft": w_draft.id, "c_draft": c_draft.id})


def login_as(client, auth, world, role):
    if role != "anonymous":
        auth.login_as(world.users[role])


def expect(default, **overrides):
    """{role: status} with ``default`` for every logged-in role; anonymous → login."""
    table = dict.fromkeys(ROLES, default)
    table["anonymous"] = L
    table.update(overrides)
    return table


PUBLIC = dict.fromkeys(ROLES, 200)
LOGGED_IN = expect(200)
ADMIN = expect(404, platform_admin=200)
# national selection (中国科协): platform admins and national admins
NATIONAL = expect(404, platform_admin=200, national_admin=200)
OWNER = expect(404, owner=200)
UNIT = expect(404, unit_admin=200)
UNIT_ADMINS = expect(404, unit_admin=200, other_unit_admin=200)
CASE_UNITS = expect(404, case_admin=200, other_case_admin=200)

GET_ROUTES = [
    ("works.index", lambda w: "/works/", PUBLIC),
    ("works.help", lambda w: "/works/help", PUBLIC),
    ("works.new", lambda w: "/works/new", LOGGED_IN),
    ("works.my_works", lambda w: "/works/mine", LOGGED_IN),
    ("works.edit", lambda w: f"/works/{w.w_draft.id}/step/1", OWNER),
    ("works.view", lambda w: f"/works/{w.w_pending.id}", OWNER),
    ("works.review_detail", lambda w: f"/works/{w.w_pending.id}/review",
     expect(404, unit_admin=200, platform_admin=200)),
    # row fragments: a plain (non-HTMX) request is sent to the full page
    ("works.review_row", lambda w: f"/works/{w.w_pending.id}/review/row",
     expect(404, unit_admin=R, platform_admin=R)),
    ("works.return_work", lambda w: f"/works/{w.w_pending.id}/return", UNIT),
    ("works.unit_list", lambda w: "/works/unit/",
     expect(404, unit_admin=200, other_unit_admin=200, platform_admin=R)),
    ("works.unit_export_csv", lambda w: "/works/unit/export.csv", UNIT_ADMINS),
    ("works.expert_list", lambda w: "/works/expert/", expect(404, expert=200, other_expert=200)),
    ("works.expert_score", lambda w: f"/works/expert/{w.assignment.id}",
     expect(404, expert=200, platform_admin=200)),
    ("works.admin_list", lambda w: "/works/admin/", ADMIN),
    ("works.admin_export_csv", lambda w: "/works/admin/export.csv", ADMIN),
    ("works.admin_quotas", lambda w: "/works/admin/quotas", ADMIN),
    ("works.admin_assign", lambda w: "/works/admin/assign", ADMIN),
    ("works.admin_assign_work", lambda w: f"/works/admin/{w.w_recommended.id}/assign", ADMIN),
    ("works.admin_ranking", lambda w: "/works/admin/ranking", ADMIN),
    ("works.admin_ranking_export", lambda w: "/works/admin/ranking.xlsx", ADMIN),
    ("works.admin_stats", lambda w: "/works/admin/stats", ADMIN),
    ("works.admin_editions", lambda w: "/works/admin/editions", ADMIN),
    ("works.admin_settings", lambda w: f"/works/admin/editions/{w.works.id}/settings", ADMIN),
    ("cases.index", lambda w: "/cases/", PUBLIC),
    ("cases.unit_code", lambda w: "/cases/unit/code", CASE_UNITS),
    # another unit's 推荐码 is someone else's object: 404 (also for the platform admin,
    # who manages codes under 推荐码管理)
    ("cases.unit_code", lambda w: f"/cases/unit/code?org={w.other_unit.id}",
     expect(404, other_case_admin=200)),
    ("cases.my_cases", lambda w: "/cases/mine", LOGGED_IN),
    ("cases.bind", lambda w: "/cases/bind", LOGGED_IN),
    ("cases.start", lambda w: "/cases/start", LOGGED_IN),
    ("cases.edit", lambda w: f"/cases/{w.c_draft.id}/edit", OWNER),
    ("cases.view", lambda w: f"/cases/{w.c_sub.id}",
     expect(404, owner=200, case_admin=200, national_admin=200, platform_admin=200)),
    ("cases.case_pdf", lambda w: f"/cases/{w.c_sub.id}/info.pdf",
     expect(404, owner=200, case_admin=200, national_admin=200, platform_admin=200)),
    ("cases.unit_list", lambda w: "/cases/unit/", CASE_UNITS),
    ("cases.unit_row", lambda w: f"/cases/unit/cases/{w.c_sub.id}/row",
     expect(404, case_admin=R)),
    ("cases.unit_detail", lambda w: f"/cases/unit/cases/{w.c_sub.id}",
     expect(404, case_admin=200)),
    ("cases.unit_return", lambda w: f"/cases/unit/cases/{w.c_sub.id}/return",
     expect(404, case_admin=200)),
    ("cases.unit_summary", lambda w: "/cases/unit/summary", CASE_UNITS),
    ("cases.unit_summary_pdf", lambda w: "/cases/unit/summary.pdf", CASE_UNITS),
    ("cases.unit_summary_xlsx", lambda w: "/cases/unit/summary.xlsx", CASE_UNITS),
    ("cases.admin_codes", lambda w: "/cases/admin/codes", ADMIN),
    ("cases.admin_codes_export", lambda w: "/cases/admin/codes.xlsx", ADMIN),
    ("cases.admin_past", lambda w: "/cases/admin/past", ADMIN),
    ("cases.admin_editions", lambda w: "/cases/admin/editions", ADMIN),
    ("cases.admin_settings", lambda w: f"/cases/admin/editions/{w.cases.id}/settings", ADMIN),
    ("cases.admin_select", lambda w: "/cases/admin/select", NATIONAL),
    ("cases.admin_select_export", lambda w: "/cases/admin/select.xlsx", NATIONAL),
]


def _status(model, obj):
    return db.session.get(model, obj.id).status


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _job_ok(w):
    return db.session.scalar(select(func.count()).select_from(Job).where(Job.status == "done")) > 0


def _publish(w):
    w.works.settings = {**w.works.settings, "results_published_at": "2026-11-01T00:00:00"}
    db.session.commit()


# (endpoint, url, data, {refusing role: status}, changed(world) -> bool)
POST_ROUTES = [
    ("cases.admin_editions", lambda w: "/cases/admin/editions",
     lambda w: {"year": "2027", "title": "2027年度“典赞·科普中国”科普案例征集"}, expect(404),
     lambda w: _count(Campaign, Campaign.kind == "cases", Campaign.year == 2027) == 1),
    ("works.autosave", lambda w: f"/works/{w.w_draft.id}/autosave",
     lambda w: {"version": str(w.w_draft.version), "step": "1", "title": "被改的标题"},
     expect(404), lambda w: db.session.get(Work, w.w_draft.id).title == "被改的标题"),
    ("works.edit", lambda w: f"/works/{w.w_draft.id}/step/1",
     lambda w: {"version": str(w.w_draft.version), "action": "save", "title": "被改的标题"},
     expect(404), lambda w: db.session.get(Work, w.w_draft.id).title == "被改的标题"),
    ("works.delete", lambda w: f"/works/{w.w_draft.id}/delete", lambda w: {},
     expect(404), lambda w: db.session.get(Work, w.ids["w_draft"]) is None),
    ("works.recommend", lambda w: f"/works/{w.w_pending.id}/recommend", lambda w: {},
     expect(404),
     lambda w: _status(Work, w.w_pending) == "recommended"),
    ("works.return_work", lambda w: f"/works/{w.w_pending.id}/return",
     lambda w: {"comment": "请补充材料"}, expect(404),
     lambda w: _status(Work, w.w_pending) == "returned"),
    ("works.bulk_recommend", lambda w: "/works/unit/bulk-recommend",
     lambda w: {"work_ids": [str(w.w_pending.id)], "confirmed": "1"},
     expect(404, other_unit_admin=R),
     lambda w: _status(Work, w.w_pending) == "recommended"),
    ("works.unit_bulk", lambda w: "/works/unit/bulk",
     lambda w: {"ids": [str(w.w_pending.id)], "action": "recommend", "confirmed": "1"},
     expect(404, other_unit_admin=R),
     lambda w: _status(Work, w.w_pending) == "recommended"),
    ("works.unrecommend", lambda w: f"/works/{w.w_recommended.id}/unrecommend",
     lambda w: {}, expect(404), lambda w: _status(Work, w.w_recommended) == "pending"),
    ("works.unreturn", lambda w: f"/works/{w.w_returned.id}/unreturn",
     lambda w: {}, expect(404), lambda w: _status(Work, w.w_returned) == "pending"),
    # Excel exports start a job (its page and download are the requester's only)
    ("works.unit_export", lambda w: "/works/unit/export.xlsx", lambda w: {},
     expect(404), lambda w: _count(Job) > 0 and _job_ok(w)),
    ("works.admin_export", lambda w: "/works/admin/export.xlsx", lambda w: {}, expect(404),
     lambda w: _count(Job) > 0 and _job_ok(w)),
    ("works.admin_quotas", lambda w: "/works/admin/quotas",
     lambda w: {f"quota-{w.unit.id}": "5"}, expect(404),
     lambda w: _count(WorkUnitQuota, WorkUnitQuota.quota == 5) == 1),
    ("works.admin_assign", lambda w: "/works/admin/assign",
     lambda w: {"work_ids": [str(w.w_recommended.id)], "experts_per_work": "1"}, expect(404),
     lambda w: _status(Work, w.w_recommended) == "in_review"),
    ("works.admin_assign_work", lambda w: f"/works/admin/{w.w_recommended.id}/assign",
     lambda w: {"action": "add", "expert_id": str(w.users["other_expert"].id)}, expect(404),
     lambda w: _count(WorkAssignment, WorkAssignment.work_id == w.w_recommended.id) == 1),
    ("works.expert_score", lambda w: f"/works/expert/{w.assignment.id}",
     lambda w: {"score_scientific": "90", "score_innovative": "80",
                "score_communicative": "70", "overall": "好", "action": "save"},
     expect(404), lambda w: bool(db.session.get(WorkAssignment, w.assignment.id).scores)),
    ("works.admin_select", lambda w: f"/works/admin/{w.w_reviewed.id}/select",
     lambda w: {"value": "0"}, expect(404),
     lambda w: not db.session.get(Work, w.w_reviewed.id).selected),
    ("works.admin_publish", lambda w: "/works/admin/publish", lambda w: {"confirm": "1"},
     expect(404), lambda w: bool(db.session.get(Campaign, w.works.id).settings.get(
         "results_published_at"))),
    ("works.admin_unpublish", lambda w: "/works/admin/unpublish",
     lambda w: (_publish(w), {})[1], expect(404),
     lambda w: not db.session.get(Campaign, w.works.id).settings.get("results_published_at")),
    ("works.admin_editions", lambda w: "/works/admin/editions",
     lambda w: {"year": "2027", "title": "2027年全国优质科普作品征集"}, expect(404),
     lambda w: _count(Campaign, Campaign.kind == "works", Campaign.year == 2027) == 1),
    ("cases.autosave", lambda w: f"/cases/{w.c_draft.id}/autosave",
     lambda w: {"version": str(w.c_draft.version), "name": "被改的名称"}, expect(404),
     lambda w: db.session.get(Case, w.c_draft.id).name == "被改的名称"),
    ("cases.edit", lambda w: f"/cases/{w.c_draft.id}/edit",
     lambda w: {"version": str(w.c_draft.version), "action": "save", "name": "被改的名称"},
     expect(404), lambda w: db.session.get(Case, w.c_draft.id).name == "被改的名称"),
    ("cases.delete", lambda w: f"/cases/{w.c_draft.id}/delete", lambda w: {}, expect(404),
     lambda w: db.session.get(Case, w.ids["c_draft"]) is None),
    ("cases.unit_recommend", lambda w: f"/cases/unit/cases/{w.c_sub.id}/recommend",
     lambda w: {}, expect(404), lambda w: _status(Case, w.c_sub) == "recommended"),
    ("cases.unit_return", lambda w: f"/cases/unit/cases/{w.c_sub.id}/return",
     lambda w: {"comment": "请补充照片"}, expect(404),
     lambda w: _status(Case, w.c_sub) == "returned"),
    ("cases.unit_unrecommend", lambda w: f"/cases/unit/cases/{w.c_rec.id}/unrecommend",
     lambda w: {}, expect(404), lambda w: _status(Case, w.c_rec) == "submitted"),
    ("cases.unit_unreturn", lambda w: f"/cases/unit/cases/{w.c_ret.id}/unreturn",
     lambda w: {}, expect(404), lambda w: _status(Case, w.c_ret) == "submitted"),
    ("cases.unit_bulk", lambda w: "/cases/unit/bulk",
     lambda w: {"ids": [str(w.c_sub.id)], "action": "recommend", "confirmed": "1"},
     expect(404, other_case_admin=R), lambda w: _status(Case, w.c_sub) == "recommended"),
    ("cases.unit_scan", lambda w: "/cases/unit/scan",
     # the other unit's admin scans for their own unit, which has nothing recommended
     lambda w: {"scan__upload": (io.BytesIO(PNG), "盖章.png")},
     expect(404, other_case_admin=422),
     lambda w: _status(Case, w.c_rec) == "finalised"),
    ("cases.admin_codes_generate", lambda w: "/cases/admin/codes/generate", lambda w: {},
     expect(404), lambda w: _count(RecommendCode) > 2),
    ("cases.admin_code_regenerate", lambda w: f"/cases/admin/codes/{w.code.id}/regenerate",
     lambda w: {}, expect(404),
     lambda w: db.session.get(RecommendCode, w.code.id).code != "ABCDEFGHJK"),
    ("cases.admin_past", lambda w: "/cases/admin/past",
     lambda w: {"file": (io.BytesIO("案例名称,单位名称\n新的往年案例,某单位\n".encode()), "past.csv")},
     expect(404), lambda w: _count(PastCase) == 2),
    ("cases.admin_past_delete", lambda w: f"/cases/admin/past/{w.past.id}/delete",
     lambda w: {}, expect(404), lambda w: db.session.get(PastCase, w.past.id) is None),
    ("cases.admin_select_case", lambda w: f"/cases/admin/cases/{w.c_rec.id}/select",
     lambda w: {"value": "1"}, expect(404),
     lambda w: db.session.get(Case, w.c_rec.id).selected),
    ("cases.admin_select_work", lambda w: f"/cases/admin/works/{w.w_reviewed.id}/select",
     lambda w: {"value": "1"}, expect(404), lambda w: _count(ShowcaseWork) == 1),
    ("cases.admin_unlock", lambda w: f"/cases/admin/units/{w.other_unit.id}/unlock",
     lambda w: {"reason": "单位申请修改"}, expect(404),
     lambda w: not db.session.scalar(select(CaseUnitSubmission.locked).where(
         CaseUnitSubmission.org_id == w.other_unit.id))),
]

# The role each POST route is for (the others must be refused and change nothing).
ALLOWED = {
    "works.autosave": "owner", "works.edit": "owner", "works.delete": "owner",
    "works.recommend": "unit_admin", "works.return_work": "unit_admin",
    "works.bulk_recommend": "unit_admin", "works.expert_score": "expert",
    "works.unit_bulk": "unit_admin", "works.unrecommend": "unit_admin",
    "works.unit_export": "unit_admin",
    "works.unreturn": "unit_admin", "cases.unit_unreturn": "case_admin",
    "cases.unit_bulk": "case_admin",
    "cases.autosave": "owner", "cases.edit": "owner", "cases.delete": "owner",
    "cases.unit_recommend": "case_admin", "cases.unit_return": "case_admin",
    "cases.unit_unrecommend": "case_admin", "cases.unit_scan": "case_admin",
}

# Routes a second role may use as well (not refused for it; its own tests cover it).
ALSO_ALLOWED = {
    "works.unit_export": {"other_unit_admin"},  # exports its own unit's list
    "cases.admin_select_case": {"national_admin"},
    "cases.admin_select_work": {"national_admin"},
    "cases.admin_unlock": {"national_admin"},
}

# Admin form posts whose success needs a full valid form: their own tests cover
# success; here only the refusals.
REFUSE_ONLY = [
    ("works.admin_settings", lambda w: f"/works/admin/editions/{w.works.id}/settings",
     lambda w: {"title": "被改的标题"},
     lambda w: db.session.get(Campaign, w.works.id).title == "被改的标题"),
    ("cases.admin_settings", lambda w: f"/cases/admin/editions/{w.cases.id}/settings",
     lambda w: {"title": "被改的标题"},
     lambda w: db.session.get(Campaign, w.cases.id).title == "被改的标题"),
]

# Open to every logged-in user for their own account (covered by their area's tests):
# starting a draft, binding with / starting from a 推荐码.
OPEN_POSTS = {"works.new", "cases.bind", "cases.start"}


def check(resp, expected):
    if expected == R:
        assert resp.status_code in (302, 303), resp.status_code
        assert "/account/login" not in resp.headers.get("Location", "")
    elif expected == L:
        assert resp.status_code in (302, 303), resp.status_code
        assert "/account/login" in resp.headers["Location"]
    else:
        assert resp.status_code == expected, (resp.status_code,
                                              resp.get_data(as_text=True)[:300])


@pytest.mark.parametrize("endpoint,url,expected", GET_ROUTES, ids=[r[0] for r in GET_ROUTES])
def test_get_matrix(app, world, endpoint, url, expected):
    def probe(client, auth, role):
        login_as(client, auth, world, role)
        check(client.get(url(world)), expected[role])

    for_each_role(app, ROLES, probe)


def _refusals():
    rows = []
    for endpoint, url, data, expected, changed in POST_ROUTES:
        allowed = {ALLOWED.get(endpoint, "platform_admin")} | ALSO_ALLOWED.get(endpoint, set())
        for role in ROLES:
            if role not in allowed:
                rows.append((role, endpoint, url, data, expected[role], changed))
    for endpoint, url, data, changed in REFUSE_ONLY:
        for role in ROLES:
            if role != "platform_admin":
                rows.append((role, endpoint, url, data, expect(404)[role], changed))
    return rows


REFUSALS = _refusals()


def _refusals_by_route():
    by_route: dict[str, list] = {}
    for role, endpoint, url, data, expected, changed in REFUSALS:
        by_route.setdefault(endpoint, [endpoint, url, data, {}, changed])[3][role] = expected
    return list(by_route.values())


REFUSALS_BY_ROUTE = _refusals_by_route()


@pytest.mark.parametrize("endpoint,url,data,expected,changed", REFUSALS_BY_ROUTE,
                         ids=[r[0] for r in REFUSALS_BY_ROUTE])
def test_post_refusals_change_nothing(app, world, endpoint, url, data, expected, changed):
    """Every role the route is not for is refused, and nothing changes (one world for
    all of them: a refusal that changed something fails here)."""
    def probe(client, auth, role):
        login_as(client, auth, world, role)
        resp = client.post(url(world), data=data(world), content_type="multipart/form-data")
        check(resp, expected[role])
        db.session.expire_all()
        assert not changed(world), f"{role} changed state through {endpoint}"

    for_each_role(app, list(expected), probe)


@pytest.mark.parametrize("endpoint,url,data,expected,changed", POST_ROUTES,
                         ids=[r[0] for r in POST_ROUTES])
def test_post_allowed_role_succeeds(client, auth, world, endpoint, url, data, expected,
                                    changed):
    login_as(client, auth, world, ALLOWED.get(endpoint, "platform_admin"))
    resp = client.post(url(world), data=data(world), content_type="multipart/form-data")
    assert resp.status_code in (200, 302, 303), (resp.status_code,
                                                 resp.get_data(as_text=True)[:500])
    db.session.expire_all()
    assert changed(world), f"{endpoint} did not change state for its role"


def campaign_routes_covered() -> set[str]:
    return ({r[0] for r in GET_ROUTES} | {r[0] for r in POST_ROUTES}
            | {r[0] for r in REFUSE_ONLY} | OPEN_POSTS)


def test_every_campaign_route_is_in_the_matrix(app):
    campaign = {r.endpoint for r in app.url_map.iter_rules()
                if r.endpoint.startswith(("works.", "cases."))}
    missing = campaign - campaign_routes_covered()
    assert not missing, f"campaign routes missing from the matrix: {sorted(missing)}"
