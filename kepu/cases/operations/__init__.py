"""Every write of the cases call, split by audience (each validates, transitions
through ``CASE_FLOW``, audits and commits once).

- operations.codes    推荐码: generate, regenerate, bind a unit case admin
- operations.entry    implementing units: drafts/autosave, submit, 2025 duplicate rule
- operations.past     import of earlier editions' selected cases
- operations.review   unit admin: 退回 / 推荐 within quotas (race-safe), stamped scan, unlock
- operations.select   national showcase selection
"""
from ...workflow import OperationError  # noqa: F401
