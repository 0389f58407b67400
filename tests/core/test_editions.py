"""kepu.editions: the window message and the settings fingerprint."""
from __future__ import annotations

from datetime import datetime

from kepu.admin.models import Campaign
from kepu.cases.settings import CasesSettings
from kepu.editions import settings_digest
from kepu.works.settings import WorksSettings


def test_closed_message_shows_the_minute_not_the_seconds():
    c = Campaign(kind="cases", year=2026, title="t",
                 settings={"window_open": "2026-06-17 00:00", "window_close": "2026-06-30 23:59:59"})
    s = CasesSettings(c)
    assert s.window(datetime(2026, 6, 30, 15, 59, 59)).open  # 23:59:59 Beijing = 15:59:59 UTC
    state = s.window(datetime(2026, 6, 30, 16, 0, 0))
    assert not state.open and state.message == "案例征集已于 2026-06-30 23:59 截止"


def test_digest_covers_the_title_and_the_edited_keys_only():
    c = Campaign(kind="works", year=2026, title="甲", settings={"window_close": "2026-12-31 23:59"})
    keys = ("window_close", "limits")
    before = settings_digest(c, WorksSettings, keys)
    c.settings = {**c.settings, "results_published_at": "2026-11-01T00:00:00"}
    assert settings_digest(c, WorksSettings, keys) == before  # not edited on that form
    c.settings = {**c.settings, "window_close": "2027-01-31 23:59"}
    assert settings_digest(c, WorksSettings, keys) != before
    after = settings_digest(c, WorksSettings, keys)
    c.title = "乙"
    assert settings_digest(c, WorksSettings, keys) != after


def test_merged_settings_never_share_state_with_the_defaults():
    from kepu.editions import merge_settings

    defaults = {"limits": {"a": 1}, "items": [{"k": [1, 2]}], "t": ("x",), "n": None}
    merged = merge_settings(defaults, {"limits": {"b": 2}})
    merged["limits"]["a"] = 9
    merged["items"][0]["k"].append(3)
    assert defaults == {"limits": {"a": 1}, "items": [{"k": [1, 2]}], "t": ("x",), "n": None}
    assert merged["limits"] == {"a": 9, "b": 2} and merged["t"] == ("x",)
