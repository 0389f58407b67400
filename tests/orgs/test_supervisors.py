"""归口单位: categories, the 直辖市 rule, the province of an activity, higher levels, and
the category-filtered autocomplete of the org picker (kepu.orgs.supervisors)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kepu.extensions import db
from kepu.orgs import supervisors as sv
from kepu.orgs.generate import generate_cast_orgs
from kepu.orgs.models import Org
from kepu.orgs.operations import OrgError, update_org

from .conftest import HX, org_named


@pytest.fixture
def hierarchy(builtin):
    result = generate_cast_orgs()
    assert result.warnings == []
    return result


def names(html: str) -> list[str]:
    return [n.strip() for n in re.findall(r'class="ac-name">([^<]+)', html)]


def test_check_supervisor_rules(app, hierarchy, make_user):
    chaoyang_bj = org_named("北京市朝阳区科学技术协会")
    xihu = org_named("杭州市西湖区科学技术协会")
    hz = org_named("杭州市科学技术协会")
    zj = org_named("浙江省科学技术协会")
    assert sv.check_supervisor(None, xihu) == "请选择归口单位类别"
    assert sv.check_supervisor("区县科协", None) == "请选择归口单位"
    # valid pairs
    assert sv.check_supervisor("区县科协", xihu) is None
    assert sv.check_supervisor("市科协", hz) is None
    assert sv.check_supervisor("省科协", zj) is None
    assert sv.check_supervisor("市科协", chaoyang_bj) is None  # the 直辖市 rule
    assert sv.check_supervisor("省科协", org_named("新疆生产建设兵团科学技术协会")) is None
    assert sv.check_supervisor("全国学会", org_named("中国科普作家协会")) is None
    # 部委: by kind (外交部) or by a further kind (教育部 is a 纲要办成员单位 and a 部委)
    assert sv.check_supervisor("有关部委", org_named("外交部")) is None
    assert sv.check_supervisor("有关部委", org_named("教育部")) is None
    assert sv.check_supervisor("有关部委", org_named("中国科学技术协会")) == \
        "「中国科学技术协会」不是有关部委，请重新选择"
    # the 直辖市 rule says what to pick instead
    msg = sv.check_supervisor("区县科协", chaoyang_bj)
    assert "直辖市的区县请将归口单位类别选为“市科协”" in msg and "北京市朝阳区科学技术协会" in msg
    # a wrong category names the right one
    assert sv.check_supervisor("市科协", xihu) == \
        "「杭州市西湖区科学技术协会」属于“区县科协”，请将归口单位类别选为“区县科协”"
    assert sv.check_supervisor("市科协", org_named("北京市科学技术协会")) == \
        "「北京市科学技术协会」属于“省科协”，请将归口单位类别选为“省科协”"
    assert "属于“区县科协”" in sv.check_supervisor("市科协", org_named("济源市科学技术协会"))
    # only reviewed orgs
    user = make_user()
    pending = Org(name="某县科学技术协会（待审）", kind="县级科协", status="pending",
                  created_by_id=user.id, certifications=[])
    db.session.add(pending)
    db.session.commit()
    assert sv.check_supervisor("区县科协", pending) == "请从组织库中选择已审核的归口单位"
    # validate_supervisor: ids from a form
    assert sv.validate_supervisor("区县科协", str(xihu.id)) == (xihu, None)
    assert sv.validate_supervisor("区县科协", str(chaoyang_bj.id))[1].startswith("直辖市")
    assert sv.validate_supervisor("区县科协", "") == (None, "请选择归口单位")
    assert sv.validate_supervisor("乡镇科协", str(xihu.id)) == (None, "请选择归口单位类别")


def test_province_comes_from_the_region_code_not_the_parent_chain(app, hierarchy):
    xihu = org_named("杭州市西湖区科学技术协会")
    assert sv.province_code_of(xihu) == "33"
    # a wrong parent (seed 003 一.2(4)) does not move the activity to another province
    xihu.parent_id = org_named("广东省科学技术协会").id
    db.session.commit()
    assert sv.province_code_of(xihu) == "33"
    assert sv.provincial_org_of(xihu) == org_named("浙江省科学技术协会")
    # no region code: the activity's 所在地区, else nothing (never the parent chain)
    orphan = Org(name="某区科协", kind="县级科协", certifications=[],
                 parent_id=org_named("广东省科学技术协会").id)
    db.session.add(orphan)
    db.session.commit()
    assert sv.province_code_of(orphan) is None
    assert sv.province_code_of(orphan, "330106") == "33"
    assert sv.province_code_of(None, "110105") == "11"
    assert sv.provincial_org_of(orphan, "4401") == org_named("广东省科学技术协会")
    # the 兵团 shares 新疆's code but has its own provincial 科协
    shz = org_named("石河子市科学技术协会")
    assert sv.province_code_of(shz) == "65"
    assert sv.provincial_org_of(shz) == org_named("新疆生产建设兵团科学技术协会")
    assert sv.provincial_org_of(org_named("乌鲁木齐市科学技术协会")) == \
        org_named("新疆维吾尔自治区科学技术协会")
    assert sv.provincial_org_of(None, "659002") == org_named("新疆生产建设兵团科学技术协会")


def test_higher_levels(app, hierarchy):
    def levels(name):
        return [(c, o.name) for c, o in sv.higher_levels(org_named(name))]

    assert levels("杭州市西湖区科学技术协会") == [("市科协", "杭州市科学技术协会"),
                                                ("省科协", "浙江省科学技术协会")]
    assert levels("杭州市科学技术协会") == [("省科协", "浙江省科学技术协会")]
    assert levels("北京市朝阳区科学技术协会") == [("省科协", "北京市科学技术协会")]
    assert levels("济源市科学技术协会") == [("省科协", "河南省科学技术协会")]
    assert levels("石河子市科学技术协会") == [("省科协", "新疆生产建设兵团科学技术协会")]
    assert levels("浙江省科学技术协会") == []
    assert levels("中国科普作家协会") == []
    assert [(c, o.name) for c, o in sv.levels_for_region("330122")] == [
        ("区县科协", "桐庐县科学技术协会"), ("市科协", "杭州市科学技术协会"),
        ("省科协", "浙江省科学技术协会")]
    assert sv.levels_for_region(None) == []


def test_search_is_limited_to_the_category(app, hierarchy):
    def found(category, q):
        return [h.org.name for h in sv.search_supervisors(category, q, limit=20)]

    xihu = found("区县科协", "西湖区")
    assert sorted(xihu[:2]) == ["南昌市西湖区科学技术协会", "杭州市西湖区科学技术协会"]
    assert xihu[2:] == ["武汉市东西湖区科学技术协会"]  # a substring ranks after prefixes
    assert found("市科协", "西湖") == []
    assert found("市科协", "杭州") == ["杭州市科学技术协会"]
    assert "北京市朝阳区科学技术协会" in found("市科协", "朝阳")
    assert "北京市朝阳区科学技术协会" not in found("区县科协", "朝阳")
    assert "长春市朝阳区科学技术协会" in found("区县科协", "朝阳")
    assert found("省科协", "兵团") == ["新疆生产建设兵团科学技术协会"]
    assert found("有关部委", "科技部") == ["科学技术部"]
    assert found("有关部委", "外交") == ["外交部"]
    assert found("有关部委", "中国科协") == []
    assert found("全国学会", "科普作协") == ["中国科普作家协会"]
    other = [(c, h.org.name) for c, h in sv.elsewhere("区县科协", "东城区")]
    assert other == [("市科协", "北京市东城区科学技术协会")]


def test_autocomplete_by_category_shows_certified_and_the_municipality_hint(client, hierarchy):
    xihu = org_named("杭州市西湖区科学技术协会")
    xihu.certifications = ["全国科普示范县（市、区）"]
    db.session.commit()
    base = "/orgs/autocomplete?field=sup&category_field=cat&allow_add=0&active_only=1"
    r = client.get(base + "&cat=区县科协&q=西湖区", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert set(names(html)) == {"杭州市西湖区科学技术协会", "南昌市西湖区科学技术协会",
                                "武汉市东西湖区科学技术协会"}
    # told apart by region; the certified one says so
    assert "区县科协 · 浙江省杭州市西湖区" in html and "区县科协 · 江西省南昌市西湖区" in html
    assert html.count("已认证") == 1 and "全国科普示范县（市、区）" in html
    assert "添加" not in html
    # only the chosen category's kinds
    html = client.get(base + "&cat=市科协&q=西湖区", headers=HX).get_data(as_text=True)
    assert "杭州市西湖区科学技术协会</span>" not in html
    # a district of a 直辖市 under 区县科协: the hint, and one click picks 市科协 + the org
    html = client.get(base + "&cat=区县科协&q=东城区", headers=HX).get_data(as_text=True)
    assert "直辖市的区县请将类别选为“市科协”" in html
    dc = org_named("北京市东城区科学技术协会")
    assert f'value="市科协:{dc.id}"' in html
    r = client.get(f"/orgs/pick?field=sup&category_field=cat&allow_add=0&active_only=1"
                   f"&cat=区县科协&sup_pick=市科协:{dc.id}", headers=HX)
    html = r.get_data(as_text=True)
    assert f'name="sup" value="{dc.id}"' in html
    assert re.search(r'<option value="市科协" selected>', html)
    assert "北京市科学技术协会" in html  # the higher level, one click away


def test_autocomplete_offers_the_regions_levels_when_nothing_matches(client, hierarchy):
    url = ("/orgs/autocomplete?field=sup&category_field=cat&region=region&allow_add=0"
           "&cat=区县科协&q=不存在的单位&region_province=33&region_city=3301"
           "&region_county=330122")
    html = client.get(url, headers=HX).get_data(as_text=True)
    assert "找不到归口单位时，可选择所在地区的上一级单位" in html
    tl, hz, zj = (org_named(n) for n in ("桐庐县科学技术协会", "杭州市科学技术协会",
                                          "浙江省科学技术协会"))
    for category, org in (("区县科协", tl), ("市科协", hz), ("省科协", zj)):
        assert f'value="{category}:{org.id}"' in html
    # picking a category changes the picker's search (the select re-renders the picker)
    html = client.get("/orgs/pick?field=sup&category_field=cat&cat=省科协",
                      headers=HX).get_data(as_text=True)
    assert re.search(r'<option value="省科协" selected>', html) and 'name="sup_q"' in html
    # an org of another category picked by id switches the category to its own
    html = client.get(f"/orgs/pick?field=sup&category_field=cat&cat=区县科协&id={hz.id}",
                      headers=HX).get_data(as_text=True)
    assert re.search(r'<option value="市科协" selected>', html)


def test_picker_without_categories_is_unchanged(client, hierarchy):
    html = client.get("/orgs/autocomplete?q=教育部&kinds=部委&field=org_id",
                      headers=HX).get_data(as_text=True)
    assert names(html) == ["教育部"]  # found through its further kind
    assert "category" not in html
    html = client.get("/orgs/autocomplete?q=教育部&kinds=全国学会&field=org_id",
                      headers=HX).get_data(as_text=True)
    assert names(html) == []


def test_bad_picker_parameters_are_refused(client):
    assert client.get("/orgs/pick?field=a&category_field=x%22y").status_code == 400
    assert client.get("/orgs/autocomplete?q=a&field=a&category_field=c&region=r-1"
                      ).status_code == 400


def test_supervisor_check_page(client, auth, hierarchy, admin):
    auth.login_as(admin)
    cy = org_named("北京市朝阳区科学技术协会")
    r = client.get(f"/orgs/admin/supervisor?category=区县科协&supervisor_id={cy.id}&check=1")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "直辖市的区县请将归口单位类别选为“市科协”" in html
    # the picker keeps the choice and says what is wrong with it, next to it
    assert f'name="supervisor_id" value="{cy.id}"' in html
    assert re.search(r'id="supervisor_id-problem" role="alert">直辖市的区县', html)
    r = client.get(f"/orgs/admin/supervisor?category=市科协&supervisor_id={cy.id}&check=1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "类别与归口单位一致" in html
    assert re.search(r'id="supervisor-province">北京市科学技术协会', html)
    assert "按归口单位的地区代码" in html
    # without JavaScript: a search re-renders the page with radio options of the category
    r = client.get("/orgs/admin/supervisor?category=区县科协&supervisor_id_q=西湖"
                   "&supervisor_id_search=1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.count('type="radio" name="supervisor_id"') == 3
    # … and a one-click suggestion is a plain GET submit
    r = client.get("/orgs/admin/supervisor?category=区县科协&supervisor_id_q=东城区"
                   "&supervisor_id_search=1")
    dc = org_named("北京市东城区科学技术协会")
    assert f'name="supervisor_id_pick" value="市科协:{dc.id}"' in r.get_data(as_text=True)
    r = client.get(f"/orgs/admin/supervisor?category=区县科协&supervisor_id_pick=市科协:{dc.id}")
    html = r.get_data(as_text=True)
    assert f'name="supervisor_id" value="{dc.id}"' in html
    assert re.search(r'<option value="市科协" selected>', html)


def test_a_county_cast_of_a_municipality_is_refused_by_edit_and_import(app, hierarchy, admin):
    import io

    from kepu.orgs.operations import import_orgs

    cy = org_named("北京市朝阳区科学技术协会")
    with pytest.raises(OrgError) as e:
        update_org(cy, admin, name=cy.name, kind="县级科协", parent=cy.parent,
                   region_code=cy.region_code, certifications=[], aliases=cy.alias_names)
    assert e.value.field == "kind" and "市级科协" in e.value.message
    db.session.rollback()
    r = import_orgs(io.BytesIO("名称,类别,地区代码\n某区科协,县级科协,110105\n".encode()),
                    "x.csv")
    assert r.created == 0 and "直辖市的区、县科协类别应为“市级科协”" in r.errors[0]
    r = import_orgs(io.BytesIO(f"名称,类别\n{cy.name},县级科协\n".encode()), "x.csv")
    assert r.updated == 0 and r.errors
    assert db.session.get(Org, cy.id).kind == "市级科协"


def test_further_kinds_edit_and_merge(client, auth, builtin, admin):
    from kepu.orgs.operations import merge_orgs

    auth.login_as(admin)
    org = org_named("中国科学院")
    assert org.also_kinds == ["部委"]
    r = client.post(f"/orgs/admin/{org.id}", data={
        "name": org.name, "kind": org.kind, "also_kinds": ["部委", "全国学会"],
        "aliases": "中科院"})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Org, org.id).also_kinds == ["全国学会", "部委"]
    page = client.get(f"/orgs/admin/{org.id}").get_data(as_text=True)
    assert re.search(r'value="全国学会" aria-describedby="also-kinds-hint" checked', page)
    # merging moves further kinds; one equal to the survivor's kind is dropped
    dup = Org(name="中科院（重复）", kind="其他", certifications=[])
    db.session.add(dup)
    db.session.commit()
    from kepu.orgs.operations import set_also_kinds

    set_also_kinds(dup, ["部委", "纲要办成员单位", "其他"])
    db.session.commit()
    merge_orgs(dup, db.session.get(Org, org.id), admin)
    survivor = db.session.get(Org, org.id)
    assert survivor.also_kinds == ["全国学会", "部委"]
    assert "纲要办成员单位" not in survivor.also_kinds
    assert db.session.scalar(select(Org).where(Org.name == "中科院（重复）")).status == "merged"


def test_a_second_cast_for_a_generated_region_is_refused(client, auth, hierarchy, admin):
    import io

    from kepu.orgs.operations import import_orgs

    r = import_orgs(io.BytesIO("名称,类别,地区代码\n西湖区科协（重复）,县级科协,330106\n".encode()),
                    "x.csv")
    assert r.created == 0 and "浙江省杭州市西湖区已有县级科协「杭州市西湖区科学技术协会」" in r.errors[0]
    # the admin editor says so next to 所在地区, keeping what was typed
    other = Org(name="某单位", kind="其他", certifications=[])
    db.session.add(other)
    db.session.commit()
    auth.login_as(admin)
    r = client.post(f"/orgs/admin/{other.id}", data={
        "name": "某单位", "kind": "县级科协", "region_province": "33", "region_city": "3301",
        "region_county": "330106"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert re.search(r'id="region-error" role="alert">浙江省杭州市西湖区已有县级科协', html)
    assert db.session.get(Org, other.id).kind == "其他"
    # a generated org itself, and another kind in the same region, are fine
    xihu = org_named("杭州市西湖区科学技术协会")
    update_org(xihu, admin, name=xihu.name, kind="县级科协", parent=xihu.parent,
               region_code="330106", certifications=[], aliases=xihu.alias_names)
    r = import_orgs(io.BytesIO("名称,类别,地区代码\n西湖区某学会,其他,330106\n".encode()), "y.csv")
    assert r.created == 1 and r.errors == []
