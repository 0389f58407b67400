from flask import Blueprint

bp = Blueprint("orgs", __name__, url_prefix="/orgs")

from . import routes  # noqa: E402,F401
