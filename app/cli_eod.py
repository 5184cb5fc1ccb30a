"""`flask --app wsgi eod ...` (the end-of-day batch, its outbox) and `ledger ...` (the trial balance,
the chart of accounts and each product's accounts)."""
from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import NoReturn

import click
from rich.cells import cell_len
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.cli_language import SpokenGroup
from app.services.context import gettext
from app.services.context import lazy_gettext as _l
from app.services.errors import ServiceError

eod = SpokenGroup("eod", help="The end-of-day batch: overdue, penalty interest, buckets, messages.")
ledger = SpokenGroup("ledger", help="The double-entry ledger.")

# the batch's steps (`app.services.ledger.eod.STEPS`) as the progress bar says them
STEP_WORDS = {
    "settle empty bills": _l("settle empty bills"),
    "bill interest": _l("bill interest"),
    "mark overdue": _l("mark overdue"),
    "penalty charges": _l("penalty charges"),
    "penalty interest": _l("penalty interest"),
    "days past due": _l("days past due"),
    "bill notices": _l("bill notices"),
    "bills due": _l("bills due"),
}


def _step(name: str) -> str:
    return str(STEP_WORDS.get(name, name))


def _left(text: str, width: int) -> str:
    """`text` padded to `width` columns of the screen (a Chinese character takes two)."""
    return text + " " * max(0, width - cell_len(text))


@eod.command("run")
@click.option("--date", "until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Process every business date up to this one (default: yesterday in the business time zone, LOANFLOW_TIMEZONE).")
@click.option("--notice-days", type=click.IntRange(min=0), default=None,
              help="Days before a due date that bill_due_soon goes out (default 3).")
def run_command(until: datetime | None, notice_days: int | None) -> None:
    """Run the batch for every date after the last completed run up to --date."""
    from app.services.ledger.eod import BILL_NOTICE_DAYS, STEPS, pending_dates, run_eod
    from app.services.ledger.loans import business_today

    day: date = until.date() if until else business_today() - timedelta(days=1)
    dates = pending_dates(day)
    console = Console(stderr=True)
    if not dates:
        click.echo(gettext("nothing to do: the batch has run up to %(date)s", date=day))
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(gettext("end of day %(date)s", date=dates[0]), total=len(dates) * len(STEPS))

        def advance(business_date: date, step: str) -> None:
            progress.update(task, advance=1, description=gettext("end of day %(date)s: %(step)s",
                                                                 date=business_date, step=_step(step)))

        try:
            summaries = run_eod(day, advance, BILL_NOTICE_DAYS if notice_days is None else notice_days)
        except ServiceError as exc:
            click.echo(gettext("error: %(message)s", message=exc.message), err=True)
            sys.exit(1)
    for summary in summaries:
        counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items())
        click.echo(gettext("%(date)s completed in %(seconds)s: %(counts)s", date=summary.business_date,
                           seconds=f"{summary.seconds:.2f}s", counts=counts))


@eod.command("runs")
@click.option("--last", default=10, show_default=True)
def runs_command(last: int) -> None:
    """The most recent end-of-day runs: date, status, attempts, duration and what they did."""
    from app.services.ledger.eod import recent_runs

    for run in recent_runs(last):
        took = f"{(run.finished_at - run.started_at).total_seconds():.1f}s" if run.finished_at else "-"
        done = ", ".join(f"{k} {v}" for k, v in run.counts.items() if v not in (0, "0.00"))
        click.echo(gettext("%(date)s %(status)s attempt %(attempt)s %(took)s  %(done)s",
                           date=run.business_date, status=f"{run.status:<9}", attempt=run.attempts,
                           took=f"{took:>7}", done=done or run.error or ""))


@eod.command("deliver")
@click.option("--limit", default=500, show_default=True)
def deliver_command(limit: int) -> None:
    """Deliver undelivered outbox messages to the loans' process instances."""
    from app.services.workflow.outbox_delivery import deliver_outbox

    click.echo(gettext("delivered %(count)s message(s)", count=deliver_outbox(limit)))


@ledger.command("trial-balance")
def trial_balance_command() -> None:
    """Every account's balance (debit positive) and the total, which is always zero."""
    from app.services.ledger.journal import trial_balance, unbalanced_entries

    balance = trial_balance()
    for account, amount in balance.balances.items():
        click.echo(f"{account:<22}{amount:>20}")
    total = gettext("total")
    click.echo(f"{_left(total, 22)}{balance.total:>20}")
    bad = unbalanced_entries()
    if bad or balance.total != 0:
        click.echo(gettext("error: unbalanced entries %(entries)s", entries=bad), err=True)
        sys.exit(1)


@ledger.command("accounts")
@click.option("--product", default=None, help="Show this product's account for each posting role instead.")
def accounts_command(product: str | None) -> None:
    """The chart of accounts (code, kind, name), or a product's account per posting role."""
    from app.services.ledger.posting import accounts_of_product, chart

    if product is None:
        for account in chart():
            click.echo(f"{account.code:<32} {account.kind:<10} {account.name}")
        return
    try:
        accounts = accounts_of_product(product)
    except ServiceError as exc:
        _fail(exc)
    for role, code in accounts.items():
        click.echo(f"{role.value:<22} {code}")


@ledger.command("add-account")
@click.argument("code")
@click.argument("name")
@click.option("--kind", required=True, help="asset, liability, equity, income or expense.")
def add_account_command(code: str, name: str, kind: str) -> None:
    """Add an account to the chart; `ledger map-account` has a product post to it."""
    from app.services.ledger.posting import add_account

    _committed(lambda: add_account(code, name, kind))
    click.echo(gettext("added %(code)s", code=code))


@ledger.command("map-account")
@click.argument("product")
@click.argument("role")
@click.argument("account")
def map_account_command(product: str, role: str, account: str) -> None:
    """From now on, post PRODUCT's ROLE (e.g. interest_income) to ACCOUNT."""
    from app.services.ledger.posting import map_account

    _committed(lambda: map_account(product, role, account))
    click.echo(gettext("%(product)s: %(role)s posts to %(account)s", product=product, role=role,
                       account=account))


def _committed(change: Callable[[], object]) -> None:
    """Make the change and commit it; a refusal rolls back, is printed and exits 1."""
    from app.extensions import db

    try:
        change()
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        _fail(exc)


def _fail(exc: ServiceError) -> NoReturn:
    problems = "; ".join(f"{field}: {', '.join(messages)}" for field, messages in exc.fields.items())
    if problems:
        click.echo(gettext("error: %(message)s (%(problems)s)", message=exc.message, problems=problems),
                   err=True)
    else:
        click.echo(gettext("error: %(message)s", message=exc.message), err=True)
    sys.exit(1)
