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
