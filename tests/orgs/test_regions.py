from kepu.orgs import regions

from .conftest import HX


def test_helpers_province_city_county():
    assert len(regions.provinces()) >= 31
    assert regions.name("44") == "广东省"
    assert regions.full_name("440111") == "广东省广州市白云区"
    assert regions.province_code("440111") == "44"
    assert regions.normalize("440000") == "44"
    assert regions.normalize("440100") == "4401"
    assert regions.normalize("999999") is None
    assert [r.code for r in regions.children("4401")][:2] == ["440103", "440104"]


def test_direct_municipality_has_districts_directly():
    kids = regions.children("11")
    assert kids and all(k.code.startswith("11") and len(k.code) == 6 for k in kids)
    assert "朝阳区" in [k.name for k in kids]
    assert regions.is_direct("11")
    assert regions.full_name("110105") == "北京市朝阳区"
    assert regions.split("110105") == ("11", "110105", None)


def test_from_parts_tolerates_partial_and_stale_selections():
    assert regions.from_parts("44") == "44"
    assert regions.from_parts("44", "4401") == "4401"
    assert regions.from_parts("44", "4401", "440111") == "440111"
    # a city of another province (stale no-JS submission) is ignored
    assert regions.from_parts("44", "3201", "320102") == "44"
    assert regions.from_parts("11", "110105", "") == "110105"
    assert regions.from_parts("", "4401") is None


def test_cascade_endpoint(client):
    r = client.get("/orgs/regions?province=44", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert '<option value="4401">广州市</option>' in html
    assert 'hx-swap-oob="innerHTML"' in html  # county select is reset
    r = client.get("/orgs/regions?city=4401", headers=HX)
    html = r.get_data(as_text=True)
    assert '<option value="440111">白云区</option>' in html
    assert "广州市" not in html


def test_cascade_endpoint_direct_municipality(client):
    html = client.get("/orgs/regions?province=11").get_data(as_text=True)
    assert "请选择区" in html
    assert '<option value="110105">朝阳区</option>' in html
    # the field-named parameter of the macro's select works too
    html = client.get("/orgs/regions?prefix=loc&loc_province=12").get_data(as_text=True)
    assert "和平区" in html and 'id="loc_county"' in html


def test_region_select_renders_current_value_on_edit_page(client, auth, make_user):
    from kepu.extensions import db
    from kepu.orgs.models import Org

    org = Org(name="白云区科协", kind="县级科协", region_code="440111", certifications=[])
    db.session.add(org)
    db.session.commit()
    auth.login_as(make_user(roles=["platform_admin"]))
    html = client.get(f"/orgs/admin/{org.id}").get_data(as_text=True)
    assert '<option value="44" selected>广东省</option>' in html
    assert '<option value="4401" selected>广州市</option>' in html
    assert '<option value="440111" selected>白云区</option>' in html
    assert 'hx-get="/orgs/regions?prefix=region' in html
    # without JavaScript: a changed province with a stale city keeps only the province
    r = client.post(f"/orgs/admin/{org.id}", data={"name": "白云区科协", "kind": "县级科协",
                                                   "region_province": "11", "region_city": "4401",
                                                   "region_county": "440111"})
    assert r.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Org, org.id).region_code == "11"
    html = client.get(f"/orgs/admin/{org.id}").get_data(as_text=True)
    assert '<option value="110105">朝阳区</option>' in html and "请选择区" in html
