"""Every write of the works call. Split by audience; each function validates the
rules, applies the transition through ``WORK_FLOW`` (which writes the audit row) and
commits once.

- operations.common   OperationError, campaign lookup, window check, SMS notices
- operations.apply    drafts, autosave with version check, submit / 确认更新, delete
- operations.review   推荐 / 退回 / bulk, per-unit quota
- operations.scoring  expert assignment, scores, ranking, selection, publishing
- operations.editions edition settings
"""
from .common import OperationError  # noqa: F401
