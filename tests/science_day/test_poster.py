"""生成活动海报 (kepu/science_day/poster.py, poster_routes.py): the layout stays inside the
safe area for a 50-character name and 10 long host names, Chinese is really drawn, the
QR code carries the public page's URL; owner-only routes, drafts refused, background
choices checked on the server, download headers, 设为活动宣传图 (and the public
snapshot of an approved activity)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from PIL import Image, ImageChops, ImageDraw
from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.files.storage import path_for
from kepu.science_day import poster as P
from kepu.science_day import poster_routes as R
from kepu.science_day.after_models import Resource
from kepu.science_day.models import Activity, ActivityPublic
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog

NAME_50 = ("走进深空探测与天文观测的奇妙世界暨青少年航天科技创新实践体验活动和科学家面对面交流会及科普展览开幕式")[:50]
LONG_HOSTS = [f"中国科学院某某研究所第{i}研究室与某某省科学技术协会科普部联合工作组" for i in range(10)]


@pytest.fixture
def w(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={"theme": "提升全民科学素质，服务高质量发展"})
    db.session.add(campaign)
    db.session.commit()
    owner = make_user("13900000801", roles=["info_officer"])
    other = make_user("13900000802", roles=["info_officer"])
    return dict(campaign=campaign, owner=owner, other=other)


def make_activity(w, status="province_pending", name="科学之夜：走进量子世界", hosts=None,
                  **over) -> Activity:
    start = datetime(2026, 9, 20, 1, 0)   # 09:00 Beijing
    a = Activity(campaign_id=w["campaign"].id, owner_id=w["owner"].id, status=status, name=name,
                 mode="线下", activity_type="科普讲座", start_at=start,
                 end_at=start + timedelta(hours=3), region_code="440111",
                 supervisor_category="市科协", route_province="44",
                 hosts=[{"name": h} for h in (hosts or ["广州科学馆"])],
                 submitted_at=None if status == "draft" else utcnow(), **over)
    db.session.add(a)
    db.session.commit()
    return a


def data_for(name=NAME_50, hosts=None, theme="提升全民科学素质，服务高质量发展"):
    return P.PosterData(2026, theme, name, P.time_text(datetime(2026, 9, 20, 1),
                                                       datetime(2026, 9, 21, 9)),
                        "广东省广州市白云区", hosts or LONG_HOSTS,
                        "http://localhost/science-day/events/1")


def inside(box, area) -> bool:
    return (area[0] <= box[0] <= box[2] <= area[2]) and (area[1] <= box[1] <= box[3] <= area[3])


def overlaps(a, b) -> bool:
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


# --- the renderer ----------------------------------------------------------------------------

@pytest.mark.parametrize("bg", sorted(P.BUILTIN))
def test_long_name_and_hosts_stay_inside_the_safe_area(app, bg):
    assert len(NAME_50) == 50 and sum(len(h) for h in LONG_HOSTS) > 300
    with app.test_request_context():
        r = P.render_poster(data_for(), P.builtin_background(bg))
    assert r.image.size == P.SIZE == (2480, 3508)
    labels = {b.label for b in r.boxes}
    assert {"title", "theme", "name", "time", "place", "hosts", "qr", "caption"} <= labels
    for b in r.boxes:
        assert inside(b.box, P.SAFE), (b.label, b.box, P.SAFE)
    # nothing drawn over something else
    for i, a in enumerate(r.boxes):
        for b in r.boxes[i + 1:]:
            assert not overlaps(a.box, b.box), (a.label, a.box, b.label, b.box)
    # the whole name and every host are on the poster, none cut off
    name, hosts = r.box("name"), r.box("hosts")
    assert not name.truncated and "".join(name.lines) == NAME_50
    assert not hosts.truncated and "".join(hosts.lines) == "、".join(LONG_HOSTS)
    assert len(name.lines) >= 3 and name.size < 170          # shrunk and wrapped
    assert len(hosts.lines) >= 5


@pytest.mark.parametrize("name", [
    "W" * 50,                                                        # widest Latin, no breaks
    "International Science Day: Quantum and Space 2026",            # words
    "《走进“天宫”》——2026年全国科普日（广州）航天主题科普活动，欢迎参加！！",   # punctuation
])
def test_odd_names_stay_inside_too(app, name):
    with app.test_request_context():
        r = P.render_poster(data_for(name=name), P.builtin_background("sky"))
    for b in r.boxes:
        assert inside(b.box, P.SAFE), (b.label, b.box)
    box = r.box("name")
    assert not box.truncated and "".join(box.lines).replace(" ", "") == name.replace(" ", "")


def test_short_name_keeps_the_largest_size(app):
    with app.test_request_context():
        r = P.render_poster(data_for(name="科学之夜", hosts=["广州科学馆"]),
                            P.builtin_background("sky"))
    assert r.box("name").size == 170 and r.box("name").lines == ("科学之夜",)
    assert r.box("hosts").lines == ("广州科学馆",)


def test_wrap_never_exceeds_the_width_and_keeps_words(app):
    with app.app_context():
        regular, _ = P.font_paths()
    font = P._font(regular, 60)
    text = "Quantum computing 量子计算体验日 supercalifragilisticexpialidocious" * 3
    lines = P.wrap(text, font, 600)
    assert all(font.getlength(line) <= 600 * 1.04 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert any(line.endswith("computing") or line.startswith("computing") for line in lines)


def test_text_beyond_the_minimum_is_cut_with_an_ellipsis(app):
    with app.app_context():
        regular, _ = P.font_paths()
    fitted = P.fit_text("科" * 2000, regular, 500, 300, 80, 40)
    assert fitted.truncated and fitted.size == 40 and fitted.lines[-1].endswith("…")
    assert fitted.height <= 300


def test_chinese_glyphs_are_drawn_not_notdef_boxes(app):
    """Each character's ink differs from the others and from the font's .notdef box."""
    with app.app_context():
        regular, bold = P.font_paths()
    font = P._font(bold, 80)

    def ink(ch):
        im = Image.new("L", (120, 120), 0)
        ImageDraw.Draw(im).text((10, 10), ch, font=font, fill=255)
        return im

    blank = Image.new("L", (120, 120), 0)
    notdef = ink("\U0010fffd")              # a private-use code point: the .notdef glyph
    glyphs = [ink(ch) for ch in "全国科普日"]
    for g in glyphs:
        assert ImageChops.difference(g, blank).getbbox() is not None      # something drawn
        assert ImageChops.difference(g, notdef).getbbox() is not None     # not the box
    assert ImageChops.difference(glyphs[0], glyphs[1]).getbbox() is not None
    # Simplified Chinese face: 门 differs from the Japanese / Traditional shapes' 門
    assert ImageChops.difference(ink("门"), ink("門")).getbbox() is not None


def test_time_text_is_beijing_time():
    assert P.time_text(datetime(2026, 9, 20, 1), datetime(2026, 9, 20, 4)) \
        == "2026年9月20日 09:00 – 12:00"
    assert P.time_text(datetime(2026, 9, 20, 1), datetime(2026, 9, 21, 9)) \
        == "2026年9月20日 09:00 – 9月21日 17:00"
    assert P.time_text(None, None) == "时间待定"


def test_poster_data_and_qr_payload_point_at_the_public_page(app, w):
    a = make_activity(w)
    with app.test_request_context():
        d = R.poster_data(a)
        r = P.render_poster(d, P.builtin_background("leaf"))
    assert d.url == f"http://localhost/science-day/events/{a.id}"
    assert r.qr_payload == d.url
    assert d.place == "广东省广州市白云区" and d.year == 2026
    assert d.theme == "提升全民科学素质，服务高质量发展"
    assert d.time_text == "2026年9月20日 09:00 – 12:00" and d.hosts == ["广州科学馆"]
    # the drawn QR code is the symbol of that URL: sample every module's centre
    import segno

    matrix = segno.make(d.url, error="m", micro=False).matrix
    n = len(matrix)
    x0, y0, x1, y1 = r.box("qr").box
    module = (x1 - x0) / (n + 4)                 # 2 modules of quiet zone each side
    qr = r.image.convert("L")
    for row in range(n):
        for col in range(n):
            px = qr.getpixel((int(x0 + (col + 2.5) * module), int(y0 + (row + 2.5) * module)))
            assert (px < 128) == bool(matrix[row][col]), (row, col, px)


def test_poster_shows_the_submitted_version_not_a_pending_edit(app, w):
    a = make_activity(w, status="approved", approved_at=utcnow(),
                      pending_edit={"name": "尚未提交的新名称"})
    a.mode = "线上"
    db.session.commit()
    with app.test_request_context():
        d = R.poster_data(a)
    assert d.name == "科学之夜：走进量子世界"
    assert d.place == "线上活动（广东省广州市白云区）"


def test_unreadable_background_file_is_a_message(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(P.PosterError) as e:
        P.file_background(bad)
    assert "无法读取" in e.value.message


# --- the routes ------------------------------------------------------------------------------

def base(a):
    return f"/science-day/activities/{a.id}/poster"


def gen(client, a, key="builtin:sky", htmx=False):
    return client.post(f"{base(a)}/generate", data={"background": key},
                       headers={"HX-Request": "true"} if htmx else {})


def test_owner_generates_previews_and_downloads(client, auth, w):
    a = make_activity(w)
    auth.login_as(w["owner"])
    page = client.get(f"/science-day/activities/{a.id}")
    html = page.get_data(as_text=True)
    assert 'id="poster-panel"' in html and "生成活动海报" in html and "builtin:dawn" in html
    resp = gen(client, a, "builtin:dawn", htmx=True)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    body = resp.get_data(as_text=True)
    assert "海报已生成" in body and "设为活动宣传图" in body
    f = R.generated(a)[0]
    assert f.width == 2480 and f.height == 3508 and f.ext == "jpg"
    with Image.open(path_for(f.stored_name)) as im:
        assert im.size == (2480, 3508) and im.format == "JPEG"
        assert round(im.info["dpi"][0]) == 300
    prev = client.get(f"{base(a)}/{f.id}")
    assert prev.status_code == 200 and prev.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(prev.data)) as im:
        assert im.size[0] <= R.PREVIEW_WIDTH
    dl = client.get(f"{base(a)}/{f.id}/download")
    assert dl.status_code == 200 and dl.mimetype == "image/jpeg"
    cd = dl.headers["Content-Disposition"]
    assert cd.startswith("attachment;")
    assert quote("科学之夜：走进量子世界-活动海报.jpg") in cd
    assert dl.headers["X-Content-Type-Options"] == "nosniff"
    # the background thumbnails
    thumb = client.get(f"{base(a)}/backgrounds/builtin:leaf")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert client.get(f"{base(a)}/backgrounds/builtin:nope").status_code == 404


def test_without_javascript_generate_redirects_back(client, auth, w):
    a = make_activity(w)
    auth.login_as(w["owner"])
    resp = gen(client, a)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(
        f"/science-day/activities/{a.id}?poster=new#poster-panel")
    assert len(R.generated(a)) == 1
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "海报已生成" in html and "poster-fresh" in html


def test_unknown_background_is_422_next_to_the_field(client, auth, w):
    a = make_activity(w)
    auth.login_as(w["owner"])
    for key in ("", "builtin:nope", "res:999", "../../etc/passwd"):
        resp = gen(client, a, key)
        assert resp.status_code == 422
        body = resp.get_data(as_text=True)
        assert 'id="poster-bg-error"' in body and "请从列表中选择海报背景" in body
    assert R.generated(a) == []


def test_another_editions_background_is_refused(client, auth, w, app):
    other = Campaign(kind="science_day", year=2027, title="2027年全国科普日", settings={})
    db.session.add(other)
    db.session.commit()
    stored = _image_file(w["owner"], (200, 300))
    res = Resource(campaign_id=other.id, kind="background", title="别届背景", file_id=stored.id)
    db.session.add(res)
    db.session.commit()
    a = make_activity(w)
    auth.login_as(w["owner"])
    assert gen(client, a, f"res:{res.id}").status_code == 422


def _image_file(owner, size, color=(30, 160, 90), raw: bytes | None = None) -> StoredFile:
    from kepu.files.storage import new_stored_name

    if raw is None:
        buf = io.BytesIO()
        Image.new("RGB", size, color).save(buf, "PNG")
        raw = buf.getvalue()
    name = new_stored_name()
    path = path_for(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    row = StoredFile(owner_id=owner.id, field="sd_resource", original_name="bg.png",
                     stored_name=name, ext="png", content_type="image/png", size=len(raw),
                     sha256=name, width=size[0], height=size[1])
    db.session.add(row)
    db.session.commit()
    return row


def test_edition_background_is_used(client, auth, w):
    stored = _image_file(w["owner"], (600, 900), (30, 160, 90))
    res = Resource(campaign_id=w["campaign"].id, kind="background", title="本届主视觉",
                   file_id=stored.id)
    db.session.add(res)
    db.session.commit()
    a = make_activity(w)
    auth.login_as(w["owner"])
    html = client.get(f"/science-day/activities/{a.id}").get_data(as_text=True)
    assert "本届主视觉" in html and f"res:{res.id}" in html
    assert client.get(f"{base(a)}/backgrounds/res:{res.id}").status_code == 200
    assert gen(client, a, f"res:{res.id}").status_code == 303
    with Image.open(path_for(R.generated(a)[0].stored_name)) as im:
        # bottom-left corner (outside the card): the background's green
        r_, g_, b_ = im.convert("RGB").getpixel((30, 3490))
        assert g_ > 120 and r_ < 80


def test_unreadable_edition_background_is_a_message_not_an_error(client, auth, w):
    stored = _image_file(w["owner"], (600, 900), raw=b"\x89PNG\r\n\x1a\n broken")
    res = Resource(campaign_id=w["campaign"].id, kind="background", title="坏背景",
                   file_id=stored.id)
    db.session.add(res)
    db.session.commit()
    a = make_activity(w)
    auth.login_as(w["owner"])
    resp = gen(client, a, f"res:{res.id}")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "所选背景图片无法读取" in body
    assert f'value="res:{res.id}" checked' in body          # the choice is kept
    assert client.get(f"/science-day/activities/{a.id}").status_code == 200
    assert client.get(f"{base(a)}/backgrounds/res:{res.id}").status_code == 404


def test_drafts_and_nameless_activities_are_refused(client, auth, w):
    d = make_activity(w, status="draft")
    auth.login_as(w["owner"])
    html = client.get(f"/science-day/activities/{d.id}").get_data(as_text=True)
    assert 'id="poster-refusal"' in html and "草稿不能生成海报" in html
    resp = gen(client, d)
    assert resp.status_code == 409 and "草稿不能生成海报" in resp.get_data(as_text=True)
    nameless = make_activity(w, name="")
    resp = gen(client, nameless)
    assert resp.status_code == 409 and "活动名称为空" in resp.get_data(as_text=True)
    assert R.generated(d) == [] and R.generated(nameless) == []


def test_only_the_newest_posters_are_kept(client, auth, w):
    a = make_activity(w)
    auth.login_as(w["owner"])
    for _ in range(R.KEEP + 2):
        assert gen(client, a).status_code == 303
    kept = R.generated(a)
    assert len(kept) == R.KEEP
    assert db.session.scalar(select(db.func.count(StoredFile.id)).where(
        StoredFile.field.like("%generated_poster"))) == R.KEEP


def test_set_as_poster_replaces_the_activitys_poster(client, auth, w):
    a = make_activity(w)
    old = _image_file(w["owner"], (60, 40))
    old.field, old.entity_type, old.entity_id = f"science_day:{a.campaign_id}:poster", \
        "activity", a.id
    db.session.commit()
    old_id, old_path = old.id, path_for(old.stored_name)
    auth.login_as(w["owner"])
    gen(client, a)
    f = R.generated(a)[0]
    resp = client.post(f"{base(a)}/{f.id}/use")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("?poster=set#poster-panel")
    db.session.expire_all()
    current = R.current_poster(a)
    assert current is not None and current.sha256 == f.sha256 and current.id != f.id
    assert db.session.get(StoredFile, old_id) is None and not old_path.exists()
    assert R.generated(a)[0].id == f.id          # the generated one stays in the list
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "当前活动宣传图" in page and "已设为活动宣传图。" in page
    assert db.session.scalar(select(AuditLog).where(
        AuditLog.entity_id == a.id, AuditLog.action == R.USE_ACTION)) is not None
    assert "设为活动宣传图（生成的海报）" in page      # the 处理记录 names it
    # with HTMX: the whole page is loaded again (HX-Redirect), the panel says what was done
    gen(client, a)
    f2 = R.generated(a)[0]
    resp = client.post(f"{base(a)}/{f2.id}/use", headers={"HX-Request": "true"})
    assert resp.status_code == 204
    assert resp.headers["HX-Redirect"].endswith(f"/activities/{a.id}?poster=set#poster-panel")


def test_set_as_poster_on_an_approved_activity_updates_the_public_page(client, auth, w):
    from kepu.science_day.operations.listing import publish_snapshot

    a = make_activity(w, status="approved", approved_at=utcnow(), listed=True)
    publish_snapshot(a)
    db.session.commit()
    auth.login_as(w["owner"])
    gen(client, a)
    f = R.generated(a)[0]
    assert client.post(f"{base(a)}/{f.id}/use").status_code == 303
    db.session.expire_all()
    row = db.session.get(ActivityPublic, a.id)
    current = R.current_poster(a)
    assert row.poster_file_id == current.id
    img = client.get(f"/science-day/events/{a.id}/images/{current.id}")
    assert img.status_code == 200 and img.mimetype == "image/jpeg"


def test_under_review_with_a_public_version_keeps_the_public_poster(client, auth, w):
    a = make_activity(w, status="national_pending", approved_at=utcnow(), listed=True)
    old = _image_file(w["owner"], (60, 40))
    old.field, old.entity_type, old.entity_id = f"science_day:{a.campaign_id}:poster", \
        "activity", a.id
    db.session.add(ActivityPublic(activity_id=a.id, campaign_id=a.campaign_id, listed=True,
                                  name=a.name, poster_file_id=old.id, data={}))
    db.session.commit()
    old_id = old.id
    auth.login_as(w["owner"])
    gen(client, a)
    f = R.generated(a)[0]
    assert client.post(f"{base(a)}/{f.id}/use").status_code == 303
    db.session.expire_all()
    assert db.session.get(ActivityPublic, a.id).poster_file_id == old_id
    assert db.session.get(StoredFile, old_id) is not None
    assert R.current_poster(a).sha256 == f.sha256     # the newest poster: the reviewers'


def test_set_as_poster_needs_an_officer(client, auth, w):
    a = make_activity(w)
    auth.login_as(w["owner"])
    gen(client, a)
    f = R.generated(a)[0]
    from kepu.accounts.operations import revoke_grant

    for grant in list(w["owner"].grants):
        if grant.role == "info_officer":
            revoke_grant(grant)
    db.session.commit()
    resp = client.post(f"{base(a)}/{f.id}/use")
    assert resp.status_code == 409 and "信息员资格" in resp.get_data(as_text=True)
    assert R.current_poster(a) is None


def test_set_as_poster_respects_the_poster_size_limit(client, auth, w):
    a = make_activity(w)
    auth.login_as(w["owner"])
    gen(client, a)
    f = R.generated(a)[0]
    f.size = 11 * 1024 * 1024            # above the default 10 MB poster_mb
    db.session.commit()
    resp = client.post(f"{base(a)}/{f.id}/use")
    assert resp.status_code == 409 and "大小上限" in resp.get_data(as_text=True)
    assert R.current_poster(a) is None


def test_someone_elses_activity_and_files_are_404(client, auth, w):
    a = make_activity(w)
    auth.login_as(w["owner"])
    gen(client, a)
    f = R.generated(a)[0]
    b = make_activity(w, name="另一个活动")
    # a poster of activity a through activity b's URLs: 404
    assert client.get(f"{base(b)}/{f.id}").status_code == 404
    assert client.get(f"{base(b)}/{f.id}/download").status_code == 404
    assert client.post(f"{base(b)}/{f.id}/use").status_code == 404
    auth.login_as(w["other"])
    assert client.get(f"/science-day/activities/{a.id}").status_code == 404
    for url in (base(a), f"{base(a)}/{f.id}", f"{base(a)}/{f.id}/download",
                f"{base(a)}/backgrounds/builtin:sky"):
        assert client.get(url).status_code == 404, url
    assert gen(client, a).status_code == 404
    assert client.post(f"{base(a)}/{f.id}/use").status_code == 404
    db.session.expire_all()
    assert len(R.generated(a)) == 1 and R.current_poster(a) is None



def test_generating_is_rate_limited_per_user(app_factory, make_user, login_session):
    app = app_factory(RATELIMIT_ENABLED=True, SD_POSTER_RATE_LIMIT="2 per minute")
    with app.app_context():
        campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                            settings={})
        db.session.add(campaign)
        db.session.commit()
        w = dict(campaign=campaign, owner=make_user("13900000811", roles=["info_officer"]))
        a = make_activity(w)
        client = app.test_client()
        login_session(client, w["owner"])
        assert gen(client, a).status_code == 303
        assert gen(client, a).status_code == 303
        resp = gen(client, a)
        assert resp.status_code == 429 and "操作过于频繁" in resp.get_data(as_text=True)
        assert len(R.generated(a)) == 2
