"""科普中国信息员: certification in the page (real name → unit → undertaking → grant),
and platform admins revoking with a reason (the grant ends)."""
from __future__ import annotations

from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day.models import InfoOfficer

ID_NUMBER = "11010519491231002X"


def setup(make_user):
    db.session.add(Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={}))
    org = Org(name="某某科技馆", kind="其他")
    db.session.add(org)
    db.session.commit()
    return make_user("13900000801"), org


def test_certification_steps_and_grant(client, auth, make_user):
    user, org = setup(make_user)
    auth.login_as(user)
    html = client.get("/science-day/officer").get_data(as_text=True)
    assert "第一步：实名认证" in html and "第二步" not in html
    resp = client.post("/science-day/officer", data={"action": "realname", "real_name": "王小明",
                                                     "id_number": "123"})
    assert resp.status_code == 422 and "身份证" in resp.get_data(as_text=True)
    resp = client.post("/science-day/officer", data={"action": "realname", "real_name": "王小明",
                                                     "id_number": ID_NUMBER})
    assert resp.status_code == 303
    # the unit and the undertaking, each refused next to its field
    resp = client.post("/science-day/officer", data={"action": "certify", "org_id": str(org.id)})
    assert resp.status_code == 422 and 'id="agree-error"' in resp.get_data(as_text=True)
    resp = client.post("/science-day/officer", data={"action": "certify", "agree": "1"})
    assert resp.status_code == 422 and 'id="org_id-error"' in resp.get_data(as_text=True)
    resp = client.post("/science-day/officer", data={"action": "certify", "agree": "1",
                                                     "org_id": str(org.id)})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/activities/new")
    db.session.expire_all()
    assert user.has_role("info_officer")
    row = db.session.scalars(select(InfoOfficer)).one()
    assert (row.org_id, row.unit_name) == (org.id, "某某科技馆")


def test_certify_needs_real_name_first(client, auth, make_user):
    user, org = setup(make_user)
    auth.login_as(user)
    resp = client.post("/science-day/officer", data={"action": "certify", "agree": "1",
                                                     "org_id": str(org.id)})
    assert resp.status_code == 422
    db.session.expire_all()
    assert not user.has_role("info_officer")


def test_admin_lists_and_revokes_with_reason(client, auth, make_user):
    from kepu.timeutil import utcnow

    user, org = setup(make_user)
    user.real_name, user.real_name_verified_at = "王小明", utcnow()
    db.session.commit()
    from kepu.science_day.operations.officers import certify

    row = certify(user, org, True)
    admin = make_user("13900000802", roles=["platform_admin"])
    auth.login_as(admin)
    html = client.get("/science-day/admin/officers").get_data(as_text=True)
    assert "王小明" in html and "某某科技馆" in html
    resp = client.post(f"/science-day/admin/officers/{row.id}/revoke", data={"reason": " "})
    assert resp.status_code == 422 and "请填写撤销原因" in resp.get_data(as_text=True)
    resp = client.post(f"/science-day/admin/officers/{row.id}/revoke",
                       data={"reason": "冒用单位名义"})
    assert resp.status_code == 303
    db.session.expire_all()
    row = db.session.get(InfoOfficer, row.id)
    assert row.revoked_at and row.revoked_reason == "冒用单位名义"
    assert not db.session.get(type(user), user.id).has_role("info_officer")
    # a revoked officer is led back to certification
    auth.login_as(user)
    resp = client.get("/science-day/activities/new")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/officer")
    assert "已于" in client.get("/science-day/officer").get_data(as_text=True)
