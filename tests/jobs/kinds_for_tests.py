"""Export and file kinds used only by the tests (also imported by the real consumer in
test_jobs_consumer.py through ``KEPU_JOBS_IMPORTS``)."""
from __future__ import annotations

from sqlalchemy import select

from kepu import jobs
from kepu.exports import ExportSpec, Sheet, export_kind
from kepu.extensions import db
from kepu.jobs import FileSpec, Job, JobRefused

HEADER = ["编号", "名称", "备注", "数量"]
FORMULAS = ["=1+1", "+8613800000000", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd"]

# progress values seen from another connection while a job was running (test hook)
OBSERVED: list[int] = []


@export_kind("tests.rows")
def rows_export(user, params) -> ExportSpec:
    """``n`` rows; only the user named in ``params["for_user"]`` may have them."""
    if user.id != params.get("for_user"):
        raise JobRefused("无权导出这些数据")
    n = int(params.get("n", 10))
    fail_at = params.get("fail_at")
    watch_at = params.get("watch_at")
    job_id = params.get("job_hint")

    def rows():
        for i in range(1, n + 1):
            if fail_at is not None and i == fail_at:
                raise RuntimeError(f"boom at row {i}")
            if watch_at is not None and i == watch_at:
                # what a page would read now, from its own connection
                with db.engine.connect() as conn:
                    OBSERVED.append(conn.scalar(
                        select(Job.progress_done).where(Job.id == job_id)
                        if job_id else select(Job.progress_done).order_by(Job.id.desc())
                        .limit(1)))
            yield [i, f"第{i}行：科普", FORMULAS[i % len(FORMULAS)] if i % 7 == 0 else "", i * 2]

    return ExportSpec(
        filename="测试导出.xlsx",
        sheets=[Sheet("测试数据", HEADER, rows()), ("第二页", ["合计"], iter([[n]]))],
        total=None if params.get("no_total") else n + 1,
        widths={1: 30})


@jobs.file_kind("tests.pages")
def pages_file(user, params) -> FileSpec:
    """A generic file job (a slow PDF, say): ``pages`` pages of bytes."""
    if user.id != params.get("for_user"):
        raise JobRefused("无权生成该文件")
    pages = int(params.get("pages", 3))

    def write(out, progress):
        out.write(b"%PDF-1.4\n")
        for p in range(pages):
            out.write(f"% page {p + 1}\n".encode())
            progress.advance()

    return FileSpec("测试文件.pdf", write, total=pages, unit="页")
