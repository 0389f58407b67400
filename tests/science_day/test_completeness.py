"""The completeness predicate (seed 001 三.9, kepu/science_day/completeness.py): every item
in both directions, the 推优 minimums as notes, unreadable stored values, and
``check_many`` in two statements for a page of activities."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.science_day.after_models import SUMMARY_PARTS, ActivitySupplement
from kepu.science_day.completeness import check, check_many
from kepu.science_day.models import Activity
from kepu.timeutil import utcnow

FULL_SUMMARY = {key: f"{label}的内容" for key, label in SUMMARY_PARTS}


@pytest.fixture
def world(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
    db.session.add(campaign)
    db.session.commit()
    owner = make_user("13900000901", roles=["info_officer"])
    return dict(campaign=campaign, owner=owner)


def make(world, mode="线上线下", status="approved", **sup) -> Activity:
    now = utcnow()
    a = Activity(campaign_id=world["campaign"].id, owner_id=world["owner"].id, status=status,
                 name="活动", mode=mode, start_at=now - timedelta(days=3),
                 end_at=now - timedelta(days=2))
    db.session.add(a)
    db.session.flush()
    if sup is not None and sup != {"none": True}:
        db.session.add(ActivitySupplement(activity_id=a.id, **sup))
    db.session.commit()
    return a


def add_files(world, a, field, n, campaign_id=None):
    for i in range(n):
        db.session.add(StoredFile(
            owner_id=world["owner"].id,
            field=f"science_day:{campaign_id or a.campaign_id}:{field}",
            original_name=f"{field}{i}.png", stored_name=uuid.uuid4().hex, ext="png",
            content_type="image/png", size=10, sha256="0" * 64, entity_type="activity",
            entity_id=a.id))
    db.session.commit()


def items(a):
    db.session.expire_all()
    c = check(db.session.get(Activity, a.id))
    return c, {i.key: i for i in c.items}, {n.key: n for n in c.notes}


def complete(world, mode="线上线下", **over) -> Activity:
    """An activity with everything filled in (then ``over`` changes the supplement)."""
    now = utcnow()
    fields = dict(media_reports=[{"title": "报道", "url": "https://news.example.com/1"}],
                  participants_offline=80, participants_online=300, video_durations={},
                  summary=dict(FULL_SUMMARY), summary_filed_at=now - timedelta(days=1))
    fields.update(over)
    a = make(world, mode=mode, **fields)
    add_files(world, a, "effect_photo", 3)
    add_files(world, a, "participant_photo", 1)
    return a


def test_everything_filled_is_complete_and_eligible(world):
    c, it, notes = items(complete(world))
    assert c.complete and c.eligible and not c.missing
    assert [k for k, _l, ok in c.sections] == ["filing", "supplement", "summary"]
    assert all(ok for _k, _l, ok in c.sections)
    assert set(it) == {"filing", "media", "photos", "videos", "participants",
                       "participant_photos", "summary_parts", "summary_filed"}
    assert set(notes) == {"offline_min", "online_min"}


def test_nothing_filled(world):
    c, it, notes = items(make(world, none=True))
    assert not c.complete and not c.eligible
    assert it["filing"].ok and it["videos"].ok           # videos are optional
    assert [i.key for i in c.missing] == ["media", "photos", "participants",
                                          "participant_photos", "summary_parts",
                                          "summary_filed"]
    assert it["summary_filed"].detail == "尚未提交"
    assert it["participants"].detail == "线下未填，线上未填"
    assert {n.key: n.detail for n in notes.values()} == {"offline_min": "未填写",
                                                         "online_min": "未填写"}
    assert not c.section_ok("supplement") and c.section_ok("filing")


@pytest.mark.parametrize("status", ["draft", "province_pending", "national_rejected"])
def test_filing_needs_approval(world, status):
    a = complete(world)
    a.status = status
    db.session.commit()
    c, it, _ = items(a)
    assert not it["filing"].ok and it["filing"].detail == "尚未审核通过"
    assert not c.complete and not c.section_ok("filing")


@pytest.mark.parametrize("reports,ok", [
    ([], False),
    ([{"title": "报道", "url": "https://a.cn/x"}], True),
    ([{"title": "报道", "url": "http://a.cn"}], True),
    ([{"title": "", "url": "https://a.cn/x"}], False),
    ([{"title": "报道", "url": "ftp://a.cn/x"}], False),
    ([{"title": "报道", "url": "https://"}], False),
    ([{"title": "报道", "url": "https://a.cn/a b"}], False),
    (["not a dict", {"title": "报道", "url": "https://a.cn"}], True),
    ({"title": "not a list"}, False),
])
def test_media_reports(world, reports, ok):
    _, it, _ = items(complete(world, media_reports=reports))
    assert it["media"].ok is ok


@pytest.mark.parametrize("n,ok", [(0, False), (2, False), (3, True), (10, True), (11, False)])
def test_effect_photos_3_to_10(world, n, ok):
    a = make(world)
    add_files(world, a, "effect_photo", n)
    _, it, _ = items(a)
    assert it["photos"].ok is ok and it["photos"].detail == f"已上传 {n} 张"


def test_photos_of_another_field_or_edition_do_not_count(world):
    a = make(world)
    add_files(world, a, "detail_images", 5)
    add_files(world, a, "effect_photo", 5, campaign_id=a.campaign_id + 100)
    _, it, _ = items(a)
    assert not it["photos"].ok


@pytest.mark.parametrize("n,durations,ok", [
    (0, {}, True), (1, {"1": 120}, True), (3, {}, True), (4, {}, False),
    (1, {"1": 180}, True), (1, {"1": 181}, False), (1, ["unreadable"], True),
])
def test_videos_at_most_3_of_3_minutes(world, n, durations, ok):
    a = complete(world, video_durations=durations)
    add_files(world, a, "effect_video", n)
    _, it, _ = items(a)
    assert it["videos"].ok is ok


@pytest.mark.parametrize("mode,offline,online,ok", [
    ("线下", None, None, False), ("线下", 0, None, True), ("线下", None, 500, False),
    ("线上", None, 0, True), ("线上", 10, None, False),
    ("线上线下", 10, None, False), ("线上线下", None, 10, False), ("线上线下", 1, 1, True),
    ("", None, None, False), ("", 5, None, True), ("", None, 5, True),
])
def test_participants_follow_the_mode(world, mode, offline, online, ok):
    _, it, _ = items(complete(world, mode=mode, participants_offline=offline,
                              participants_online=online))
    assert it["participants"].ok is ok


@pytest.mark.parametrize("n,ok", [(0, False), (1, True), (5, True)])
def test_participant_evidence_photos(world, n, ok):
    a = make(world)
    add_files(world, a, "participant_photo", n)
    _, it, _ = items(a)
    assert it["participant_photos"].ok is ok


def test_summary_parts_all_five(world):
    partial = dict(FULL_SUMMARY)
    partial["highlights"] = "   "
    del partial["experience"]
    _, it, _ = items(complete(world, summary=partial))
    assert not it["summary_parts"].ok
    assert it["summary_parts"].detail == "缺：特色亮点、工作体会"
    _, it, _ = items(complete(world, summary="garbage"))
    assert not it["summary_parts"].ok
    _, it, _ = items(complete(world))
    assert it["summary_parts"].ok and it["summary_parts"].detail == "齐全"


def test_summary_filed_within_10_days_of_the_end(world):
    a = complete(world, summary_filed_at=None)
    _, it, _ = items(a)
    assert not it["summary_filed"].ok
    sup = db.session.get(ActivitySupplement, a.id)
    sup.summary_filed_at = a.end_at + timedelta(days=10)
    db.session.commit()
    _, it, _ = items(a)
    assert it["summary_filed"].ok and it["summary_filed"].detail == "已按时提交"
    sup = db.session.get(ActivitySupplement, a.id)
    sup.summary_filed_at = a.end_at + timedelta(days=10, seconds=1)
    db.session.commit()
    c, it, _ = items(a)
    assert not it["summary_filed"].ok and it["summary_filed"].detail == "提交晚于活动结束后 10 日"
    assert not c.section_ok("summary") and c.section_ok("supplement")


@pytest.mark.parametrize("mode,offline,online,expected", [
    ("线下", 49, None, {"offline_min": False}),
    ("线下", 50, None, {"offline_min": True}),
    ("线上", None, 99, {"online_min": False}),
    ("线上", None, 100, {"online_min": True}),
    ("线上线下", 50, 99, {"offline_min": True, "online_min": False}),
    ("线上线下", 50, 100, {"offline_min": True, "online_min": True}),
    ("", 10, 10, {}),
])
def test_minimums_are_notes_not_items(world, mode, offline, online, expected):
    c, it, notes = items(complete(world, mode=mode, participants_offline=offline,
                                  participants_online=online))
    assert {k: n.ok for k, n in notes.items()} == expected
    if mode == "线上线下":
        assert it["participants"].detail == f"线下 {offline} 人，线上 {online} 人"
        assert notes["offline_min"].detail == f"已填 {offline} 人"
    assert c.complete                         # a low figure may be filed ...
    assert c.eligible is all(expected.values())   # ... but is not eligible


def test_check_many_in_two_statements(world, app):
    acts = [complete(world), make(world, none=True), complete(world, mode="线下")]
    add_files(world, acts[1], "effect_photo", 4)
    db.session.expire_all()
    acts = [db.session.get(Activity, a.id) for a in acts]
    statements = []

    def count(*_args):
        statements.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = check_many(acts)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 2
    assert [result[a.id].complete for a in acts] == [True, False, True]
    assert {i.key: i.ok for i in result[acts[1].id].items}["photos"] is True
    assert check_many([]) == {}
