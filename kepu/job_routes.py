"""Pages of the task queue's jobs (the ``jobs`` blueprint); only the requester sees a job.

- jobs.mine      GET  /jobs/                    我的导出: the user's recent jobs
- jobs.show      GET  /jobs/<id>                progress; HTMX polls the progress block every
                                                second until the job ends (then the block
                                                comes back without its trigger)
- jobs.download  GET  /jobs/<id>/download       the file; 410 once expired
- jobs.retry     POST /jobs/<id>/retry          the same export again (failed / expired)

The queue and the Job model: ``kepu/jobs.py``; starting an export: ``kepu/exports.py``.
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .extensions import db
from .files.routes import content_disposition
from .files.storage import content_type_for
from .htmx import redirect_to, render
from .jobs import Job, file_kinds, retry_job
from .web import error_response

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

MINE_LIMIT = 50


def _load(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or not job.can_view(current_user):
        abort(404)
    return job


@bp.get("/")
@login_required
def mine():
    rows = db.session.scalars(
        select(Job).where(Job.user_id == current_user.id)
        .order_by(Job.created_at.desc(), Job.id.desc()).limit(MINE_LIMIT)).all()
    return render("jobs/mine.html", jobs=rows, limit=MINE_LIMIT)


@bp.get("/<int:job_id>")
@login_required
def show(job_id: int):
    job = _load(job_id)
    return render("jobs/show.html", block="progress", job=job)


def _expired_page(job: Job):
    return render("jobs/expired.html", job=job, status=410)


@bp.get("/<int:job_id>/download")
@login_required
def download(job_id: int):
    job = _load(job_id)
    if job.is_expired:
        return _expired_page(job)
    if job.status != "done":
        return redirect(url_for("jobs.show", job_id=job.id), code=303)
    path = job.path()
    if path is None or not path.is_file():
        # removed by the retention purge (or by hand) before the row said so
        return _expired_page(job)
    name = job.file_name or path.name
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    resp = send_file(path, mimetype=content_type_for(ext), max_age=0, conditional=False,
                     etag=False)
    resp.headers["Content-Disposition"] = content_disposition(name, ext)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/<int:job_id>/retry")
@login_required
def retry(job_id: int):
    job = _load(job_id)
    if job.is_active:
        return redirect_to(url_for("jobs.show", job_id=job.id))
    if job.kind not in file_kinds():  # the export was removed since
        return error_response(400, "该导出已不再提供，请回到列表页重新导出。")
    new = retry_job(job)
    return redirect_to(url_for("jobs.show", job_id=new.id))
