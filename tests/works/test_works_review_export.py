"""Exports of the unit's (filtered) list and of the admin's list: Excel as a job on the
task queue (immediate in tests: the POST lands on the job page, the file downloads
there), CSV streamed at once; the same filters as the list; only for those who may."""
from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook


def export_rows(client, url):
    """POST the export, follow to the job page, download the xlsx: its rows."""
    resp = client.post(url)
    assert resp.status_code == 303, resp.status_code
    job_page = resp.headers["Location"]
    assert re.search(r"/jobs/\d+$", job_page)
    page = client.get(job_page).get_data(as_text=True)
    download = re.search(r'href="(/jobs/\d+/download)"', page).group(1)
    got = client.get(download)
    assert got.status_code == 200
    assert got.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in got.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(got.data), read_only=True)
    return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


def csv_rows(client, url):
    resp = client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel opens Chinese CSV with the BOM
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_unit_export_every_field_status_and_files(client, auth, wc):
    w = wc.make_work(title="导出作品", media_reports=[{"title": "科技日报", "url": "https://example.com/a"}],
                     awards="=全国一等奖", status="returned", return_comment="补充材料")
    wc.make_work(title="外单位作品", channel=wc.other_unit)
    wc.make_work(title="草稿作品", status="draft")
    auth.login_as(wc.unit_admin)
    rows = export_rows(client, "/works/unit/export.xlsx")
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
    # the CSV twin carries the same rows
    rows = csv_rows(client, "/works/unit/export.csv")
    assert rows[0] == header and rows[1][1] == "导出作品" and rows[1][16] == "'=全国一等奖"


def test_unit_export_follows_filters(client, auth, wc):
    wc.make_work(title="科普甲")
    wc.make_work(title="健康乙", status="recommended")
    auth.login_as(wc.unit_admin)
    rows = export_rows(client, "/works/unit/export.xlsx?status=recommended")
    assert [r[1] for r in rows[1:]] == ["健康乙"]
    rows = export_rows(client, "/works/unit/export.xlsx?q=科普")
    assert [r[1] for r in rows[1:]] == ["科普甲"]
    assert [r[1] for r in csv_rows(client, "/works/unit/export.csv?q=健康")[1:]] == ["健康乙"]
    # the list's export buttons carry the same filters
    html = client.get("/works/unit/?q=科普").get_data(as_text=True)
    assert 'action="/works/unit/export.xlsx?q=' in html and 'href="/works/unit/export.csv?q=' in html


def test_admin_export_all_units(client, auth, wc):
    wc.make_work(title="甲")
    wc.make_work(title="乙", channel=wc.other_unit)
    wc.make_work(title="丙", status="draft")
    auth.login_as(wc.admin)
    rows = export_rows(client, "/works/admin/export.xlsx")
    assert sorted(r[1] for r in rows[1:]) == ["乙", "甲"]
    rows = export_rows(client, f"/works/admin/export.xlsx?channel={wc.other_unit.id}")
    assert [r[1] for r in rows[1:]] == ["乙"]
    auth.login_as(wc.unit_admin)
    assert client.post("/works/admin/export.xlsx").status_code == 404
    assert client.get("/works/admin/export.csv").status_code == 404
    assert client.post(f"/works/unit/export.xlsx?org={wc.other_unit.id}").status_code == 404
    assert client.get(f"/works/unit/export.csv?org={wc.other_unit.id}").status_code == 404
    assert client.get("/works/unit/export.xlsx").status_code == 405  # a GET starts nothing


def test_the_worker_rechecks_the_unit(app, client, auth, wc):
    """A unit admin whose grant is gone by the time the job runs gets no file."""
    from kepu.exports import start_export
    from kepu.jobs import Job
    from kepu.extensions import db

    wc.make_work(title="甲")
    job = start_export("works.unit_list", wc.other_unit_admin,
                       {"campaign_id": wc.campaign.id, "org_id": wc.unit.id, "qs": ""}, "x")
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "failed" and "不是该推荐单位的管理员" in (job.error or "")
