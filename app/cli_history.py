"""`flask --app wsgi history verify [INSTANCE]`: whether instances' histories are as they were written."""
from __future__ import annotations

import sys

import click

from app.cli_language import SpokenGroup
from app.services.context import gettext
from app.services.workflow import history_chain

history = SpokenGroup("history", help="Instance histories: their tamper-evident hash chains.")


@history.command("verify")
@click.argument("instance", type=int, required=False)
def verify_command(instance: int | None) -> None:
    """Check the hash chain of one instance's history, or of every instance's: one line each; exit 1
    when any chain is broken (naming its first broken event) or the instance does not exist."""
    verdicts = history_chain.verify(instance)
    if instance is not None and not verdicts:
        click.echo(gettext("error: no process instance %(id)s", id=instance), err=True)
        sys.exit(1)
    broken = 0
    for v in verdicts:
        if v.intact and v.unchained:
            click.echo(gettext("instance %(id)s: intact (%(checked)s events checked, %(unchained)s written "
                               "before the chain existed (not covered))", id=v.instance_id, checked=v.checked,
                               unchained=v.unchained))
            continue
        if v.intact:
            click.echo(gettext("instance %(id)s: intact (%(checked)s events checked)", id=v.instance_id,
                               checked=v.checked))
            continue
        broken += 1
        reason = history_chain.PROBLEMS[v.problem or ""]
        if v.event_id is not None:
            click.echo(gettext("instance %(id)s: BROKEN at event %(event)s (%(problem)s): %(reason)s",
                               id=v.instance_id, event=v.event_id, problem=v.problem, reason=reason))
        else:
            click.echo(gettext("instance %(id)s: BROKEN at its latest events (%(problem)s): %(reason)s",
                               id=v.instance_id, problem=v.problem, reason=reason))
    click.echo(gettext("%(count)s instance(s) checked, %(broken)s broken", count=len(verdicts),
                       broken=broken))
    if broken:
        sys.exit(1)
