"""Upload fields of the cases call (seed 004 附件): one landscape and one portrait
photo, each ≤1 MB; award proof; the unit's stamped summary scan."""
from __future__ import annotations

from ..files.models import register_entity
from ..files.specs import MB, FieldSpec, register_field
from .models import (ENTITY, F_AWARD_PROOF, F_PHOTO_LANDSCAPE, F_PHOTO_PORTRAIT,
                     load_case, load_submission)

F_SCAN = "case_summary_scan"
SUBMISSION_ENTITY = "case_submission"


def init_files() -> None:
    register_field(FieldSpec(F_PHOTO_LANDSCAPE, "横版照片", {"jpg", "jpeg", "png"}, 1 * MB,
                             image=True, orientation="landscape"))
    register_field(FieldSpec(F_PHOTO_PORTRAIT, "竖版照片", {"jpg", "jpeg", "png"}, 1 * MB,
                             image=True, orientation="portrait"))
    register_field(FieldSpec(F_AWARD_PROOF, "获奖证明材料",
                             {"jpg", "jpeg", "png", "pdf", "doc", "docx", "wps", "zip"},
                             20 * MB, multiple=True, max_files=5))
    register_field(FieldSpec(F_SCAN, "盖章汇总表扫描件", {"pdf", "jpg", "jpeg", "png"},
                             20 * MB))
    register_entity(ENTITY, load_case)
    register_entity(SUBMISSION_ENTITY, load_submission)
