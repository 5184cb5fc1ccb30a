"""`flask --app wsgi history verify [INSTANCE]`: whether instances' histories are as they were written."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.services.workflow import history_chain

history = AppGroup("history", help="Instance histories: their tamper-evident hash chains.")


@history.command("verify")
@click.argument("instance", type=int, required=False)
def verify_command(instance: int | None) -> None:
    """Check the hash chain of one instance's history, or of every instance's: one line each; exit 1
    when any chain is broken (naming its first broken event) or the instance does not exist."""
    verdicts = history_chain.verify(instance)
    if instance is not None and not verdicts:
        click.echo(f"error: no process instance {instance}", err=True)
        sys.exit(1)
    broken = 0
    for v in verdicts:
        unchained = f", {v.unchained} written before the chain existed (not covered)" if v.unchained else ""
        if v.intact:
            click.echo(f"instance {v.instance_id}: intact ({v.checked} events checked{unchained})")
            continue
        broken += 1
        where = f"event {v.event_id}" if v.event_id is not None else "its latest events"
        click.echo(f"instance {v.instance_id}: BROKEN at {where} ({v.problem}): "
                   f"{history_chain.PROBLEMS[v.problem or '']}")
    click.echo(f"{len(verdicts)} instance(s) checked, {broken} broken")
    if broken:
        sys.exit(1)
