from flask import Blueprint

bp = Blueprint("files", __name__, url_prefix="/files")

from . import routes  # noqa: E402,F401
from . import tasks  # noqa: E402,F401  (periodic purge on the task queue)
