"""The repayment simulator: terms plus dated payments in, the resulting schedule (all versions) out."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.lending.account import LoanAccount, PaymentResult, apply_payment, open_account
from app.lending.codec import parse_date, terms_from_mapping
from app.lending.errors import TermsError
from app.lending.holidays import HolidayCalendar
from app.lending.money import parse_money
from app.lending.schedule import Schedule, generate_schedule
from app.lending.terms import LoanTerms, Prepayment


@dataclass(frozen=True)
class Transaction:
    on: date
    amount: Decimal


@dataclass(frozen=True)
class Simulation:
    """The account after every transaction, and each payment's booking in the order applied."""

    account: LoanAccount
    payments: tuple[PaymentResult, ...]

    @property
    def schedule(self) -> Schedule:
        return self.account.schedule


def simulate(terms: LoanTerms, transactions: Sequence[Transaction],
             mode: Prepayment = Prepayment.SHORTEN_TERM, calendar: HolidayCalendar | None = None) -> Simulation:
    """Apply each payment on its date (in date order, ties in the order given) to the loan's schedule.

    A payment settles what is due on its date and the current bill as scheduled (a bill paid a
    few days early is simply paid); above that it prepays principal from the bill's due date (from
    the payment's date when no bill is current), so later interest runs on the lower balance; a
    payment covering the pay-off quote closes the loan, and beyond that it becomes a credit.
    """
    account = open_account(generate_schedule(terms, calendar))
    results = []
    for tx in sorted(transactions, key=lambda t: t.on):
        result = apply_payment(account, tx.on, tx.amount, mode)
        results.append(result)
        account = result.account
    return Simulation(account, tuple(results))


@dataclass(frozen=True)
class SimulationRequest:
    terms: LoanTerms
    transactions: tuple[Transaction, ...]
    mode: Prepayment


def request_from_mapping(data: object) -> SimulationRequest:
    """Read `{"terms": {...}, "transactions": [{"date", "amount"}], "prepayment": ...}`."""
    if not isinstance(data, Mapping):
        raise TermsError("request", "must be a JSON object with terms and transactions")
    unknown = sorted(set(data) - {"terms", "transactions", "prepayment"})
    if unknown:
        raise TermsError(unknown[0], "is not understood (expected terms, transactions, prepayment)")
    if "terms" not in data:
        raise TermsError("terms", "is required")
    terms_data = data["terms"]
    if not isinstance(terms_data, Mapping):
        raise TermsError("terms", "must be an object")
    terms = terms_from_mapping(terms_data)
    raw = data.get("transactions", [])
    if not isinstance(raw, list):
        raise TermsError("transactions", "must be a list of {date, amount}")
    transactions = []
    for i, item in enumerate(raw):
        where = f"transactions[{i}]"
        if not isinstance(item, Mapping) or set(item) != {"date", "amount"}:
            raise TermsError(where, "must be an object with exactly date and amount")
        amount = parse_money(item["amount"], f"{where}.amount")
        if amount <= 0:
            raise TermsError(f"{where}.amount", "must be positive")
        on = parse_date(item["date"], f"{where}.date")
        if on < terms.disbursed_on:
            raise TermsError(f"{where}.date", "is before the disbursement date")
        transactions.append(Transaction(on, amount))
    mode_text = data.get("prepayment", Prepayment.SHORTEN_TERM.value)
    try:
        mode = Prepayment(mode_text)
    except ValueError:
        raise TermsError("prepayment", "must be shorten_term or reduce_instalment") from None
    return SimulationRequest(terms, tuple(transactions), mode)


def simulate_request(data: object, calendar: HolidayCalendar | None = None) -> Simulation:
    request = request_from_mapping(data)
    return simulate(request.terms, request.transactions, request.mode, calendar)
