"""Home page."""
from flask import Blueprint, render_template

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/healthz")
def healthz():
    from sqlalchemy import text

    from .extensions import db

    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
