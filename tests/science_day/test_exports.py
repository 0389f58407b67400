"""活动管理 exports: Excel as a job (immediate in tests), CSV streamed; the rows of the
filtered list and of the viewer's scope only; refused when the scope is no longer theirs."""
from __future__ import annotations

import pytest

from kepu.accounts.models import Grant
from kepu.extensions import db
from kepu.jobs import JobRefused
from kepu.science_day import exports
from tests.science_day.test_review import sd  # noqa: F401  (fixture)
from tests.works.test_works_review_export import csv_rows, export_rows


def test_province_export_has_its_rows_and_every_field(client, auth, sd):  # noqa: F811
    a = sd.make(name="北京的食品安全科普", food_safety=True, joint_action=True,
                joint_action_items=["科技馆联合行动"],
                organisers=[{"name": "=某承办单位"}])
    sd.make(name="广州的活动", supervisor=sd.gz, category="市科协", region="440106")
    auth.login_as(sd.bj_admin)
    rows = export_rows(client, "/science-day/review/province/export.xlsx")
    header, data = rows[0], rows[1:]
    assert header[:6] == ["Id", "活动名称", "填报单位", "所在地区", "提交人", "提交人手机"]
    assert len(data) == 1
    row = dict(zip(header, data[0]))
    assert row["Id"] == a.id
    assert row["活动名称"] == "北京的食品安全科普"
    assert row["审核状态"] == "省管理员审批中"
    assert row["食品安全"] == "是"
    assert row["纳入联合行动"] == "是（科技馆联合行动）"
    assert row["承办单位"] == "'=某承办单位"       # formula injection neutralised
    assert row["参与科技工作者"] == "张院士，某研究所，研究员"
    assert row["归口单位"] == "北京市科学技术协会"
    assert row["首审省份"] == "北京市"


def test_export_follows_the_filters(client, auth, sd):  # noqa: F811
    sd.make(name="线上讲座")
    sd.make(name="线下展览")
    auth.login_as(sd.national)
    rows = csv_rows(client, "/science-day/review/national/export.csv?q=讲座")
    assert [r[1] for r in rows[1:]] == ["线上讲座"]
    rows = export_rows(client, "/science-day/review/national/export.xlsx?q=展览")
    assert [r[1] for r in rows[1:]] == ["线下展览"]


def test_supervisor_and_region_exports_are_scoped(client, auth, sd):  # noqa: F811
    sd.make(name="学会归口", supervisor=sd.society, category="全国学会", region="110105",
            status="national_pending")
    sd.make(name="广州区县活动", supervisor=sd.gz, category="市科协", region="440106")
    sd.make(name="北京活动")
    auth.login_as(sd.society_admin)
    assert [r[1] for r in csv_rows(client, "/science-day/review/supervisor/export.csv")[1:]] \
        == ["学会归口"]
    auth.login_as(sd.city_admin)
    assert [r[1] for r in csv_rows(client, "/science-day/review/region/export.csv")[1:]] \
        == ["广州区县活动"]


@pytest.mark.parametrize("who,url", [
    ("officer", "/science-day/review/province/export.csv"),
    ("gd_admin", "/science-day/review/national/export.csv"),
    ("bj_admin", "/science-day/review/supervisor/export.csv"),
    ("society_admin", "/science-day/review/province/export.csv"),
])
def test_export_of_a_list_not_yours_is_404(client, auth, sd, who, url):  # noqa: F811
    auth.login_as(getattr(sd, who))
    assert client.get(url).status_code == 404
    assert client.post(url.replace(".csv", ".xlsx")).status_code == 404


def test_worker_refuses_when_the_grant_is_gone(app, sd):  # noqa: F811
    params = {"campaign_id": sd.campaign.id, "list": "province", "scope": "11", "qs": ""}
    assert exports.spec(sd.bj_admin, params).total == 0
    with pytest.raises(JobRefused):
        exports.spec(sd.gd_admin, params)
    db.session.query(Grant).filter_by(user_id=sd.bj_admin.id).delete()
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(JobRefused):
        exports.spec(sd.bj_admin, params)
