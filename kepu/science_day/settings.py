"""Per-edition settings of 全国科普日 (``Campaign.settings``, kind "science_day").

Everything year-specific is a setting; the values below are only what a new edition
starts with, and platform admins edit them under 管理后台 → 届次与设置.

Windows (seed 001 二, 2022): 活动信息填报 8/15 00:00 – 9/28 23:59:59; 补充活动填报,
活动总结填报 and 年度工作总结填报 until 10/14 23:59:59; 推优 until 10/25 23:59:59. Seed
002 (2023) opened filing on 8/21 and closed it on 9/30: the seeds disagree, so the
windows are settings and the defaults are the 2022 ones, the only complete set
(shifted to the edition's year). The edit cap is 3 (seed 001 三.8); empty = no cap.

The seeds name the 活动类型, 联合行动 and 科普专项行动 categories without listing them;
the defaults below are a reasonable starting list that admins replace each year.
"""
from __future__ import annotations

from ..editions import EditionSettings, WindowState, merge_settings, read_local

KIND = "science_day"

#: the windows of an edition, in seed 001's order: key -> (label, what it closes)
WINDOWS = {
    "filing": ("活动信息填报", "发布、修改活动"),
    "supplement": ("补充活动填报", "填报补充活动信息"),
    "summary": ("活动总结填报", "填报活动总结"),
    "annual_report": ("年度工作总结填报", "填报年度工作总结"),
    "recommend": ("推荐优秀活动和组织单位", "推优"),
}

DEFAULTS: dict = {
    "windows": {
        "filing": {"open": "2026-08-15 00:00", "close": "2026-09-28 23:59:59"},
        "supplement": {"open": "2026-08-15 00:00", "close": "2026-10-14 23:59:59"},
        "summary": {"open": "2026-08-15 00:00", "close": "2026-10-14 23:59:59"},
        "annual_report": {"open": "2026-08-15 00:00", "close": "2026-10-14 23:59:59"},
        "recommend": {"open": "2026-08-15 00:00", "close": "2026-10-25 23:59:59"},
    },
    # "每个活动有且仅有三次修改填报信息的机会" (seed 001 三.8); None / "" = unlimited.
    "edit_cap": 3,
    # Less notice than this is allowed but warned (seed 002: 建议在活动举办前一周以上进行填报).
    "notice_days": 7,
    "theme": "",
    "activity_types": ["科普讲座", "科普展览", "科学实验与体验", "科技馆/基地开放", "科普竞赛",
                       "科普表演", "科普影视", "科普研学", "网络科普", "其他"],
    "modes": ["线上", "线下", "线上线下"],
    "joint_actions": ["科技馆联合行动", "科普教育基地联合行动", "学会联合行动",
                      "高校与科研院所联合行动", "企业联合行动", "媒体联合行动"],
    "special_actions": ["食品安全科普", "应急安全科普", "健康科普", "生态环境科普",
                        "乡村振兴科普", "数字素养科普"],
    "limits": {"name": 50, "details": 5000, "audience": 300, "scientists": 3,
               "scientists_note": 200, "detail_images": 9, "poster_mb": 10,
               "image_mb": 10, "hosts": 10, "organisers": 10, "coop_orgs": 10,
               # 活动总结: characters in each of its five parts (issue 12)
               "summary_part": 2000,
               # 补充活动信息 (issue 12): effect / participant photos, short videos
               "photo_mb": 10, "video_mb": 200},
    # 活动名称 containing this is a food-safety activity (seed 001 三.4)
    "food_safety_keyword": "食品安全",
    "help": {
        "intro": "活动举办单位的科普中国信息员在此发布全国科普日期间举办的科普活动信息，经审核通过后在全国科普日网站展示。",
        "contacts": "全国科普日平台技术运营咨询：010-63589698，010-63589586",
        "undertaking": ("本人承诺：所发布的科普活动信息真实、准确，活动不含商业推广、日常教学等内容；"
                        "严格落实意识形态管理责任，安全有序开展活动；如信息发生变化及时更新。"),
    },
    # 下载资源 (issue 12): a file's size limit; 海报背景 must be jpg/png of at least
    # A4 at 150 dpi (the poster renderer reads them).
    "resources": {"file_mb": 50, "background_min_width": 1240, "background_min_height": 1754},
    # 年度工作总结 (issue 12): text length, attachments (doc/docx/pdf) count and size.
    "annual_report": {"text_max": 5000, "files": 5, "file_mb": 20},
    # Thank-you SMS to the scientists of approved activities (seed 001 三.6, "定期集中"):
    # one per phone per edition, sent by a periodic task (kepu/science_day/thanks.py);
    # edited and paused on 管理后台 → 科学家感谢短信. {name} / {year} are filled in.
    "thanks_sms": {
        "enabled": True, "paused": False, "max_attempts": 3, "sign": "全国科普日",
        "text": "{name}您好，感谢您参与{year}年全国科普日活动，中国科协向您致以诚挚谢意！",
    },
}


def merged(stored: dict | None) -> dict:
    return merge_settings(DEFAULTS, stored, ScienceDaySettings.REPLACE)


class ScienceDaySettings(EditionSettings):
    KIND = KIND
    KIND_LABEL = "全国科普日"
    DEFAULTS = DEFAULTS
    # windows is a dict of dicts: stored whole so that a window can be emptied
    REPLACE = frozenset({"windows"})
    NOT_YET = "{label}将于 {open} 开始"
    CLOSED = "{label}已于 {close} 截止，系统已自动关闭{what}"

    def window_of(self, key: str) -> tuple[object, object]:
        """(opens, closes) of a window as naive UTC (None = open-ended)."""
        return self._read(key)[:2]

    def _read(self, key: str):
        w = (self.data.get("windows") or {}).get(key) or {}
        (opens, ok1), (closes, ok2) = read_local(w.get("open")), read_local(w.get("close"))
        return opens, closes, ok1 and ok2

    def window_text(self, key: str, part: str | None = None) -> str:
        """A window's open / close time for pages (Beijing, to the minute), 不限 or 设置有误.
        ``window_text("window_open")`` / ``("window_close")`` (the shared editions list)
        mean the filing window."""
        from ..timeutil import fmt

        if part is None:
            part = "open" if key == "window_open" else "close"
            key = "filing"
        value, ok = read_local(((self.data.get("windows") or {}).get(key) or {}).get(part))
        if not ok:
            return "设置有误"
        return fmt(value) if value else "不限"

    def phase(self, key: str, now=None) -> WindowState:
        """Whether the ``key`` window is open now, with the message when it is not."""
        from ..timeutil import utcnow

        now = now or utcnow()
        opens, closes, readable = self._read(key)
        label, what = WINDOWS[key]
        if not readable:
            # an unreadable stored time never takes a page down; the window stays shut
            return WindowState(False, f"{label}时间设置有误，请联系平台管理员")
        if opens and now < opens:
            return WindowState(False, self.NOT_YET.format(label=label,
                                                          open=self.window_text(key, "open")))
        if closes and now > closes:
            return WindowState(False, self.CLOSED.format(label=label, what=what,
                                                         close=self.window_text(key, "close")))
        return WindowState(True, "")

    # The generic window (editions list, home page) is the filing window.
    def window(self, now=None) -> WindowState:
        return self.phase("filing", now)

    @property
    def window_open_at(self):
        return self.window_of("filing")[0]

    @property
    def window_close_at(self):
        return self.window_of("filing")[1]

    @property
    def edit_cap(self) -> int | None:
        raw = self.data.get("edit_cap")
        try:
            value = int(raw)
        except (TypeError, ValueError):
            return None
        return value if value > 0 else None

    def limit(self, name: str) -> int:
        return int(self.data["limits"].get(name, DEFAULTS["limits"][name]))

    def section_number(self, section: str, key: str) -> int:
        """A positive whole number of a settings section (e.g. ``resources.file_mb``); a
        stored value that cannot be read falls back to the default (never a failed page)."""
        default = DEFAULTS[section][key]
        raw = self.get(section)
        try:
            value = int((raw if isinstance(raw, dict) else {}).get(key, default))
        except (TypeError, ValueError):
            return default
        return value if value > 0 else default
