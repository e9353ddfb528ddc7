"""Command-line tools: `flask --app wsgi <command>`."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from matching.errors import ServiceError
from matching.extensions import db


def register(app: Flask) -> None:
    """Add the commands to the app's CLI."""
    app.cli.add_command(create_coordinator)
    app.cli.add_command(seed_demo)


@click.command("create-coordinator")
@with_appcontext
@click.argument("email")
@click.option("--name", default="Coordinator", help="Name shown to other coordinators.")
def create_coordinator(email: str, name: str) -> None:
    """Create a coordinator account (password from stdin when it is not a terminal)."""
    from matching.services import accounts

    if sys.stdin.isatty():
        password = click.prompt(
            "Password (at least 12 characters)", hide_input=True, confirmation_prompt=True
        )
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = accounts.create_coordinator(email, password, name)
    except ServiceError as err:
        db.session.rollback()
        details = "; ".join(f"{k}: {v}" for k, v in err.fields.items())
        raise click.ClickException(f"{err.message} {details}".strip()) from None
    db.session.commit()
    click.echo(f"Coordinator {user.email} created.")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load the demo programme (running it again changes nothing)."""
    from matching import demo

    created = demo.seed()
    db.session.commit()
    if created:
        click.echo("Demo data loaded.")
    else:
        click.echo("Demo data already present; nothing changed.")
    click.echo(demo.logins_text())
