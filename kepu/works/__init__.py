"""优质科普作品征集 (works call), seed 000. URL prefix /works.

Route modules by audience (each thin: load → 404 → predicate → operation → render):
- apply_routes   applicants: 提交作品 (3 steps, autosave), 我的作品
- review_routes  recommender-unit admins and platform admins: lists, detail, 推荐/退回
- expert_routes  experts (scoring) and platform admins (assignment, ranking, selection, stats)
- admin_routes   platform admins: edition settings; the public help page
"""
from flask import Blueprint

bp = Blueprint("works", __name__, url_prefix="/works")

from . import files as _files  # noqa: E402

_files.init_files()

from . import tally as _tally  # noqa: E402

_tally.install()

from . import routes  # noqa: E402,F401
from . import pool  # noqa: E402,F401  (the 入选 works other campaigns may show)
from . import tasks  # noqa: E402,F401
from . import workbench  # noqa: E402,F401
