"""The works tallies (kepu.works.tally) stay equal to a grouped count of the works
through inserts, decisions, a change of unit and deletes; the unit list's tabs show
them, and a search still counts through the index."""
from __future__ import annotations

from sqlalchemy import func, select

from kepu.extensions import db
from kepu.works.models import Work, WorkTally


def grouped(campaign_id):
    return {(c or 0, s): n for c, s, n in db.session.execute(
        select(Work.channel_id, Work.status, func.count()).where(Work.campaign_id == campaign_id)
        .group_by(Work.channel_id, Work.status))}


def tallied(campaign_id):
    return {(c, s): n for c, s, n in db.session.execute(
        select(WorkTally.channel_key, WorkTally.status, WorkTally.n)
        .where(WorkTally.campaign_id == campaign_id)) if n}


def test_tallies_follow_every_change(wc):
    works = [wc.make_work(title=f"作品{i}") for i in range(3)]
    wc.make_work(title="退回的", status="returned", return_comment="补充")
    wc.make_work(title="外单位", channel=wc.other_unit)
    wc.make_work(title="草稿", status="draft")
    cid = wc.campaign.id
    assert tallied(cid) == grouped(cid) and grouped(cid)
    works[0].status = "recommended"
    works[1].channel_id = wc.other_unit.id
    db.session.commit()
    assert tallied(cid) == grouped(cid)
    db.session.delete(works[2])
    db.session.commit()
    assert tallied(cid) == grouped(cid)
    assert tallied(cid)[(wc.unit.id, "recommended")] == 1


def test_unit_tabs_show_the_tallies_and_a_search_counts(client, auth, wc):
    for i in range(3):
        wc.make_work(title=f"量子{i}")
    wc.make_work(title="海洋", status="returned", return_comment="补充")
    auth.login_as(wc.unit_admin)
    html = client.get("/works/unit/").get_data(as_text=True)
    assert "共 <strong>4</strong> 件" in html
    html = client.get("/works/unit/?q=量子").get_data(as_text=True)
    assert "共 <strong>3</strong> 件" in html


def test_admin_tabs_sum_the_units(client, auth, wc):
    wc.make_work(title="本单位")
    wc.make_work(title="外单位", channel=wc.other_unit)
    wc.make_work(title="草稿", status="draft")
    auth.login_as(wc.admin)
    html = client.get("/works/admin/").get_data(as_text=True)
    assert "共 <strong>2</strong> 件" in html
