"""Autosave under real concurrency (threads, on SQLite and on PostgreSQL): no save is
lost, a stale save still gets 409 and overwrites nothing; and what one autosave costs
(statements), with files posted back unchanged."""
from __future__ import annotations

import io
import re
import threading

from sqlalchemy import event

from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.works.models import Work
from tests.conftest import login_session

HX = {"HX-Request": "true"}
VERSION_RE = re.compile(r'id="draft-version" name="version" value="(\d+)"')


def png_bytes(color: str = "white") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "PNG")
    return buf.getvalue()


def draft(wc, owner, **fields) -> Work:
    work = Work(campaign_id=wc.campaign.id, owner_id=owner.id, status="draft", step=1,
                version=1, media_reports=[], **fields)
    db.session.add(work)
    db.session.commit()
    return work


def logged_in(app, user):
    client = app.test_client()
    login_session(client, user)
    return client


def save(client, work_id: int, version: int, title: str, **extra):
    data = {"version": str(version), "step": "1", "title": title, "work_type": "科普视频",
            "category": "前沿科技", "intro": f"{title}的简介", **extra}
    return client.post(f"/works/{work_id}/autosave", data=data, headers=HX,
                       content_type="multipart/form-data")


def stored(work_id: int) -> Work:
    db.session.expire_all()
    return db.session.get(Work, work_id)


def test_applicants_saving_at_once_lose_nothing(app, wc, make_user):
    people = [make_user(f"1370000{i:04d}", name=f"申报者{i}") for i in range(6)]
    works = [draft(wc, p) for p in people]
    ids = [w.id for w in works]
    clients = [logged_in(app, p) for p in people]
    saves = 12
    last: dict[int, tuple[int, str]] = {}
    failures: list[str] = []
    start = threading.Barrier(len(people))

    def applicant(i: int) -> None:
        version = 1
        start.wait()
        for n in range(saves):
            title = f"作品{i}-{n}"
            r = save(clients[i], ids[i], version, title)
            if r.status_code != 200:
                failures.append(f"{i}/{n}: {r.status_code} {r.get_data(as_text=True)[:200]}")
                return
            version = int(VERSION_RE.search(r.get_data(as_text=True)).group(1))
            last[i] = (version, title)

    threads = [threading.Thread(target=applicant, args=(i,)) for i in range(len(people))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    for i, work_id in enumerate(ids):
        w = stored(work_id)
        assert (w.version, w.title) == last[i] == (1 + saves, f"作品{i}-{saves - 1}")
        assert w.intro == f"作品{i}-{saves - 1}的简介"


def test_two_tabs_saving_the_same_version_at_once_one_wins(app, wc):
    work_id = draft(wc, wc.applicant).id
    tabs = [logged_in(app, wc.applicant), logged_in(app, wc.applicant)]
    version = 1
    for round_ in range(5):
        barrier = threading.Barrier(2)
        answers: dict[int, int] = {}

        def post(tab: int) -> None:
            barrier.wait()
            answers[tab] = save(tabs[tab], work_id, version, f"第{round_}轮-窗口{tab}").status_code

        threads = [threading.Thread(target=post, args=(t,)) for t in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(answers.values()) == [200, 409]
        winner = next(t for t, status in answers.items() if status == 200)
        w = stored(work_id)
        # the refused save wrote nothing: the row is the winner's, one version further
        assert w.version == version + 1 and w.title == f"第{round_}轮-窗口{winner}"
        version = w.version


def test_one_autosave_costs_four_statements_and_keeps_posted_back_files(app, wc, client):
    work = draft(wc, wc.applicant)
    cover = wc.upload(wc.applicant, "cover", png_bytes(), "cover.png")
    files = [wc.upload(wc.applicant, "work_file", b"%PDF-1.4\n%x\n", f"作品{i}.pdf")
             for i in range(2)]
    for f in [cover, *files]:
        f.entity_type, f.entity_id = "work", work.id
    db.session.commit()
    ids = {"cover": cover.id, "files": [f.id for f in files]}
    client = logged_in(app, wc.applicant)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    work_id = work.id
    # a request starts with an empty session (the test shares its own with the client)
    db.session.expunge_all()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = save(client, work_id, 1, "只改标题", cover=str(ids["cover"]),
                 work_files=[str(i) for i in ids["files"]])
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert r.status_code == 200
    # the user, the work with its edition, the conditional UPDATE, the attached file ids
    assert len(statements) <= 4, "\n".join(s[:100] for s in statements)
    assert sum(s.lstrip().upper().startswith("UPDATE") for s in statements) == 1
    db.session.expire_all()
    attached = db.session.query(StoredFile).filter_by(entity_type="work",
                                                      entity_id=work_id).all()
    assert sorted(f.id for f in attached) == sorted([ids["cover"], *ids["files"]])
    w = stored(work_id)
    assert w.title == "只改标题" and w.version == 2
    html = r.get_data(as_text=True)
    assert 'value="2" hx-swap-oob="true"' in html
    from kepu.timeutil import fmt
    assert f"已保存 {fmt(w.updated_at, '%H:%M:%S')}" in html


def test_autosave_with_a_new_cover_id_replaces_the_attached_one(app, wc):
    work = draft(wc, wc.applicant)
    old = wc.upload(wc.applicant, "cover", png_bytes(), "old.png")
    old.entity_type, old.entity_id = "work", work.id
    new = wc.upload(wc.applicant, "cover", png_bytes(color="black"), "new.png")
    db.session.commit()
    old_id, new_id = old.id, new.id
    client = logged_in(app, wc.applicant)
    assert save(client, work.id, 1, "换封面", cover=str(new_id)).status_code == 200
    db.session.expire_all()
    assert db.session.get(StoredFile, old_id) is None
    assert db.session.get(StoredFile, new_id).entity_id == work.id
    # someone else's upload id posted back is ignored, the cover stays
    other = wc.upload(wc.other_applicant, "cover", png_bytes(), "x.png")
    db.session.commit()
    assert save(client, work.id, 2, "换封面", cover=str(other.id)).status_code == 200
    db.session.expire_all()
    assert db.session.get(StoredFile, new_id).entity_id == work.id
    assert db.session.get(StoredFile, other.id).entity_id is None


def test_logged_in_pages_are_not_cached_and_public_ones_may_be(app, wc, client):
    assert "no-store" not in (client.get("/").headers.get("Cache-Control") or "")
    client = logged_in(app, wc.applicant)
    assert client.get("/").headers.get("Cache-Control") == "no-store"
    work = draft(wc, wc.applicant)
    r = save(client, work.id, 1, "标题")
    assert r.status_code == 200 and r.headers.get("Cache-Control") == "no-store"


def test_step2_autosave_with_the_stored_channel_needs_no_lookup(app, wc):
    work = draft(wc, wc.applicant, unit_type="省级科协", channel_id=wc.unit.id)
    work_id, unit_id, other_id = work.id, wc.unit.id, wc.other_unit.id
    client = logged_in(app, wc.applicant)
    data = {"version": "1", "step": "2", "author_name": "张三", "unit_type": "省级科协",
            "channel_id": str(unit_id), "highlights": "亮点"}
    db.session.expunge_all()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = client.post(f"/works/{work_id}/autosave", data=data, headers=HX)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert r.status_code == 200
    assert not any("FROM org" in s for s in statements), statements
    assert len(statements) <= 3, "\n".join(s[:100] for s in statements)  # no files posted
    # another channel is still looked up, and an unknown one still refused
    r = client.post(f"/works/{work_id}/autosave", data={**data, "version": "2",
                                                         "channel_id": str(other_id)}, headers=HX)
    assert r.status_code == 200 and stored(work_id).channel_id == other_id
    r = client.post(f"/works/{work_id}/autosave", data={**data, "version": "3",
                                                         "channel_id": "999999"}, headers=HX)
    assert "所选推荐渠道不存在" in r.get_data(as_text=True)
    assert stored(work_id).channel_id is None
