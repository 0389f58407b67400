"""Per-edition settings of the works call (stored in ``Campaign.settings``).

Nothing year-specific lives in Python: every window, taxonomy, limit, text and rubric
below is only the *default* a new edition starts with; platform admins edit them in
the admin area (``works.admin_settings``). ``WorksSettings(campaign)`` merges the
stored values over these defaults.

Seed 000 is inconsistent about 亮点总结: the hint says 3000 characters, the counter
shows 2000. The default is 3000 (the written rule is the requirement; the counter was
a UI slip) and the value is a setting (``limits.highlights``).
"""
from __future__ import annotations

from ..editions import (EditionSettings, WindowState, merge_settings, parse_local,  # noqa: F401
                        read_local)

KIND = "works"

DEFAULT_DECLARATION = [
    "作品符合党的路线、方针、政策，符合党的宣传工作要求，符合国家法律、法规，符合国家网络安全和信息化建设相关要求，符合社会主义核心价值观。",
    "作品紧扣本次征集内容，注重弘扬创新文化、融入创新思想，体现鲜明的创意设计和创新理念，思想健康向上、通俗易懂，彰显新时代科普工作主旋律。",
    "作品为2024年以来创作的原创作品，无抄袭、仿冒等侵权行为，不侵犯任何第三方的知识产权或其他合法权益。凡提交作品引发的版权、肖像权等法律纠纷，一切法律责任均由本单位承担。",
    "作品不涉及国家秘密、工作秘密、商业秘密及其他敏感信息，内容符合国家保密法律法规及相关管理规定，因泄密产生的一切责任由本单位承担。",
    "本单位同意并不可撤销的授权：中国科协对申报作品的公益使用权，可用于各类公益科普宣传活动。",
]

DEFAULTS: dict = {
    # Submission window, Beijing time, "YYYY-MM-DD HH:MM" (empty = open-ended).
    "window_open": "2026-01-01 00:00",
    "window_close": "2026-12-31 23:59",
    # 推荐截止: after it recommender units can no longer recommend, return or undo
    # (empty = no separate review deadline; the seed names none).
    "review_close": "",
    "work_types": ["科普图书", "科普文章", "科普视频", "科普动漫", "科普演讲稿", "科普游戏", "科普展品", "其他"],
    "categories": ["前沿科技", "健康生活", "生态环境", "应急安全", "科学文化", "乡村振兴", "数字素养", "其他"],
    "limits": {
        "title": 50,          # 作品名称
        "intro": 500,         # 作品简介
        "highlights": 3000,   # 亮点总结 (seed: "3000字以内"; its counter shows 2000)
        "media": 300,         # 相关媒体报道名称和链接, all entries together
        "media_items": 3,     # "篇幅控制在3篇以内"
        "awards": 500,        # 获奖情况
        "work_file_mb": 100,  # 作品文件: several files, each ≤ 100 MB
        "work_files_max": 10,
        "cover_mb": 10,
        "award_file_mb": 100,
    },
    "award_extensions": ["jpg", "jpeg", "png", "pdf", "doc", "docx", "wps", "ppt", "pptx",
                         "xls", "xlsx", "zip", "mp4"],
    "work_file_extensions": ["pdf", "doc", "docx", "wps", "ppt", "pptx", "txt", "jpg", "jpeg",
                             "png", "mp4", "mov", "mp3", "zip"],
    "declaration": DEFAULT_DECLARATION,
    "rubric": [
        {"key": "scientific", "label": "科学性", "weight": 40, "max": 100,
         "hint": "内容准确、严谨，无科学性错误"},
        {"key": "innovative", "label": "创新性", "weight": 30, "max": 100,
         "hint": "选题、形式或表达有新意"},
        {"key": "communicative", "label": "传播性", "weight": 30, "max": 100,
         "hint": "通俗易懂，传播效果好，有可量化的传播数据"},
    ],
    "experts_per_work": 2,
    "sms_notify": True,
    "help": {
        "audience": "本次征集面向纲要办成员单位、全国学会、省级科协、高校科协、园区（企业）科协及其他具备申报资格的主体单位人员。",
        "business_contact": "中国科协科普部　褚倩倩　程嘉宁　010-68524993",
        "tech_contact": "管理平台技术保障　龚天宇　18612473958",
        "notes": "",
    },
    # Set when the admin publishes the selection result (ISO UTC); applicants then
    # see 入选 / 未入选.
    "results_published_at": None,
}


def merged(stored: dict | None) -> dict:
    """Defaults overlaid with the stored settings (nested dicts merged one level)."""
    return merge_settings(DEFAULTS, stored)


class WorksSettings(EditionSettings):
    """A works-call edition's settings with the defaults filled in."""

    KIND = KIND
    KIND_LABEL = "作品征集"
    DEFAULTS = DEFAULTS
    NOT_YET = "作品征集将于 {open} 开始，请届时提交"
    CLOSED = "作品征集已于 {close} 截止，不能再提交或修改作品"

    @property
    def review_close_at(self):
        return read_local(self.data.get("review_close"))[0]

    def review_window(self, now=None) -> WindowState:
        """Recommender units decide until ``review_close`` (if one is set); an unreadable
        stored value keeps it shut (and never takes a page down)."""
        from ..timeutil import fmt, utcnow

        closes, readable = read_local(self.data.get("review_close"))
        if not readable:
            return WindowState(False, "推荐截止时间设置有误，请联系平台管理员")
        if closes is not None and (now or utcnow()) > closes:
            return WindowState(False, f"推荐审核已于 {fmt(closes)} 截止，不能再推荐、退回或撤销")
        return WindowState(True, "")

    @property
    def rubric(self) -> list[dict]:
        return list(self.data["rubric"])

    @property
    def results_published(self) -> bool:
        return bool(self.data.get("results_published_at"))
