"""Per-edition settings of the cases call (``Campaign.settings``; defaults below are
only what a new edition starts with — platform admins edit them)."""
from __future__ import annotations

from ..editions import EditionSettings, merge_settings

KIND = "cases"

DEFAULTS: dict = {
    # Registration / entry window, Beijing time (seed 004: from 6月17日, deadline 6月30日).
    "window_open": "2026-06-17 00:00",
    "window_close": "2026-06-30 23:59:59",
    # Cases about work carried out since this date.
    "work_since": "2025-01-01",
    "categories": {
        "activity": {"label": "科普活动服务",
                     "subtypes": ["科普讲座", "科普沙龙", "科学表演", "科普赛事", "科普研学",
                                  "科普市集", "综合活动", "其他"]},
        "venue": {"label": "科普阵地建设",
                  "subtypes": ["科技馆", "科技类博物馆", "全国科普教育基地", "科技小院",
                               "实验室", "生产线", "其他"]},
    },
    "limits": {"name": 20, "summary": 500, "media_items": 3, "details": 3000,
               "awards": 500, "other_text": 20},
    "quota_per_category": 3,
    "quota_total": 6,
    # National showcase: ≤100 in all; about 40 科普作品传播, 30 活动服务, 30 阵地建设.
    "showcase_total": 100,
    "showcase_targets": {"works": 40, "activity": 30, "venue": 30},
    "works_category_label": "科普作品传播",
    "detail_outline": ["实施、应用及推广情况", "成效与创新亮点", "经验及思考"],
    "past_years_rule": "2025年已入选的案例不再重复提交。",
    "contacts": {
        "business": "中国科协科普部　温超　010-68526368；中国科协科学技术传播中心　贾亚男　010-87413547",
        "tech": "中科科界（北京）科技有限公司　李秋雨　15901291219",
    },
}


def merged(stored: dict | None) -> dict:
    # "categories" is stored whole: an admin may remove a category or a subtype.
    return merge_settings(DEFAULTS, stored, CasesSettings.REPLACE)


class CasesSettings(EditionSettings):
    """A cases edition's settings with the defaults filled in."""

    KIND = KIND
    KIND_LABEL = "案例征集"
    DEFAULTS = DEFAULTS
    REPLACE = frozenset({"categories"})
    NOT_YET = "案例征集将于 {open} 开始"
    CLOSED = "案例征集已于 {close} 截止"

    def category_label(self, key: str) -> str:
        if key == "works":
            return self.data["works_category_label"]
        return self.data["categories"].get(key, {}).get("label", key)
