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
]


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
    click.echo("")
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for phone, name, role, org_name in DEMO_ACCOUNTS:
        click.echo(f"  {phone}  {name}")


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
