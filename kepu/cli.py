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
]

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
    _demo_campaigns()
    click.echo("")
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for phone, name, role, org_name in DEMO_ACCOUNTS:
        click.echo(f"  {phone}  {name}")


def _demo_campaigns() -> None:
    """The 2026 works and cases editions, 推荐码, and a few demo entries (idempotent)."""
    from sqlalchemy import func, select

    from .accounts.models import User
    from .accounts.operations import grant_role
    from .cases.models import RecommendCode
    from .cases.operations.codes import ensure_codes
    from .cases.operations.editions import ensure_edition as ensure_cases_edition
    from .orgs.models import Org
    from .timeutil import utcnow
    from .works.models import Work
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

    applicant = User.by_phone("13800000004")
    beijing = db.session.scalar(select(Org).where(Org.name == "北京市科学技术协会"))
    has_works = db.session.scalar(select(func.count(Work.id)).where(
        Work.campaign_id == works.id, Work.owner_id == applicant.id))
    if applicant and beijing and not has_works:
        demo = [
            ("身边的量子科技", "科普视频", "前沿科技", "pending"),
            ("家庭急救十问", "科普文章", "健康生活", "pending"),
            ("湿地里的候鸟", "科普图书", "生态环境", "draft"),
        ]
        for title, work_type, category, status in demo:
            db.session.add(Work(
                campaign_id=works.id, owner_id=applicant.id, status=status,
                step=3 if status != "draft" else 1,
                title=title, work_type=work_type, category=category,
                intro=f"《{title}》面向公众的科普作品（演示数据）。", author_name="王小明",
                applicant_unit="北京科普创作中心（演示）", unit_address="北京市海淀区复兴路3号",
                contact_name="王小明", contact_phone="13800000004", email="demo@example.com",
                job_title="编辑", unit_type="省级科协", channel_id=beijing.id,
                highlights="内容经专家审读，累计播放量超过100万次（演示数据）。",
                submitted_at=None if status == "draft" else utcnow()))
        db.session.commit()
        click.echo("Demo works: 3 (2 待推荐 at 北京市科学技术协会, 1 draft)")
    code = db.session.scalar(select(RecommendCode).where(
        RecommendCode.campaign_id == cases.id, RecommendCode.org_id == org.id)) if org else None
    if code:
        click.echo(f"推荐码 of {org.name}: {code.code} (for 13800000006 at /cases/start)")


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
    """Load the built-in org library (run after `flask db upgrade`)."""
    from .orgs.operations import load_builtin_orgs

    result = load_builtin_orgs()
    click.echo(f"Org library: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged")


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
