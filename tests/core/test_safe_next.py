"""One safe-redirect check (``kepu.urls.safe_next``) for every route that takes ``next``.

Every variant of a foreign target (tab, CR/LF, backslash, scheme-relative,
``https:host``, percent-encoded and double-encoded forms, bidi and NUL tricks) is sent
to every route that reads ``next``, as a plain post and as an HTMX request: the answer
is never a 500, no ``Location`` / ``HX-Redirect`` leaves the site and the page never
links to the other host. ``test_every_next_route_is_probed`` fails when a module starts
reading ``next`` without a row here.
"""
from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.timeutil import utcnow

EVIL = "evil.example"
VARIANTS = [
    "//evil.example/phish",
    "///evil.example/phish",
    "/\t/evil.example/phish",
    "/\n/evil.example/phish",
    "/\r\n/evil.example/phish",
    "/x\r\nLocation: //evil.example/",
    "\t//evil.example/phish",
    " //evil.example/phish",
    "/\\evil.example/phish",
    "\\\\evil.example/phish",
    "/\\/evil.example/phish",
    "https://evil.example/phish",
    "https:evil.example/phish",
    "https:/evil.example/phish",
    "HTTPS://evil.example",
    "javascript://evil.example/%0aalert(1)",
    "//evil.example@localhost/",
    "/%09/evil.example/phish",
    "/%2F/evil.example/phish",
    "/%2f%2fevil.example/phish",
    "%2F%2Fevil.example/phish",
    "/%5Cevil.example/phish",
    "/%5C%5Cevil.example/phish",
    "/%252F/evil.example/phish",
    "/%250A/evil.example/phish",
    "/\x00/evil.example/phish",
    "/\u202e/evil.example/phish",
    "/\u2066/evil.example/phish",
    "/\u3000/evil.example/phish",
]
HX = {"HX-Request": "true"}


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 2), "white").save(buf, "PNG")
    return buf.getvalue()


def _assert_stays(resp, variant):
    assert resp.status_code != 500, (variant, resp.get_data(as_text=True)[:300])
    for header in ("Location", "HX-Redirect", "HX-Location"):
        value = resp.headers.get(header)
        if value is None:
            continue
        assert EVIL not in value, (variant, header, value)
        parts = urlsplit(value)
        assert parts.netloc in ("", "localhost"), (variant, header, value)
        assert "\\" not in value and "\t" not in value, (variant, header, value)
        if not parts.netloc:
            assert value.startswith("/") and not value.startswith("//"), (variant, value)
    body = resp.get_data(as_text=True)
    assert EVIL not in body, (variant, re.findall(r".{60}evil\.example.{20}", body, re.S)[:2])


# --- the shared check --------------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_safe_next_refuses_every_variant(app, variant):
    from kepu.urls import safe_next

    with app.test_request_context("/"):
        assert safe_next(variant) is None
        assert safe_next(variant, "/fallback") == "/fallback"


@pytest.mark.parametrize("target", [
    "/works/", "/works/unit/?status=pending&page=2", "/cases/admin/codes?q=%E5%8C%97&page=3",
    "/account/", "/works/12/review?next=%2Fworks%2Funit%2F", "/a%20b", "/works/#top",
])
def test_safe_next_keeps_local_paths(app, target):
    from kepu.urls import safe_next

    with app.test_request_context("/"):
        assert safe_next(target) == target


def test_safe_next_encodes_non_ascii_and_limits_paths(app):
    from kepu.urls import safe_next

    with app.test_request_context("/"):
        assert safe_next("/works/?q=北京") == "/works/?q=%E5%8C%97%E4%BA%AC"
        assert safe_next("/cases/unit/?page=2", under="/cases/unit/") == "/cases/unit/?page=2"
        assert safe_next("/cases/unit", under="/cases/unit/") == "/cases/unit"
        assert safe_next("/works/", under="/cases/unit/") is None
        assert safe_next("/cases/unitx", under="/cases/unit") is None
        assert safe_next("/" + "a" * 3000) is None


# --- every route that reads next -------------------------------------------------------

def _login(client, auth, hw, role):
    if role:
        auth.login_as(hw.users[role])


def _probe_login_get(client, auth, hw, v):
    return client.get("/account/login", query_string={"next": v})


def _probe_login_post(client, auth, hw, v):
    client.post("/account/logout")
    return client.post("/account/login", query_string={"next": v},
                       data={"method": "password", "phone": "13900000101",
                             "password": "Passw0rd!"})


def _probe_login_logged_in(client, auth, hw, v):
    _login(client, auth, hw, "owner")
    return client.get("/account/login", query_string={"next": v})


def _probe_edition(client, auth, hw, v):
    _login(client, auth, hw, "platform_admin")
    return client.post("/edition/works", data={"year": "2026", "next": v})


def _probe_orgs_add_error(client, auth, hw, v):
    _login(client, auth, hw, "owner")
    return client.post("/orgs/add", query_string={"next": v, "field": "org_id"},
                       data={"add_name": ""})


def _probe_orgs_add(client, auth, hw, v):
    _login(client, auth, hw, "owner")
    return client.post("/orgs/add", query_string={"next": v, "field": "org_id"},
                       data={"add_name": "某新建科普单位" + str(len(v))})


def _probe_files_upload(client, auth, hw, v):

    _login(client, auth, hw, "owner")
    return client.post("/files/upload", query_string={"next": v}, data={
        "field": "image", "target": "image", "next": v,
        "file": (io.BytesIO(png_bytes()), "a.png")}, content_type="multipart/form-data")


def _probe_files_delete(client, auth, hw, v):
    from kepu.files.operations import save_upload
    from werkzeug.datastructures import FileStorage

    _login(client, auth, hw, "owner")
    stored = save_upload("image", FileStorage(io.BytesIO(png_bytes()), filename="b.png"),
                         hw.users["owner"])
    return client.post(f"/files/{stored.id}/delete", data={"next": v})


def _probe_files_delete_referrer(client, auth, hw, v):
    from kepu.files.operations import save_upload
    from werkzeug.datastructures import FileStorage

    _login(client, auth, hw, "owner")
    stored = save_upload("image", FileStorage(io.BytesIO(png_bytes()), filename="b.png"),
                         hw.users["owner"])
    v = v.replace("\r", "").replace("\n", "")  # a header cannot carry them
    ref = "http://localhost" + v if v.startswith("/") else v
    return client.post(f"/files/{stored.id}/delete", headers={"Referer": ref})


def _probe_works_detail(client, auth, hw, v):
    _login(client, auth, hw, "unit_admin")
    return client.get(f"/works/{hw.w_pending.id}/review", query_string={"next": v})


def _probe_works_row(client, auth, hw, v):
    _login(client, auth, hw, "unit_admin")
    return client.get(f"/works/{hw.w_pending.id}/review/row", query_string={"next": v})


def _probe_works_row_hx(client, auth, hw, v):
    _login(client, auth, hw, "unit_admin")
    return client.get(f"/works/{hw.w_pending.id}/review/row",
                      query_string={"next": v, "ctx": "unit"}, headers=HX)


def _probe_works_recommend_error(client, auth, hw, v):
    """The error path: the work is no longer 待推荐."""
    _login(client, auth, hw, "unit_admin")
    return client.post(f"/works/{hw.w_reviewed.id}/recommend", data={"next": v})


def _probe_works_recommend(client, auth, hw, v):
    from kepu.works.models import Work

    _login(client, auth, hw, "unit_admin")
    work = db.session.get(Work, hw.w_pending.id)
    work.status = "pending"
    db.session.commit()
    return client.post(f"/works/{hw.w_pending.id}/recommend", data={"next": v})


def _probe_works_recommend_hx(client, auth, hw, v):
    _login(client, auth, hw, "unit_admin")
    return client.post(f"/works/{hw.w_reviewed.id}/recommend",
                       data={"next": v, "ctx": "unit"}, headers=HX)


def _probe_works_return_box(client, auth, hw, v):
    _login(client, auth, hw, "unit_admin")
    return client.post(f"/works/{hw.w_pending.id}/return", data={"next": v, "comment": ""})


def _probe_works_bulk(client, auth, hw, v):
    _login(client, auth, hw, "unit_admin")
    return client.post("/works/unit/bulk-recommend", data={"next": v})


def _probe_works_bulk_hx(client, auth, hw, v):
    _login(client, auth, hw, "unit_admin")
    return client.post("/works/unit/bulk-recommend", data={"next": v}, headers=HX)


def _probe_cases_row(client, auth, hw, v):
    _login(client, auth, hw, "case_admin")
    return client.get(f"/cases/unit/cases/{hw.c_sub.id}/row", query_string={"next": v})


def _probe_cases_recommend(client, auth, hw, v):
    _login(client, auth, hw, "case_admin")
    return client.post(f"/cases/unit/cases/{hw.c_rec.id}/recommend", data={"next": v})


def _probe_cases_unrecommend(client, auth, hw, v):
    _login(client, auth, hw, "case_admin")
    return client.post(f"/cases/unit/cases/{hw.c_sub.id}/unrecommend", data={"next": v})


def _probe_cases_return(client, auth, hw, v):
    _login(client, auth, hw, "case_admin")
    return client.post(f"/cases/unit/cases/{hw.c_sub.id}/return",
                       data={"next": v, "comment": ""})


def _probe_select_case(client, auth, hw, v):
    _login(client, auth, hw, "national_admin")
    return client.post(f"/cases/admin/cases/{hw.c_rec.id}/select",
                       data={"next": v, "value": "1"})


def _probe_select_case_hx(client, auth, hw, v):
    _login(client, auth, hw, "national_admin")
    return client.post(f"/cases/admin/cases/{hw.c_rec.id}/select",
                       data={"next": v, "value": "1"}, headers=HX)


def _probe_select_work(client, auth, hw, v):
    _login(client, auth, hw, "national_admin")
    return client.post(f"/cases/admin/works/{hw.w_reviewed.id}/select",
                       data={"next": v, "value": "1"})


def _probe_unlock(client, auth, hw, v):
    _login(client, auth, hw, "national_admin")
    return client.post(f"/cases/admin/units/{hw.unit.id}/unlock", data={"next": v, "reason": ""})


def _probe_unlock_hx(client, auth, hw, v):
    _login(client, auth, hw, "national_admin")
    return client.post(f"/cases/admin/units/{hw.unit.id}/unlock",
                       data={"next": v, "reason": ""}, headers=HX)


def _probe_code_regenerate(client, auth, hw, v):
    _login(client, auth, hw, "platform_admin")
    return client.post(f"/cases/admin/codes/{hw.code.id}/regenerate", data={"next": v})


def _approved_activity(hw):
    from datetime import timedelta

    from kepu.science_day.models import Activity
    from kepu.science_day.operations.listing import publish_snapshot

    found = db.session.scalar(db.select(Activity).where(Activity.name == "已通过的活动"))
    if found is not None:  # one per test: every variant acts on it again
        found.listed = True
        publish_snapshot(found)
        db.session.commit()
        return found
    campaign = Campaign(kind="science_day", year=2026, title="2026科普日", settings={})
    db.session.add(campaign)
    db.session.flush()
    start = utcnow() + timedelta(days=9)
    a = Activity(campaign_id=campaign.id, owner_id=hw.users["owner"].id, status="approved",
                 name="已通过的活动", mode="线下", activity_type="科普讲座", start_at=start,
                 end_at=start + timedelta(hours=2), region_code="110105",
                 supervisor_category="全国学会", supervisor_org_id=hw.other_unit.id,
                 hosts=[{"name": "某馆"}], submitted_at=utcnow(), approved_at=utcnow())
    db.session.add(a)
    db.session.flush()
    publish_snapshot(a)
    db.session.commit()
    return a


def _probe_sd_delist(client, auth, hw, v):
    _login(client, auth, hw, "national_admin")
    a = _approved_activity(hw)
    return client.post(f"/science-day/listing/{a.id}/delist", data={"next": v, "reason": "有误"})


def _probe_sd_delist_error(client, auth, hw, v):
    _login(client, auth, hw, "national_admin")
    a = _approved_activity(hw)
    return client.post(f"/science-day/listing/{a.id}/delist", data={"next": v, "reason": ""},
                       headers=HX)


PROBES = {
    "accounts.login GET": _probe_login_get,
    "accounts.login POST": _probe_login_post,
    "accounts.login logged in": _probe_login_logged_in,
    "main.view_edition": _probe_edition,
    "orgs.add error": _probe_orgs_add_error,
    "orgs.add": _probe_orgs_add,
    "files.upload": _probe_files_upload,
    "files.delete": _probe_files_delete,
    "files.delete referrer": _probe_files_delete_referrer,
    "works.review_detail": _probe_works_detail,
    "works.review_row": _probe_works_row,
    "works.review_row hx": _probe_works_row_hx,
    "works.recommend error": _probe_works_recommend_error,
    "works.recommend": _probe_works_recommend,
    "works.recommend hx": _probe_works_recommend_hx,
    "works.return_work": _probe_works_return_box,
    "works.bulk_recommend": _probe_works_bulk,
    "works.bulk_recommend hx": _probe_works_bulk_hx,
    "cases.unit_row": _probe_cases_row,
    "cases.unit_recommend": _probe_cases_recommend,
    "cases.unit_unrecommend": _probe_cases_unrecommend,
    "cases.unit_return": _probe_cases_return,
    "cases.admin_select_case": _probe_select_case,
    "cases.admin_select_case hx": _probe_select_case_hx,
    "cases.admin_select_work": _probe_select_work,
    "cases.admin_unlock": _probe_unlock,
    "cases.admin_unlock hx": _probe_unlock_hx,
    "cases.admin_code_regenerate": _probe_code_regenerate,
    "science_day.listing_delist": _probe_sd_delist,
    "science_day.listing_delist error": _probe_sd_delist_error,
}


@pytest.mark.parametrize("name", list(PROBES))
def test_every_variant_stays_on_site(client, auth, hw, name):
    failures = []
    for variant in VARIANTS:
        try:
            _assert_stays(PROBES[name](client, auth, hw, variant), variant)
        except AssertionError as e:
            failures.append(str(e)[:300])
        db.session.rollback()
    assert not failures, f"{len(failures)}/{len(VARIANTS)} variants escaped:\n" + \
        "\n".join(failures[:8])


def test_every_next_route_is_probed():
    """Modules that read ``next`` from a request: each must have a probe above."""
    root = Path(__file__).resolve().parents[2] / "kepu"
    out = subprocess.run(["grep", "-rlE", r"""(values|form|args)\.get\(["']next["']|referrer""",
                          str(root)], capture_output=True, text=True).stdout.split()
    modules = sorted(str(Path(p).relative_to(root)) for p in out)
    probed = {"accounts/routes.py", "main.py", "orgs/routes.py", "files/routes.py",
              "works/review_routes.py", "cases/review_routes.py", "cases/select_routes.py",
              "cases/code_routes.py", "science_day/listing_routes.py", "urls.py"}
    assert set(modules) <= probed, f"new modules read next: {set(modules) - probed}"
