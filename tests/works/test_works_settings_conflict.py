"""Works-call edition settings: no silent overwrite between two admins (the form's
settings digest, HTTP 409), and rubric changes that keep the expert scores
consistent (no criterion added or removed once scores exist, 满分 not below a given
score, totals recomputed in the same transaction)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.editions import SETTINGS_CONFLICT
from kepu.extensions import db
from kepu.timeutil import utcnow
from kepu.works.models import WorkAssignment
from kepu.works.operations import editions as ops
from kepu.works.operations import scoring
from kepu.works.settings import DEFAULTS, WorksSettings

from test_works_editions_admin import audit_rows, field_block, form_data, settings_url

HX = {"HX-Request": "true"}
RUBRIC = DEFAULTS["rubric"]  # scientific 40 / innovative 30 / communicative 30, max 100


def page_digest(html: str) -> str:
    m = re.search(r'<input[^>]*id="settings_digest"[^>]*>', html)
    assert m, "no settings_digest field"
    assert 'type="hidden"' in m.group(0)
    return re.search(r'value="([^"]*)"', m.group(0)).group(1)


def conflict_block(html: str) -> str:
    start = html.index('id="settings-conflict"')
    return html[html.rindex("<div", 0, start):html.index("</div>", start)]


def reload(campaign) -> Campaign:
    db.session.expire_all()
    return db.session.get(Campaign, campaign.id)


@pytest.fixture
def admin2(make_user):
    return make_user("13900000031", name="第二位平台管理员", roles=["platform_admin"])


@pytest.fixture
def client2(app, auth, admin2):
    c = app.test_client()
    type(auth)(c).login_as(admin2)  # AuthActions on a second browser
    return c


# --- version check: two admins ------------------------------------------------------------

def test_settings_page_carries_the_digest(client, auth, wc):
    auth.login_as(wc.admin)
    html = client.get(settings_url(wc.campaign)).get_data(as_text=True)
    assert page_digest(html) == ops.settings_digest(wc.campaign)
    # the hidden field sits outside the rubric fieldset (HTMX swaps leave it alone)
    rubric = html[html.index('id="rubric-fieldset"'):html.index('id="fs-sms"')]
    assert "settings_digest" not in rubric


def test_two_admins_second_save_is_refused_and_can_be_repeated(client, auth, wc, admin2,
                                                               client2):
    auth.login_as(wc.admin)
    first_page = client.get(settings_url(wc.campaign)).get_data(as_text=True)
    second_page = client2.get(settings_url(wc.campaign)).get_data(as_text=True)
    shown = page_digest(second_page)
    assert page_digest(first_page) == shown
    second_form = form_data(wc.campaign, settings_digest=shown,
                            help_notes="第二位管理员写的说明",
                            categories="前沿科技\n健康生活")

    # the first admin saves
    r = client.post(settings_url(wc.campaign),
                    data=form_data(wc.campaign, settings_digest=page_digest(first_page),
                                   title="第一位管理员改的名称", limit_highlights="2000"))
    assert r.status_code == 303

    # the second admin, still on the old page, is refused
    r = client2.post(settings_url(wc.campaign), data=second_form)
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    block = conflict_block(html)
    assert SETTINGS_CONFLICT in block and 'role="alert"' in block
    assert html.index('id="settings-conflict"') < html.index('id="fs-basic"')  # top of the form
    # where the stored settings differ from what was typed (links to the groups)
    assert '<a href="#fs-basic">基本</a>' in block
    assert '<a href="#fs-text">字数限制</a>' in block
    assert '<a href="#fs-taxonomy">作品类型与分类</a>' in block
    assert '<a href="#fs-help">帮助信息</a>' in block
    assert "#fs-files" not in block and "#fs-window" not in block
    assert "设置未保存：请修改" not in html  # not a validation error
    # everything typed is re-rendered
    assert "第二位管理员写的说明" in html
    assert re.search(r">\s*前沿科技\r?\n健康生活</textarea>", html)
    assert 'value="2026年全国优质科普作品征集"' in html
    # the stored settings are the first admin's
    c = reload(wc.campaign)
    s = WorksSettings(c)
    assert c.title == "第一位管理员改的名称" and s.limit("highlights") == 2000
    assert s["help"]["notes"] != "第二位管理员写的说明"
    assert len(audit_rows(c)) == 1
    # the page now carries the new digest: saving again deliberately saves
    new = page_digest(html)
    assert new == ops.settings_digest(c) and new != shown
    r = client2.post(settings_url(wc.campaign), data={**second_form, "settings_digest": new})
    assert r.status_code == 303
    c = reload(wc.campaign)
    s = WorksSettings(c)
    assert s["help"]["notes"] == "第二位管理员写的说明"
    assert s["categories"] == ["前沿科技", "健康生活"]
    assert c.title == "2026年全国优质科普作品征集"  # the second admin's version wins
    entries = audit_rows(c)
    assert [e.actor_id for e in sorted(entries, key=lambda e: e.id)] == [wc.admin.id, admin2.id]


def test_conflict_with_identical_content_says_so(client, auth, wc, client2):
    auth.login_as(wc.admin)
    stale = ops.settings_digest(wc.campaign)
    data = form_data(wc.campaign, limit_highlights="2000")
    assert client.post(settings_url(wc.campaign), data=data).status_code == 303
    r = client2.post(settings_url(wc.campaign), data={**data, "settings_digest": stale})
    assert r.status_code == 409
    assert "您填写的内容与当前保存的设置相同，无需再次保存" in conflict_block(r.get_data(as_text=True))


@pytest.mark.parametrize("digest", [None, "", "   ", "0123456789abcdef0123"])
def test_missing_or_wrong_digest_is_a_conflict(client, auth, wc, digest):
    auth.login_as(wc.admin)
    data = form_data(wc.campaign, help_notes="我填写的说明")
    if digest is None:
        del data["settings_digest"]
    else:
        data["settings_digest"] = digest
    before = dict(wc.campaign.settings)
    r = client.post(settings_url(wc.campaign), data=data)
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert SETTINGS_CONFLICT in conflict_block(html)
    assert "我填写的说明" in html
    assert reload(wc.campaign).settings == before and audit_rows(wc.campaign) == []
    # pressing 保存 again (the page's new digest) saves
    r = client.post(settings_url(wc.campaign), data={**data, "settings_digest": page_digest(html)})
    assert r.status_code == 303
    assert WorksSettings(reload(wc.campaign))["help"]["notes"] == "我填写的说明"


def test_invalid_input_keeps_the_posted_digest(client, auth, wc):
    auth.login_as(wc.admin)
    r = client.post(settings_url(wc.campaign),
                    data=form_data(wc.campaign, settings_digest="stale-digest", limit_title=""))
    assert r.status_code == 422  # validation first; the version check happens on saving
    assert page_digest(r.get_data(as_text=True)) == "stale-digest"


def test_add_row_keeps_the_digest(client, auth, wc, client2):
    auth.login_as(wc.admin)
    digest = ops.settings_digest(wc.campaign)
    data = form_data(wc.campaign, action="add_row",
                     **{"rubric-3-key": "fun", "rubric-3-label": "趣味性"})
    # htmx: only the rubric fieldset is swapped; the page's hidden digest is untouched
    r = client.post(settings_url(wc.campaign), data=data, headers=HX)
    frag = r.get_data(as_text=True)
    assert r.status_code == 200 and 'name="rubric-6-key"' in frag
    assert "settings_digest" not in frag
    # no JS: the whole page, with the digest it was posted with
    r = client.post(settings_url(wc.campaign), data=data)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and page_digest(page) == digest
    # ... which still saves
    save = {k: v for k, v in data.items() if k != "action"}
    save.update({"rubric-3-weight": "10", "rubric-3-max": "100", "rubric-0-weight": "30",
                 "settings_digest": page_digest(page)})
    assert client.post(settings_url(wc.campaign), data=save).status_code == 303
    assert [c["key"] for c in WorksSettings(reload(wc.campaign)).rubric][-1] == "fun"


def test_add_row_does_not_refresh_a_stale_digest(client, auth, wc, client2):
    auth.login_as(wc.admin)
    stale = ops.settings_digest(wc.campaign)
    assert client2.post(settings_url(wc.campaign),
                        data=form_data(wc.campaign, limit_highlights="2000")).status_code == 303
    data = form_data(wc.campaign, settings_digest=stale, action="add_row")
    page = client.post(settings_url(wc.campaign), data=data).get_data(as_text=True)
    assert page_digest(page) == stale  # adding a row does not silently accept the other save
    save = {k: v for k, v in data.items() if k != "action"}
    assert client.post(settings_url(wc.campaign), data=save).status_code == 409


# --- rubric changes once experts have scored --------------------------------------------------

def sheet(work, expert, scores, submitted=True, rubric=RUBRIC):
    a = WorkAssignment(work_id=work.id, expert_id=expert.id, scores=scores,
                       comments={"_overall": "总体评价"},
                       total=scoring.weighted_total(rubric, scores), saved_at=utcnow(),
                       submitted_at=utcnow() if submitted else None)
    db.session.add(a)
    db.session.commit()
    return a


def score(sci, inn, com):
    return {"scientific": sci, "innovative": inn, "communicative": com}


@pytest.fixture
def scored(wc):
    """Two reviewed works whose order flips when 科学性 weighs more, plus an
    unsubmitted (saved) sheet, a partial one and an assignment without scores."""
    a = wc.make_work(status="reviewed", title="科学性强的作品", with_files=False)
    b = wc.make_work(status="in_review", title="传播性强的作品", with_files=False)
    sheets = {
        "a1": sheet(a, wc.expert, score(100, 50, 50)),             # 40 + 15 + 15 = 70
        "b1": sheet(b, wc.expert, score(50, 90, 90)),              # 20 + 27 + 27 = 74
        "b2": sheet(b, wc.expert2, score(60, 80, 70), submitted=False),  # 24+24+21 = 69
    }
    c = wc.make_work(status="in_review", title="评审中作品", with_files=False)
    sheets["partial"] = sheet(c, wc.expert, {"scientific": 80}, submitted=False)
    empty = WorkAssignment(work_id=c.id, expert_id=wc.expert2.id, scores={})
    db.session.add(empty)
    db.session.commit()
    sheets["empty"] = empty
    return a, b, sheets


def test_scored_fixture_totals(scored):
    _, _, sheets = scored
    assert [sheets[k].total for k in ("a1", "b1", "b2", "partial", "empty")] == \
        [70.0, 74.0, 69.0, None, None]


def rubric_rows(campaign):
    return WorksSettings(campaign).rubric


def test_page_note_states_the_rule(client, auth, wc, scored):
    auth.login_as(wc.admin)
    html = client.get(settings_url(wc.campaign)).get_data(as_text=True)
    note = html[html.index('id="rubric-warning"'):]
    note = note[:note.index("</div>")]
    assert "本届已有 4 份专家评分" in note and "不能增加或删除评分项" in note
    assert "重新计算" in note
    # no spare rows, no 再添加 button, no 删除此项 once experts have scored
    rubric = html[html.index('id="rubric-fieldset"'):html.index('id="fs-sms"')]
    assert 'name="rubric-2-key"' in rubric and 'name="rubric-3-key"' not in rubric
    assert "再添加一个评分项" not in rubric and "删除此项" not in rubric


def test_weight_change_recomputes_totals_and_ranking(client, auth, wc, scored):
    a, b, sheets = scored
    auth.login_as(wc.admin)
    assert [r.work.title for r in scoring.ranking(wc.campaign)][:2] == ["传播性强的作品",
                                                                       "科学性强的作品"]
    data = form_data(wc.campaign, **{"rubric-0-weight": "80", "rubric-1-weight": "10",
                                     "rubric-2-weight": "10", "rubric-0-label": "科学性与准确性"})
    r = client.post(settings_url(wc.campaign), data=data, follow_redirects=True)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "设置已保存" in html
    assert "评分标准已修改，已按新权重重新计算 4 份评分的总分" in html
    db.session.expire_all()
    got = {k: db.session.get(WorkAssignment, v.id).total for k, v in sheets.items()}
    assert got == {"a1": 90.0, "b1": 58.0, "b2": 63.0, "partial": None, "empty": None}
    # the ranking follows (mean of the submitted totals)
    rows = scoring.ranking(reload(wc.campaign))
    assert [(r.work.title, r.mean) for r in rows][:2] == [("科学性强的作品", 90.0),
                                                           ("传播性强的作品", 58.0)]
    page = client.get("/works/admin/ranking").get_data(as_text=True)
    assert page.index("科学性强的作品") < page.index("传播性强的作品")
    # one audit row for the recomputation, next to the settings row
    (entry,) = audit_rows(wc.campaign, "recompute_totals")
    assert entry.actor_id == wc.admin.id and entry.data["recomputed"] == 4
    assert entry.data["before"]["scientific"] == {"weight": 40, "max": 100}
    assert entry.data["after"]["scientific"] == {"weight": 80, "max": 100}
    assert audit_rows(wc.campaign)[0].data["changed"] == ["rubric"]


def test_max_change_recomputes_totals(client, auth, wc, scored):
    _, _, sheets = scored
    auth.login_as(wc.admin)
    r = client.post(settings_url(wc.campaign), data=form_data(
        wc.campaign, **{"rubric-1-max": "200", "rubric-2-max": "90"}))
    assert r.status_code == 303
    db.session.expire_all()
    # a1: 100/100*40 + 50/200*30 + 50/90*30 = 40 + 7.5 + 16.67
    assert db.session.get(WorkAssignment, sheets["a1"].id).total == pytest.approx(64.17)


def test_label_only_change_keeps_totals(client, auth, wc, scored):
    _, _, sheets = scored
    auth.login_as(wc.admin)
    r = client.post(settings_url(wc.campaign),
                    data=form_data(wc.campaign, **{"rubric-2-hint": "新的评分说明"}))
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(WorkAssignment, sheets["b1"].id).total == 74.0
    assert rubric_rows(reload(wc.campaign))[2]["hint"] == "新的评分说明"


def _refused(client, wc, data, sheets):
    before = dict(wc.campaign.settings)
    r = client.post(settings_url(wc.campaign), data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "设置未保存" in html
    c = reload(wc.campaign)
    assert c.settings == before
    assert audit_rows(c) == [] and audit_rows(c, "recompute_totals") == []
    assert db.session.get(WorkAssignment, sheets["b1"].id).total == 74.0
    return html


RULE = "本届已有 4 份专家评分，不能增加或删除评分项（已有评分将无法汇总）；可以修改名称、权重、满分和评分说明。"


def test_adding_a_criterion_is_refused_once_scored(client, auth, wc, scored):
    _, _, sheets = scored
    auth.login_as(wc.admin)
    data = form_data(wc.campaign, help_notes="我刚写的说明",
                     **{"rubric-3-key": "fun", "rubric-3-label": "趣味性", "rubric-3-weight": "10",
                        "rubric-3-max": "100", "rubric-0-weight": "30"})
    html = _refused(client, wc, data, sheets)
    rubric = html[html.index('id="rubric-fieldset"'):html.index('id="fs-sms"')]
    assert 'id="rubric-error"' in rubric and RULE in rubric and "本次新增了“趣味性（fun）”" in rubric
    block = field_block(html, "rubric-3-key")
    assert "不能新增评分项" in block and 'aria-invalid="true"' in block
    assert 'value="fun"' in html and "我刚写的说明" in html  # everything typed is kept


def test_removing_a_criterion_is_refused_once_scored(client, auth, wc, scored):
    _, _, sheets = scored
    auth.login_as(wc.admin)
    data = form_data(wc.campaign, **{"rubric-2-remove": "y", "rubric-1-weight": "60"})
    html = _refused(client, wc, data, sheets)
    assert RULE in html and "本次删除了“传播性（communicative）”" in html
    block = field_block(html, "rubric-2-remove")
    assert "不能删除此评分项" in block and "checked" in block  # shown so it can be unticked


def test_clearing_a_row_is_refused_once_scored(client, auth, wc, scored):
    _, _, sheets = scored
    auth.login_as(wc.admin)
    data = form_data(wc.campaign, **{f"rubric-2-{k}": "" for k in
                                     ("key", "label", "weight", "max", "hint")})
    data["rubric-1-weight"] = "60"
    html = _refused(client, wc, data, sheets)
    assert RULE in html and "本次删除了“传播性（communicative）”" in html


def test_renaming_a_key_is_refused_once_scored(client, auth, wc, scored):
    _, _, sheets = scored
    auth.login_as(wc.admin)
    html = _refused(client, wc, form_data(wc.campaign, **{"rubric-0-key": "science"}), sheets)
    assert "本次新增了“科学性（science）”，删除了“科学性（scientific）”" in html
    assert "修改标识相当于删除原评分项并新增一项" in html
    assert "不能新增评分项或修改标识" in field_block(html, "rubric-0-key")


def test_max_below_a_given_score_is_refused(client, auth, wc, scored):
    _, _, sheets = scored
    auth.login_as(wc.admin)
    # 传播性: the highest given score is 90 (b1)
    html = _refused(client, wc, form_data(wc.campaign, **{"rubric-2-max": "80"}), sheets)
    block = field_block(html, "rubric-2-max")
    assert "不能低于已给出的最高分 90" in block
    assert 'aria-invalid="true"' in block and 'value="80"' in block
    # equal to the highest given score is fine
    r = client.post(settings_url(wc.campaign),
                    data=form_data(wc.campaign, **{"rubric-2-max": "90"}))
    assert r.status_code == 303


def test_criteria_can_change_freely_without_scores(client, auth, wc):
    work = wc.make_work(status="in_review", with_files=False)
    db.session.add(WorkAssignment(work_id=work.id, expert_id=wc.expert.id, scores={}))
    db.session.commit()  # assigned, nothing scored yet
    auth.login_as(wc.admin)
    page = client.get(settings_url(wc.campaign)).get_data(as_text=True)
    assert "rubric-warning" not in page and "再添加一个评分项" in page
    data = form_data(wc.campaign, **{"rubric-2-remove": "y", "rubric-1-weight": "30",
                                     "rubric-3-key": "fun", "rubric-3-label": "趣味性",
                                     "rubric-3-weight": "30", "rubric-3-max": "10"})
    r = client.post(settings_url(wc.campaign), data=data, follow_redirects=True)
    assert r.status_code == 200 and "设置已保存" in r.get_data(as_text=True)
    assert "重新计算" not in r.get_data(as_text=True)
    assert [c["key"] for c in rubric_rows(reload(wc.campaign))] == ["scientific", "innovative",
                                                                     "fun"]
    assert audit_rows(wc.campaign, "recompute_totals") == []


# --- operations --------------------------------------------------------------------------

def test_recompute_totals_operation(wc, scored):
    _, _, sheets = scored
    new = [dict(c, weight=w) for c, w in zip(RUBRIC, (20, 40, 40))]
    assert scoring.recompute_totals(wc.campaign, new) == 4
    assert sheets["a1"].total == 60.0 and sheets["partial"].total is None
    assert sheets["empty"].total is None
    db.session.rollback()  # not committed by the operation
    assert db.session.get(WorkAssignment, sheets["a1"].id).total == 70.0
    assert scoring.given_maxima(wc.campaign) == {"scientific": 100.0, "innovative": 90.0,
                                                 "communicative": 90.0}


def test_save_settings_operation_refuses_and_reports(wc, scored):
    from kepu.workflow import OperationError

    values = {"rubric": [dict(c, max=50) if c["key"] == "scientific" else c for c in RUBRIC]}
    with pytest.raises(OperationError) as e:
        ops.save_settings(wc.campaign, wc.campaign.title, values, wc.admin,
                          digest=ops.settings_digest(wc.campaign))
    db.session.rollback()
    assert e.value.field == "rubric"
    assert e.value.message == "已有专家为“科学性”打出 100 分，满分不能低于 100"
    assert e.value.errors == {"rubric.scientific.max": "不能低于已给出的最高分 100"}
    values = {"rubric": [dict(c, weight=w) for c, w in zip(RUBRIC, (50, 25, 25))]}
    saved = ops.save_settings(wc.campaign, wc.campaign.title, values, wc.admin,
                              digest=ops.settings_digest(wc.campaign))
    assert list(saved) == ["rubric"] and saved.recomputed == 4
    assert db.session.scalar(select(WorkAssignment.total).where(
        WorkAssignment.id == scored[2]["a1"].id)) == 75.0
