import pytest
from sqlalchemy import select

from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.orgs.operations import reindex, set_aliases
from kepu.orgs.search import initials_of, pinyin_of, search_orgs

from .conftest import HX, org_named


def names(html_or_hits):
    return [h.org.name for h in html_or_hits]


def test_pinyin_keys():
    assert initials_of("北京市科学技术协会") == "bjskxjsxh"
    assert initials_of("北京市科协") == "bjskx"
    assert pinyin_of("北京市科学技术协会") == "beijingshikexuejishuxiehui"


@pytest.mark.parametrize("q", ["科学技术协会", "北京市科学", "北京市科协", "北京科协", "bjskx", "BJSKX",
                               "bjs", "beijingshi", "skxjsxh"])
def test_search_finds_beijing_cast(builtin, q):
    assert "北京市科学技术协会" in names(search_orgs(q))


def test_search_ranks_exact_and_prefix_first(builtin):
    hits = search_orgs("北京市科学技术协会")
    assert hits[0].org.name == "北京市科学技术协会" and hits[0].rank == 0
    hits = search_orgs("科学技术协会", limit=50)
    assert hits[0].org.name == "中国科学技术协会" or hits[0].rank <= hits[-1].rank
    assert all(a.rank <= b.rank for a, b in zip(hits, hits[1:]))


def test_search_no_false_positives(builtin):
    assert search_orgs("bjskxq") == []
    assert "上海市科学技术协会" not in names(search_orgs("bjskx"))
    assert search_orgs("") == []


def test_kinds_filter(builtin):
    got = names(search_orgs("科学技术协会", kinds=["全国学会"], limit=50))
    assert "北京市科学技术协会" not in got


def test_autocomplete_endpoint_by_alias_and_initials(client, builtin):
    for q in ("北京科协", "bjskx", "北京市科协"):
        html = client.get("/orgs/autocomplete", query_string={"q": q, "field": "org_id"},
                          headers=HX).get_data(as_text=True)
        assert "北京市科学技术协会" in html, q
        assert 'hx-target="#org_id-picker"' in html
        assert "省级科协" in html and "北京市" in html


def test_autocomplete_reads_the_field_named_parameter(client, builtin):
    html = client.get("/orgs/autocomplete?field=parent_id&parent_id_q=bjskx").get_data(as_text=True)
    assert "北京市科学技术协会" in html and "#parent_id-picker" in html


def test_autocomplete_certified_badge(client, builtin):
    html = client.get("/orgs/autocomplete?q=中国科学技术馆&field=org_id").get_data(as_text=True)
    assert "已认证" in html
    assert 'title="全国科普教育基地"' in html
    html = client.get("/orgs/autocomplete?q=北京科协&field=org_id").get_data(as_text=True)
    assert "已认证" not in html


def test_autocomplete_excludes_merged_and_others_pending(client, builtin, make_user, auth):
    owner = make_user()
    other = make_user()
    db.session.add(Org(name="测试待审单位", kind="其他", status="pending", created_by_id=owner.id,
                       certifications=[], pinyin=pinyin_of("测试待审单位"),
                       initials=initials_of("测试待审单位")))
    db.session.add(Org(name="测试已合并单位", kind="其他", status="merged", certifications=[]))
    db.session.commit()
    assert "测试待审单位" not in client.get("/orgs/autocomplete?q=测试").get_data(as_text=True)
    auth.login_as(other)
    assert "测试待审单位" not in client.get("/orgs/autocomplete?q=测试").get_data(as_text=True)
    auth.login_as(owner)
    html = client.get("/orgs/autocomplete?q=测试").get_data(as_text=True)
    assert "测试待审单位" in html and "待审核" in html
    assert "测试已合并单位" not in html


def test_no_match_offers_add_only_when_logged_in(client, builtin, make_user, auth):
    html = client.get("/orgs/autocomplete?q=某某县科学技术协会&field=org_id").get_data(as_text=True)
    assert "未找到「某某县科学技术协会」" in html
    assert "添加「" not in html and "登录后可添加" in html
    auth.login_as(make_user())
    html = client.get("/orgs/autocomplete?q=某某县科学技术协会&field=org_id").get_data(as_text=True)
    assert "添加「某某县科学技术协会」" in html and 'hx-post="/orgs/add' in html
    html = client.get("/orgs/autocomplete?q=某某县科学技术协会&field=org_id&allow_add=0").get_data(as_text=True)
    assert "添加「" not in html


def test_add_creates_pending_org_and_selects_it(client, builtin, make_user, auth):
    user = make_user()
    auth.login_as(user)
    r = client.post("/orgs/add?field=supervisor_id&kinds=县级科协", data={"name": "  某某县科学技术协会 "},
                    headers=HX)
    assert r.status_code == 200
    org = org_named("某某县科学技术协会")
    assert org is not None and org.status == "pending" and org.created_by_id == user.id
    assert org.kind == "县级科协"
    assert org.initials == "mmxkxjsxh"
    html = r.get_data(as_text=True)
    assert f'name="supervisor_id" value="{org.id}"' in html and "已选择" in html
    # the creator now finds it; adding it again selects the same org
    assert "某某县科学技术协会" in client.get("/orgs/autocomplete?q=mmx").get_data(as_text=True)
    client.post("/orgs/add", data={"name": "某某县科学技术协会"}, headers=HX)
    assert len(db.session.scalars(select(Org).where(Org.name == "某某县科学技术协会")).all()) == 1


def test_add_without_js_redirects_back_with_selection(client, make_user, auth):
    auth.login_as(make_user())
    r = client.post("/orgs/add?field=org_id&next=/orgs/apply",
                    data={"add_name": "某某大学科学技术协会", "contact_name": "张三",
                          "org_id_q": "某某大学科学技术协会"})
    assert r.status_code == 303
    org = org_named("某某大学科学技术协会")
    assert f"org_id={org.id}" in r.location and "contact_name=" in r.location
    assert "org_id_q" not in r.location


def test_add_requires_login_and_valid_name(client, make_user, auth):
    r = client.post("/orgs/add", data={"name": "某单位"})
    assert r.status_code in (302, 303, 401)
    assert org_named("某单位") is None
    auth.login_as(make_user())
    r = client.post("/orgs/add?field=org_id", data={"name": "某"}, headers=HX)
    assert r.status_code == 422 and "至少 2 个字" in r.get_data(as_text=True)


def test_pick_endpoint_validates(client, builtin):
    org = org_named("北京市科学技术协会")
    html = client.get(f"/orgs/pick?id={org.id}&field=org_id").get_data(as_text=True)
    assert "已选择：<strong>北京市科学技术协会</strong>" in html and "[更换]" in html
    assert client.get("/orgs/pick?id=999999&field=org_id").status_code == 404
    assert client.get(f"/orgs/pick?id={org.id}&field=org_id&kinds=全国学会").status_code == 404
    html = client.get("/orgs/pick?field=org_id").get_data(as_text=True)
    assert 'name="org_id_q"' in html and 'hx-get="/orgs/autocomplete' in html


def test_aliases_are_reindexed_on_change(app):
    org = Org(name="中国某某学会", kind="全国学会", certifications=[])
    reindex(org)
    set_aliases(org, ["某某学会"])
    db.session.add(org)
    db.session.commit()
    assert org.aliases[0].initials == "mmxh"
    assert "中国某某学会" in names(search_orgs("mmxh"))


def test_one_pass_search_keys_equal_the_two_pypinyin_styles():
    """search_keys() derives initials from one pypinyin pass; it must index exactly as
    the two separate passes (Style.NORMAL and Style.FIRST_LETTER) did."""
    import re

    from pypinyin import Style, lazy_pinyin

    from kepu.orgs import regions
    from kepu.orgs.search import search_keys

    def clean(parts):
        return re.sub(r"[^a-z0-9]+", "", "".join(parts).lower())

    samples = [r.name + "科学技术协会" for r in regions._index().values()]
    samples += ["CCF中国计算机学会", "中国科学院（CAS）2号楼", "长沙市长安区", "重庆市", "",
                "Ab-12 科协", "银行行长", "乐山市市中区"]
    for text in samples:
        want = (clean(lazy_pinyin(text, style=Style.NORMAL))[:400],
                clean(lazy_pinyin(text, style=Style.FIRST_LETTER))[:100])
        assert search_keys(text) == want, text
