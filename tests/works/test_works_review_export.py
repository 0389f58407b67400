"""xlsx exports of the unit's (filtered) list and of the admin's list."""
from __future__ import annotations

import io

from openpyxl import load_workbook


def sheet_rows(resp):
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data), read_only=True)
    ws = wb.worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_unit_export_every_field_status_and_files(client, auth, wc):
    w = wc.make_work(title="导出作品", media_reports=[{"title": "科技日报", "url": "https://example.com/a"}],
                     awards="=全国一等奖", status="returned", return_comment="补充材料")
    wc.make_work(title="外单位作品", channel=wc.other_unit)
    wc.make_work(title="草稿作品", status="draft")
    auth.login_as(wc.unit_admin)
    rows = sheet_rows(client.get("/works/unit/export.xlsx"))
    header, data = rows[0], rows[1:]
    assert header[:4] == ["编号", "作品名称", "作品类型", "作品分类"]
    assert len(data) == 1
    row = dict(zip(header, data[0]))
    assert row["编号"] == w.id
    assert row["作品名称"] == "导出作品"
    assert row["作品简介"] == "用动画讲清量子比特。"
    assert row["联系电话"] == "13912345678"
    assert row["推荐渠道"] == "北京市科学技术协会"
    assert row["状态"] == "退回修改"
    assert row["退回意见"] == "补充材料"
    assert row["相关媒体报道"] == "科技日报 https://example.com/a"
    assert row["获奖情况"] == "'=全国一等奖"  # formula injection neutralised
    assert row["作品封面"] == "cover.png"
    assert row["作品文件"] == "作品.pdf"
    assert row["封面副图"] in (None, "")
    assert row["申报账号"] == wc.applicant.phone


def test_unit_export_follows_filters(client, auth, wc):
    wc.make_work(title="科普甲")
    wc.make_work(title="健康乙", status="recommended")
    auth.login_as(wc.unit_admin)
    rows = sheet_rows(client.get("/works/unit/export.xlsx?status=recommended"))
    assert [r[1] for r in rows[1:]] == ["健康乙"]
    rows = sheet_rows(client.get("/works/unit/export.xlsx?q=科普"))
    assert [r[1] for r in rows[1:]] == ["科普甲"]
    # the list links to the export with the same filters
    html = client.get("/works/unit/?q=科普").get_data(as_text=True)
    assert "/works/unit/export.xlsx?q=" in html


def test_admin_export_all_units(client, auth, wc):
    wc.make_work(title="甲")
    wc.make_work(title="乙", channel=wc.other_unit)
    wc.make_work(title="丙", status="draft")
    auth.login_as(wc.admin)
    rows = sheet_rows(client.get("/works/admin/export.xlsx"))
    assert sorted(r[1] for r in rows[1:]) == ["乙", "甲"]
    rows = sheet_rows(client.get(f"/works/admin/export.xlsx?channel={wc.other_unit.id}"))
    assert [r[1] for r in rows[1:]] == ["乙"]
    auth.login_as(wc.unit_admin)
    assert client.get("/works/admin/export.xlsx").status_code == 404
    assert client.get(f"/works/unit/export.xlsx?org={wc.other_unit.id}").status_code == 404
