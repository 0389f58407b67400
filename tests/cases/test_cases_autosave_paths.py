"""The case form's autosave: what one save costs, photos posted back unchanged, the
duplicate warning from what was typed, and find_exact agreeing with find_matches."""
from __future__ import annotations

from sqlalchemy import event

from kepu.cases.models import PastCase
from kepu.cases.operations import past as past_ops
from kepu.cases.operations.entry import case_files
from kepu.extensions import db

from test_cases_entry_form import HX, full_form, new_draft, photos, reload


def past(cc, name: str, unit: str, year: int = 2025) -> PastCase:
    row = PastCase(campaign_id=cc.campaign.id, year=year, name=name, unit_name=unit,
                   norm_name=past_ops.normalise(name), norm_unit=past_ops.normalise(unit))
    db.session.add(row)
    db.session.commit()
    return row


def test_autosave_with_photos_posted_back_costs_five_statements(cc, client, auth):
    case = new_draft(cc)
    files = photos(cc)
    auth.login_as(cc.implementer)
    assert client.post(f"/cases/{case.id}/autosave", data=full_form(case, files),
                       headers=HX).status_code == 200
    case = reload(case.id)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    case_id = case.id
    # a request starts with an empty session (the test shares its own with the client)
    db.session.expunge_all()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = client.post(f"/cases/{case_id}/autosave",
                        data=full_form(case, files, name="只改名称"), headers=HX)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert r.status_code == 200
    # the user, the case with its edition and unit, the past-case check, the attached
    # files, the conditional UPDATE
    assert len(statements) <= 5, "\n".join(s[:100] for s in statements)
    html = r.get_data(as_text=True)
    assert 'id="draft-version" name="version" value="3" hx-swap-oob="true"' in html
    case = reload(case_id)
    assert case.name == "只改名称" and case.version == 3
    attached = case_files(case)
    assert [str(f.id) for f in attached["photo_landscape"]] == [files["photo_landscape"]]
    assert [str(f.id) for f in attached["photo_portrait"]] == [files["photo_portrait"]]


def test_autosave_duplicate_warning_follows_what_was_typed(cc, client, auth):
    past(cc, "流动科技馆进乡村", "某县科技馆")
    case = new_draft(cc, name="另一个案例")
    auth.login_as(cc.implementer)
    r = client.post(f"/cases/{case.id}/autosave", data=full_form(case), headers=HX)
    assert "该案例已于2025年入选" in r.get_data(as_text=True)
    case = reload(case.id)
    r = client.post(f"/cases/{case.id}/autosave", data=full_form(case, name="全新的案例"),
                    headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "该案例已于2025年入选" not in html
    assert 'id="name-dup-warning"' in html  # the warning is cleared out of band


def test_a_stale_autosave_shows_no_duplicate_warning_and_writes_nothing(cc, client, auth):
    past(cc, "流动科技馆进乡村", "某县科技馆")
    case = new_draft(cc, name="另一个案例")
    auth.login_as(cc.implementer)
    stale = full_form(case)
    assert client.post(f"/cases/{case.id}/autosave", data=full_form(case, name="甲"),
                       headers=HX).status_code == 200
    r = client.post(f"/cases/{case.id}/autosave", data=stale, headers=HX)
    assert r.status_code == 409
    assert "已在其他窗口或设备上修改" in r.get_data(as_text=True)
    assert reload(case.id).name == "甲"


def test_find_exact_agrees_with_find_matches(cc):
    a = past(cc, "流动科技馆进乡村", "某县科技馆")
    past(cc, "流动科技馆进乡村", "另一个县科技馆")
    past(cc, "科学之夜", "某县科技馆", year=2024)
    cases = [
        ("流动科技馆进乡村", ["某县科技馆"]),
        ("流动 科技馆，进乡村", ["某县 科技馆"]),          # normalised the same
        ("流动科技馆进乡村", ["无关单位", "某县科技馆"]),    # any candidate unit
        ("流动科技馆进乡村", ["无关单位"]),                 # same name, other unit: near only
        ("流动科技馆进乡镇", ["某县科技馆"]),               # similar name: near only
        ("", ["某县科技馆"]),
        ("流动科技馆进乡村", [""]),
    ]
    for name, units in cases:
        exact, _near = past_ops.find_matches(cc.campaign.id, name, units)
        assert past_ops.find_exact(cc.campaign.id, name, units) == exact, (name, units)
    assert past_ops.find_exact(cc.campaign.id, "流动科技馆进乡村", ["某县科技馆"]) == a
