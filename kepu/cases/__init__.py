"""典赞·科普中国 case collection (seed 004). URL prefix /cases.

- code_routes    推荐码: platform admins list/export/regenerate; users bind with a code
- entry_routes   implementing units: start a case with a code, the 附件 form, my cases
- review_routes  unit case admins: list, 退回/推荐 within quotas, summary PDF/xlsx, scan
- select_routes  national admins: all recommended cases, showcase selection, export
"""
from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/cases")

from . import files as _files  # noqa: E402

_files.init_files()

from . import routes  # noqa: E402,F401
from . import edition_routes  # noqa: E402,F401
from . import workbench  # noqa: E402,F401
