"""全国科普日 (Science Day activities), seeds 001, 002, 003. URL prefix /science-day.

Route modules by audience (each thin: load → 404 → predicate → operation → render):
- apply_routes    info officers: certification, 发布活动 (the activity form), 用户中心
- review_routes   provincial, national, society / ministry, city / county admins: 活动管理
- public_routes   everyone: the edition's home, the activity list and detail pages
- admin_routes    platform admins: editions and settings
- summary_routes  owners of approved activities: 活动总结; the completeness panels'
                  Jinja globals (owner's page, reviewers' detail, 我的活动 badges)
"""
from flask import Blueprint

bp = Blueprint("science_day", __name__, url_prefix="/science-day")

from . import files as _files  # noqa: E402

_files.init_files()

from . import tally as _tally  # noqa: E402

_tally.install()

from . import routes  # noqa: E402,F401
from . import workbench  # noqa: E402,F401
