import pytest
from sqlalchemy import func, select

from kepu.accounts.models import Grant
from kepu.extensions import db
from kepu.orgs import operations as ops
from kepu.orgs.models import Org, OrgAlias, UnitApplication
from kepu.workflow import AuditLog

from .conftest import HX

ADMIN_PAGES = ["/orgs/admin/", "/orgs/admin/1", "/orgs/admin/1/merge", "/orgs/admin/import",
               "/orgs/admin/import/template.xlsx", "/orgs/admin/applications",
               "/orgs/admin/applications/1/reject", "/orgs/admin/applications/1/row"]
ADMIN_POSTS = ["/orgs/admin/1/review", "/orgs/admin/1", "/orgs/admin/1/merge",
               "/orgs/admin/import", "/orgs/admin/applications/1/approve",
               "/orgs/admin/applications/1/reject"]


def make_org(name, kind="其他", **kw):
    org = Org(name=name, kind=kind, certifications=kw.pop("certifications", []), **kw)
    ops.reindex(org)
    db.session.add(org)
    db.session.commit()
    return org


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_404_for_non_admins(client, auth, make_user, url):
    make_org("某单位")
    r = client.get(url)
    assert r.status_code in (302, 303) and "login" in r.location  # anonymous → login
    auth.login_as(make_user(roles=[("unit_admin", {"org_id": 1})]))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ADMIN_POSTS)
def test_admin_posts_404_for_non_admins(client, auth, make_user, url):
    org = make_org("某单位", status="pending")
    auth.login_as(make_user())
    assert client.post(url, data={"action": "approve", "keep": "this", "other_id": "1"}).status_code == 404
    assert db.session.get(Org, org.id).status == "pending"


def test_admin_list_search_and_filters(client, auth, admin, builtin):
    auth.login_as(admin)
    html = client.get("/orgs/admin/?q=bjskx").get_data(as_text=True)
    assert "北京市科学技术协会" in html and "上海市科学技术协会" not in html
    r = client.get("/orgs/admin/?q=广东科协", headers=HX)
    frag = r.get_data(as_text=True)
    assert "广东省科学技术协会" in frag and "<html" not in frag and 'id="org-results"' in frag
    html = client.get("/orgs/admin/?kind=省级科协").get_data(as_text=True)
    assert "共 32 个单位" in html and "第 1 / 2 页" in html
    html = client.get("/orgs/admin/?certified=1").get_data(as_text=True)
    assert "共 2 个单位" in html and "中国科学技术馆" in html


def test_pending_org_inline_approve_and_reject(client, auth, admin, make_user):
    a = make_org("待审单位甲", status="pending")
    b = make_org("待审单位乙", status="pending")
    auth.login_as(admin)
    html = client.get("/orgs/admin/?status=pending").get_data(as_text=True)
    assert "通过" in html and 'hx-target="closest tr"' in html
    r = client.post(f"/orgs/admin/{a.id}/review", data={"action": "approve"}, headers=HX)
    assert r.status_code == 200
    row = r.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="org-row-{a.id}"') and "正常" in row
    r = client.post(f"/orgs/admin/{b.id}/review", data={"action": "reject"}, headers=HX)
    assert "已驳回" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Org, a.id).status == "active"
    assert db.session.get(Org, b.id).status == "rejected"
    # a second decision is refused (state machine)
    r = client.post(f"/orgs/admin/{b.id}/review", data={"action": "reject"}, headers=HX)
    assert r.status_code == 422
    assert db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.entity_type == "org", AuditLog.action.in_(["approve", "reject"]))) == 2


def test_edit_org_fields_aliases_region_certifications(client, auth, admin):
    parent = make_org("上级单位甲")
    org = make_org("某某科协")
    auth.login_as(admin)
    assert "上级单位" in client.get(f"/orgs/admin/{org.id}").get_data(as_text=True)
    r = client.post(f"/orgs/admin/{org.id}", data={
        "name": "某某市科学技术协会", "kind": "市级科协", "parent_id": str(parent.id),
        "region_province": "44", "region_city": "4401", "region_county": "",
        "certifications": ["全国科普教育基地"], "aliases": "某某市科协\n某某科协\n\n某某市科协"})
    assert r.status_code in (302, 303)
    db.session.expire_all()
    org = db.session.get(Org, org.id)
    assert org.name == "某某市科学技术协会" and org.kind == "市级科协"
    assert org.parent_id == parent.id and org.region_code == "4401"
    assert org.certifications == ["全国科普教育基地"]
    assert org.alias_names == ["某某市科协", "某某科协"]
    assert org.initials == "mmskxjsxh"
    assert db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.entity_id == org.id, AuditLog.action == "edit")) == 1


def test_parent_cycle_refused(client, auth, admin):
    top = make_org("顶层单位")
    mid = make_org("中间单位", parent_id=top.id)
    low = make_org("底层单位", parent_id=mid.id)
    auth.login_as(admin)
    for bad_parent in (top.id, low.id):
        r = client.post(f"/orgs/admin/{top.id}", data={"name": "顶层单位", "kind": "其他",
                                                     "parent_id": str(bad_parent)})
        assert r.status_code == 422
        assert "上级单位不能是本单位或其下级单位" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Org, top.id).parent_id is None
    assert ops.check_parent(low, top) is None


def test_edit_keeps_input_on_error(client, auth, admin):
    make_org("已存在单位")
    org = make_org("另一单位")
    auth.login_as(admin)
    r = client.post(f"/orgs/admin/{org.id}", data={"name": "已存在单位", "kind": "其他",
                                                   "aliases": "别名甲"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "已存在同名单位" in html and "别名甲" in html


def test_merge_suggestions_via_aliases(app, builtin):
    dup = make_org("北京市科协", kind="省级科协")
    got = [(o.name, s) for o, s in ops.merge_suggestions(dup)]
    assert got and got[0][0] == "北京市科学技术协会" and got[0][1] >= 95
    assert "上海市科学技术协会" not in [n for n, _ in got[:1]]


def test_merge_moves_every_reference(client, auth, admin, make_user):
    survivor = make_org("北京市科学技术协会", kind="省级科协", region_code="11")
    dup = make_org("北京市科协（重复）", kind="省级科协", certifications=["全国科普教育基地"])
    db.session.add(OrgAlias(org_id=dup.id, name="京科协"))
    child = make_org("北京市某区科协", kind="县级科协", parent_id=dup.id)
    u1 = make_user(roles=[("unit_admin", {"org_id": dup.id})])
    u2 = make_user(roles=[("unit_admin", {"org_id": dup.id}), ("unit_admin", {"org_id": survivor.id})])
    appl = UnitApplication(user_id=u1.id, org_id=dup.id, contact_name="张三", job_title="主任")
    db.session.add(appl)
    db.session.commit()
    auth.login_as(admin)
    page = client.get(f"/orgs/admin/{dup.id}/merge").get_data(as_text=True)
    assert "北京市科学技术协会" in page and "相似度" in page
    r = client.post(f"/orgs/admin/{dup.id}/merge", data={"other_id": str(survivor.id), "keep": "other"})
    assert r.status_code in (302, 303)
    db.session.expire_all()
    dup = db.session.get(Org, dup.id)
    survivor = db.session.get(Org, survivor.id)
    assert dup.status == "merged" and dup.merged_into_id == survivor.id
    assert db.session.get(Org, child.id).parent_id == survivor.id
    assert db.session.get(UnitApplication, appl.id).org_id == survivor.id
    grants = db.session.scalars(select(Grant).where(Grant.role == "unit_admin")).all()
    assert all(g.org_id == survivor.id for g in grants)
    assert sorted(g.user_id for g in grants) == [u1.id, u2.id]  # u2's duplicate dropped
    assert set(survivor.alias_names) >= {"北京市科协（重复）", "京科协"}
    assert survivor.certifications == ["全国科普教育基地"]
    assert db.session.scalar(select(func.count(OrgAlias.id)).where(OrgAlias.org_id == dup.id)) == 0
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "merge"))
    assert entry.entity_id == survivor.id and entry.actor_id == admin.id
    assert entry.data["merged_id"] == dup.id
    # the merged name now finds the survivor, the merged org is gone from search
    from kepu.orgs.search import search_orgs
    assert [h.org.id for h in search_orgs("北京市科协（重复）")] == [survivor.id]


def test_merge_keep_this_and_survivor_child_of_duplicate(app, admin):
    top = make_org("上级")
    dup = make_org("某学会", parent_id=top.id)
    surv = make_org("中国某学会", parent_id=dup.id)
    ops.merge_orgs(dup, surv, admin)
    db.session.expire_all()
    assert db.session.get(Org, surv.id).parent_id == top.id
    with pytest.raises(ops.OrgError):
        ops.merge_orgs(db.session.get(Org, dup.id), db.session.get(Org, surv.id), admin)


def test_merge_refuses_self(client, auth, admin):
    org = make_org("某单位")
    auth.login_as(admin)
    r = client.post(f"/orgs/admin/{org.id}/merge", data={"other_id": str(org.id)})
    assert r.status_code == 422 and "不能与本单位合并" in r.get_data(as_text=True)


def test_merge_covers_tables_added_later(app):
    cols = {f"{c.table.name}.{c.name}" for c in ops.org_references()}
    assert {"org.parent_id", "org_alias.org_id", "grant.org_id",
            "unit_application.org_id"} <= cols


def test_edit_parent_search_without_js_keeps_edits(client, auth, admin, builtin):
    org = make_org("某某单位")
    auth.login_as(admin)
    r = client.get(f"/orgs/admin/{org.id}", query_string={
        "name": "某某单位（改）", "kind": "其他", "parent_id_q": "bjskx", "parent_id_search": "1"})
    html = r.get_data(as_text=True)
    assert 'value="某某单位（改）"' in html
    bj = db.session.scalar(select(Org).where(Org.name == "北京市科学技术协会"))
    assert f'type="radio" name="parent_id" value="{bj.id}"' in html
