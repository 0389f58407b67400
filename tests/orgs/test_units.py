from sqlalchemy import func, select

from kepu.accounts.models import Grant
from kepu.extensions import db
from kepu.orgs.channels import CHANNEL_FOR, UNIT_TYPES, channel_units, validate_channel
from kepu.orgs.models import UnitApplication
from kepu.workflow import AuditLog

from .conftest import HX, org_named


def apply(client, org, **extra):
    data = {"org_id": str(org.id), "contact_name": "张三", "job_title": "科普部部长", "note": ""}
    data.update(extra)
    return client.post("/orgs/apply", data=data)


def test_mapping_matches_seed():
    assert UNIT_TYPES == ["纲要办成员单位", "全国学会", "省级科协", "高校科协", "园区（企业）科协", "其他主体"]
    assert CHANNEL_FOR["高校科协"] == CHANNEL_FOR["园区（企业）科协"] == CHANNEL_FOR["其他主体"] == "省级科协"
    assert CHANNEL_FOR["全国学会"] == "全国学会"
    assert CHANNEL_FOR["纲要办成员单位"] == "纲要办成员单位"


def test_apply_pages_require_login(client):
    for url in ("/orgs/apply", "/orgs/mine"):
        r = client.get(url)
        assert r.status_code in (302, 303) and "login" in r.location


def test_apply_validation_messages(client, auth, make_user, builtin):
    auth.login_as(make_user())
    html = client.get("/orgs/apply").get_data(as_text=True)
    assert "申请单位" in html and 'name="org_id_q"' in html and "提交申请" in html
    r = client.post("/orgs/apply", data={"org_id": "", "contact_name": "", "job_title": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "请选择要申请的单位" in html and "请填写联系人姓名" in html and "请填写职务/职称" in html
    r = client.post("/orgs/apply", data={"org_id": "999999", "contact_name": "张三", "job_title": "x"})
    assert "所选单位不存在" in r.get_data(as_text=True)


def test_application_approve_makes_channel(client, auth, make_user, admin, builtin):
    bj = org_named("北京市科学技术协会")
    applicant = make_user(name="李四")
    auth.login_as(applicant)
    # before approval: not a channel
    html = client.get("/orgs/channels/options?unit_type=高校科协", headers=HX).get_data(as_text=True)
    assert "北京市科学技术协会" not in html and "推荐渠道类别：<strong>省级科协</strong>" in html
    r = apply(client, bj)
    assert r.status_code in (302, 303) and r.location.endswith("/orgs/mine")
    # one pending application per user + org
    r = apply(client, bj)
    assert r.status_code == 422 and "您已提交过该单位的申请，请等待审核" in r.get_data(as_text=True)
    html = client.get("/orgs/mine").get_data(as_text=True)
    assert "北京市科学技术协会" in html and "待审核" in html
    appl = db.session.scalar(select(UnitApplication))
    assert (appl.contact_name, appl.job_title, appl.status) == ("张三", "科普部部长", "pending")
    assert channel_units("高校科协") == []

    auth.login_as(admin)
    html = client.get("/orgs/admin/applications").get_data(as_text=True)
    assert "北京市科学技术协会" in html and "通过" in html and "驳回" in html
    r = client.post(f"/orgs/admin/applications/{appl.id}/approve", headers=HX)
    assert r.status_code == 200
    row = r.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="app-row-{appl.id}"') and "已通过" in row
    assert db.session.scalar(select(func.count(Grant.id)).where(
        Grant.user_id == applicant.id, Grant.role == "unit_admin", Grant.org_id == bj.id)) == 1
    assert db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.entity_type == "unit_application", AuditLog.action == "approve")) == 1

    for unit_type in ("省级科协", "高校科协", "园区（企业）科协", "其他主体"):
        html = client.get("/orgs/channels/options", query_string={"unit_type": unit_type},
                          headers=HX).get_data(as_text=True)
        assert f'<option value="{bj.id}">北京市科学技术协会</option>' in html, unit_type
    for unit_type in ("全国学会", "纲要办成员单位"):
        html = client.get("/orgs/channels/options", query_string={"unit_type": unit_type}).get_data(as_text=True)
        assert "北京市科学技术协会" not in html
    assert validate_channel("高校科协", bj.id) is None
    assert validate_channel("全国学会", bj.id) == "所选推荐渠道与申报单位类型不符"
    assert validate_channel("", bj.id) == "请选择申报单位类型"
    assert validate_channel("高校科协", "") == "请选择推荐渠道"
    # public page counts and list
    html = client.get("/orgs/channels?unit_type=其他主体").get_data(as_text=True)
    assert '<td data-kind="省级科协">1</td>' in html and "北京市科学技术协会" in html
    # the applicant now sees the unit as theirs
    auth.login_as(applicant)
    html = client.get("/orgs/mine").get_data(as_text=True)
    assert 'id="my-units"' in html and "已通过" in html


def test_org_with_admin_may_get_more_applicants(client, auth, make_user, admin, builtin):
    org = org_named("中国科普作家协会")
    first = make_user(roles=[("unit_admin", {"org_id": org.id})])
    second = make_user()
    auth.login_as(first)
    r = apply(client, org)
    assert r.status_code == 422 and "您已是该单位的推荐单位管理员" in r.get_data(as_text=True)
    auth.login_as(second)
    assert apply(client, org).status_code in (302, 303)
    html = client.get("/orgs/channels/options?unit_type=全国学会").get_data(as_text=True)
    assert "中国科普作家协会" in html


def test_reject_requires_comment_and_shows_it(client, auth, make_user, admin, builtin):
    org = org_named("中国气象学会")
    applicant = make_user()
    auth.login_as(applicant)
    apply(client, org)
    appl = db.session.scalar(select(UnitApplication))
    auth.login_as(admin)
    r = client.get(f"/orgs/admin/applications/{appl.id}/reject", headers=HX)
    assert 'name="comment"' in r.get_data(as_text=True)
    r = client.post(f"/orgs/admin/applications/{appl.id}/reject", data={"comment": "  "}, headers=HX)
    assert r.status_code == 422 and "请填写驳回理由" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(UnitApplication, appl.id).status == "pending"
    # without JS: the full page form
    r = client.post(f"/orgs/admin/applications/{appl.id}/reject", data={"comment": ""})
    assert r.status_code == 422 and "请填写驳回理由" in r.get_data(as_text=True)
    r = client.post(f"/orgs/admin/applications/{appl.id}/reject", data={"comment": "请使用单位邮箱重新申请"},
                    headers=HX)
    assert r.status_code == 200 and "已驳回" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Grant.id)).where(Grant.role == "unit_admin")) == 0
    assert "中国气象学会" not in client.get("/orgs/channels/options?unit_type=全国学会").get_data(as_text=True)
    auth.login_as(applicant)
    html = client.get("/orgs/mine").get_data(as_text=True)
    assert "已驳回" in html and "请使用单位邮箱重新申请" in html
    # a rejected applicant may apply again
    assert apply(client, org).status_code in (302, 303)


def test_others_applications_are_not_visible(client, auth, make_user, builtin):
    org = org_named("中国化学会")
    alice, bob = make_user(), make_user()
    auth.login_as(alice)
    apply(client, org, contact_name="爱丽丝")
    auth.login_as(bob)
    html = client.get("/orgs/mine").get_data(as_text=True)
    assert "中国化学会" not in html and "爱丽丝" not in html
    appl = db.session.scalar(select(UnitApplication))
    assert client.post(f"/orgs/admin/applications/{appl.id}/approve").status_code == 404
    assert client.get(f"/orgs/admin/applications/{appl.id}/reject").status_code == 404


def test_apply_requires_active_org(client, auth, make_user, builtin):
    user = make_user()
    auth.login_as(user)
    client.post("/orgs/add", data={"name": "某某新单位"}, headers=HX)
    pending = org_named("某某新单位")
    r = apply(client, pending)
    assert r.status_code == 422 and "尚未通过审核" in r.get_data(as_text=True)


def test_apply_without_js_search_rerenders_with_radios_and_keeps_input(client, auth, make_user, builtin):
    auth.login_as(make_user())
    r = client.get("/orgs/apply", query_string={"org_id_q": "bjskx", "org_id_search": "1",
                                                "contact_name": "王五", "job_title": "主任"})
    html = r.get_data(as_text=True)
    bj = org_named("北京市科学技术协会")
    assert f'type="radio" name="org_id" value="{bj.id}"' in html
    assert 'value="王五"' in html and 'value="主任"' in html
    # choosing the radio and submitting works
    assert apply(client, bj, contact_name="王五").status_code in (302, 303)


def test_channel_options_without_unit_type_offers_groups(client, make_user, builtin):
    bj = org_named("北京市科学技术协会")
    soc = org_named("中国科普作家协会")
    for org in (bj, soc):
        db.session.add(Grant(user_id=make_user().id, role="unit_admin", org_id=org.id))
    db.session.commit()
    html = client.get("/orgs/channels/options").get_data(as_text=True)
    assert '<optgroup label="省级科协">' in html and '<optgroup label="全国学会">' in html
    assert "请先选择申报单位类型" in html


def test_public_channels_page(client, builtin):
    r = client.get("/orgs/channels")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "推荐渠道查询" in html and "申报单位类型" in html and "查询" in html
    assert "如果未找到推荐单位，请联系推荐渠道咨询" in html
    assert "暂无推荐单位的【其他主体】申报用户，可联系本省省级科协作为推荐渠道。" in html
    for t, c in CHANNEL_FOR.items():
        assert f"<td>{t}</td><td>{c}</td>" in html
    frag = client.get("/orgs/channels?unit_type=全国学会", headers=HX).get_data(as_text=True)
    assert "<html" not in frag and "全国学会可选的推荐渠道" in frag


def test_a_further_kind_makes_an_org_a_channel_of_that_kind(app, make_user):
    from kepu.accounts.models import Grant
    from kepu.extensions import db
    from kepu.orgs.channels import channel_counts, channel_units
    from kepu.orgs.models import Org
    from kepu.orgs.operations import set_also_kinds

    org = Org(name="外交部", kind="部委", certifications=[])
    db.session.add(org)
    db.session.commit()
    user = make_user()
    db.session.add(Grant(user_id=user.id, role="unit_admin", org_id=org.id))
    db.session.commit()
    assert channel_units("纲要办成员单位") == []
    set_also_kinds(org, ["纲要办成员单位"])
    db.session.commit()
    assert channel_units("纲要办成员单位") == [org]
    assert channel_counts()["纲要办成员单位"] == 1 and channel_counts()["全国学会"] == 0
