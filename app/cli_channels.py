"""`flask --app wsgi channels ...`: the channels (loan marketplaces, partners) that post leads."""
from __future__ import annotations

import sys

import click

from app.cli_language import SpokenGroup
from app.services.context import gettext
from app.services.errors import ServiceError
from app.services.origination import leads

channels = SpokenGroup("channels", help="Channels that post leads with their API key.")


@channels.command("create")
@click.argument("code")
@click.argument("name")
def create_channel_command(code: str, name: str) -> None:
    """Register a channel; its API key is printed this once (the last line), only its hash is kept."""
    try:
        row, key = leads.register_channel(code, name)
    except ServiceError as exc:
        click.echo(gettext("error: %(message)s", message=exc.message), err=True)
        for field, messages in exc.fields.items():
            for message in messages:
                click.echo(f"  {field}: {message}", err=True)
        sys.exit(1)
    click.echo(gettext("channel %(code)s (%(name)s) created; its key (shown once, send it as X-Channel-Key):",
                       code=row.code, name=row.name))
    click.echo(key)
