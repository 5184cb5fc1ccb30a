"""`flask --app wsgi loans ...`: print a repayment schedule from terms, or simulate payments from a JSON file."""
from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import click
from rich.cells import cell_len

from app.cli_language import SpokenGroup
from app.lending.codec import OLD_VALUES, schedule_to_dict, terms_from_mapping
from app.lending.daycount import DaysInMonth, DaysInYear, Frequency
from app.lending.errors import LendingError
from app.lending.holidays import HolidayDataWarning
from app.lending.money import Rounding, parse_decimal
from app.lending.schedule import Schedule, generate_schedule
from app.lending.simulator import simulate_request
from app.lending.terms import Amortization, InterestMethod, InterestPeriod
from app.services.context import gettext, readable

loans = SpokenGroup("loans", help="Loan schedules and repayment simulations.")


class EnumChoice(click.Choice):
    """One of an enum's values; an old spelling the codec still reads (`OLD_VALUES`) is taken too."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            value = OLD_VALUES.get(value.strip().lower(), value)
        return super().convert(value, param, ctx)


def _choice(kind: type[StrEnum]) -> click.Choice:
    return EnumChoice([m.value for m in kind], case_sensitive=False)


class DecimalType(click.ParamType):
    name = "decimal"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        """The digits 0-9 only (`parse_decimal`): "１２" or "٣" is not a number here."""
        if isinstance(value, Decimal):
            return value
        try:
            return parse_decimal(str(value), param.name if param is not None and param.name else "value")
        except LendingError as exc:
            self.fail(exc.message, param, ctx)


DECIMAL = DecimalType()
DATE = click.DateTime(formats=["%Y-%m-%d"])


@loans.command("schedule")
@click.option("--principal", type=DECIMAL, required=True, help="Amount lent, in yuan.")
@click.option("--annual-rate", type=DECIMAL, required=True, help="Nominal annual rate, a percent (12 = 12 %).")
@click.option("--repayments", type=click.IntRange(min=1), default=None,
              help="Number of repayments (default 1 for a whole-term loan).")
@click.option("--disbursed-on", type=DATE, required=True, help="Disbursement date, YYYY-MM-DD.")
@click.option("--interest-method", type=_choice(InterestMethod), default=InterestMethod.DECLINING_BALANCE.value,
              show_default=True)
@click.option("--amortization", type=_choice(Amortization), default=Amortization.EQUAL_INSTALMENTS.value,
              show_default=True)
@click.option("--interest-period", type=_choice(InterestPeriod), default=InterestPeriod.SAME_AS_REPAYMENT.value,
              show_default=True)
@click.option("--days-in-year", type=_choice(DaysInYear), default=DaysInYear.ACTUAL.value, show_default=True)
@click.option("--days-in-month", type=_choice(DaysInMonth), default=DaysInMonth.ACTUAL.value, show_default=True)
@click.option("--instalment-multiple", type=DECIMAL, default=None,
              help="Round the instalment to a multiple of this amount (e.g. 1 yuan).")
@click.option("--installment-multiple", type=DECIMAL, default=None, hidden=True)  # the old spelling, still read
@click.option("--rounding", type=_choice(Rounding), default=Rounding.HALF_EVEN.value, show_default=True)
@click.option("--principal-grace", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--interest-grace", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--frequency", type=_choice(Frequency), default=Frequency.MONTHS.value, show_default=True)
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Repay every N months, weeks or days.")
@click.option("--maturity-date", type=DATE, default=None, help="Maturity of a whole-term loan, YYYY-MM-DD.")
@click.option("--holiday-shift", is_flag=True, help="Move due dates on Chinese public holidays to the next working day.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def schedule_command(as_json: bool, holiday_shift: bool, **options: Any) -> None:
    """Print the repayment schedule of a loan with the given terms."""
    terms_data: dict[str, object] = {}
    for key, value in options.items():
        if value is None:
            continue
        terms_data[key] = value.date() if isinstance(value, datetime) else value
    if options["frequency"] == Frequency.WHOLE_TERM.value and options["repayments"] is None:
        terms_data["repayments"] = 1
    elif options["repayments"] is None:
        raise click.UsageError("Missing option '--repayments'.")
    terms_data["shift_due_dates_on_holidays"] = holiday_shift
    with _reported_errors(usage=True):
        with _holiday_warnings():
            schedule = generate_schedule(terms_from_mapping(terms_data))
    _print(schedule, as_json)


@loans.command("simulate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def simulate_command(file: Path) -> None:
    """Apply the dated payments in FILE.json to a loan and print the resulting schedule as JSON.

    FILE holds {"terms": {...}, "transactions": [{"date", "amount"}], "prepayment":
    "shorten_term" | "reduce_instalment"}. Each payment settles what is due and the current
    bill (even a few days early, as scheduled); only money above that prepays principal.
    """
    try:
        data = json.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(gettext("%(file)s is not valid JSON: %(problem)s", file=file, problem=exc))
    with _reported_errors(usage=False):
        with _holiday_warnings():
            simulation = simulate_request(data)
    if simulation.account.credit > 0:
        click.echo(gettext("note: %(credit)s paid beyond the loan is kept as credit",
                           credit=simulation.account.credit), err=True)
    _print(simulation.schedule, as_json=True)


def _print(schedule: Schedule, as_json: bool) -> None:
    data = schedule_to_dict(schedule)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    due, principal, interest = gettext("due date"), gettext("principal"), gettext("interest")
    total, balance = gettext("total"), gettext("balance")
    click.echo(f"{'#':>3}  {_left(due, 10)}  {_right(principal, 14)}  {_right(interest, 12)}  {_right(total, 14)}"
               f"  {_right(balance, 14)}")
    for row in data["instalments"]:
        click.echo(f"{row['number']:>3}  {row['due_date']:<10}  {row['principal']:>14}  {row['interest']:>12}"
                   f"  {row['total']:>14}  {row['balance']:>14}")
    click.echo(gettext("total interest %(interest)s, total repayment %(repayment)s",
                       interest=data["total_interest"], repayment=data["total_repayment"]))


def _left(text: str, width: int) -> str:
    """`text` padded to `width` columns of the screen (a Chinese character takes two)."""
    return text + " " * max(0, width - cell_len(text))


def _right(text: str, width: int) -> str:
    return " " * max(0, width - cell_len(text)) + text


def _fail(message: str) -> None:
    click.echo(gettext("error: %(message)s", message=message), err=True)
    sys.exit(1)


@contextmanager
def _reported_errors(usage: bool) -> Iterator[None]:
    """Lending errors become a usage error (exit 2) for options, or `error: ...` and exit 1 for files."""
    try:
        yield
    except LendingError as exc:
        said = str(readable(exc))
        if not usage:
            _fail(f"{exc.field}: {said}" if exc.field else said)
        where = f"--{exc.field.replace('_', '-')}: " if exc.field else ""
        raise click.UsageError(f"{where}{said}") from None


@contextmanager
def _holiday_warnings() -> Iterator[None]:
    """Show the holiday-data fallback as a plain `warning:` line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HolidayDataWarning)
        yield
    for w in caught:
        if issubclass(w.category, HolidayDataWarning):
            click.echo(gettext("warning: %(message)s", message=w.message), err=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
