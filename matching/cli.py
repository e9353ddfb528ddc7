"""Command-line tools: `flask --app wsgi <command>`."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from matching import demo
from matching.errors import ServiceError
from matching.extensions import db
from matching.models import OUTBOX_STATUSES, User
from matching.schemas import bodies, load
from matching.services import accounts, calendar, events, outbox, rounds


def register(app: Flask) -> None:
    """Add the commands to the app's CLI."""
    app.cli.add_command(create_coordinator)
    app.cli.add_command(seed_demo)
    app.cli.add_command(outbox_group)
    app.cli.add_command(match)


@click.command("create-coordinator")
@with_appcontext
@click.argument("email")
@click.option("--name", default="Coordinator", help="Name shown to other coordinators.")
def create_coordinator(email: str, name: str) -> None:
    """Create a coordinator account (password from stdin when it is not a terminal)."""
    if sys.stdin.isatty():
        password = click.prompt(
            "Password (at least 12 characters)", hide_input=True, confirmation_prompt=True
        )
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        values = load(
            bodies.NewCoordinator, {"email": email, "password": password, "display_name": name}
        )
        user = accounts.create_coordinator(**values)
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
    created = demo.seed()
    db.session.commit()
    if created:
        click.echo("Demo data loaded.")
    else:
        click.echo("Demo data already present; nothing changed.")
    click.echo(demo.logins_text())


@click.command("match")
@with_appcontext
@click.option(
    "--coordinator",
    "coordinator_email",
    default=None,
    help="E-mail of the coordinator the round is recorded for (default: the command line).",
)
def match(coordinator_email: str | None) -> None:
    """Run a matching round over every open request and print a summary."""
    actor = None
    if coordinator_email:
        actor = db.session.scalar(
            db.select(User)
            .where(User.email == coordinator_email.strip().lower())
            .where(User.role == "coordinator")
        )
        if actor is None:
            raise click.ClickException(f"No coordinator with the e-mail {coordinator_email}.")
    matching_round = rounds.run_round(actor)
    db.session.commit()
    stats = matching_round.statistics
    click.echo(
        f"Round {matching_round.id}: {len(matching_round.proposals)} proposed, "
        f"{len(matching_round.unmatched)} unmatched "
        f"({stats.get('requests', 0)} open requests, {stats.get('listeners', 0)} listeners, "
        f"solved in {stats.get('build_seconds', 0) + stats.get('solve_seconds', 0):.2f} s)."
    )
    for item in matching_round.unmatched:
        click.echo(f"  request {item['request_id']}: {'; '.join(item['reasons'])}")
    if matching_round.proposals:
        click.echo("Review and approve the proposals on the Rounds page.")


@click.group("outbox", cls=AppGroup)
def outbox_group() -> None:
    """Deliver queued mail and show the queue."""


@outbox_group.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running; deliver every --interval seconds.")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between rounds.")
@click.option("--limit", default=100, show_default=True, help="Messages per round at most.")
def outbox_deliver(loop: bool, interval: float, limit: int) -> None:
    """Pass on expired seat offers, queue due reminders and send due mail (once, or as a
    worker with --loop)."""
    while True:
        try:
            offers = events.pass_on_expired_offers()
            db.session.commit()
            reminders = calendar.queue_reminders()
            db.session.commit()
            outcome = outbox.deliver_due(current_app.config, limit)
        except SQLAlchemyError as err:
            # The database may be restarting; a worker waits and tries again.
            db.session.rollback()
            if not loop:
                raise click.ClickException(f"database error: {err}") from None
            click.echo(f"database error, retrying: {err}", err=True)
        else:
            click.echo(
                f"offers passed on: {offers}; reminders queued: {reminders}; "
                f"sent: {outcome['sent']}; "
                f"retry later: {outcome['queued']}; failed: {outcome['failed']}"
            )
        finally:
            db.session.remove()
        if not loop:
            return
        time.sleep(interval)


@outbox_group.command("status")
def outbox_status() -> None:
    """Show how many messages wait, were sent or failed, and the failures."""
    counts = outbox.status_counts()
    click.echo(" ".join(f"{status}: {counts.get(status, 0)}" for status in OUTBOX_STATUSES))
    for row in outbox.failed_messages(limit=20):
        click.echo(f"failed #{row.id} to {row.recipient}: {row.last_error}")
