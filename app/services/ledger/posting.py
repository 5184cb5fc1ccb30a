"""Posting rules: the journal lines of each lending event, in each product's accounts.

An event kind (the journal entry's `kind`) is a tuple of movements, each "debit one role, credit
another, by one part of the event's amounts", so every event balances for any amounts. A role says
what an account is for (Apache Fineract's product-to-GL mapping: fund source, loan portfolio,
receivables, income, losses written off, overpayment liability); each product maps every role to
an account of the chart (`product_accounts` rows, written with the product). The services post
through `post_event`; the end-of-day batch joins the same rows in SQL (`batch_movement` says which
roles). The chart is data (`gl_accounts`): a new account is a row (`add_account`) that a product's
mapping points at (`map_account`); no code changes anywhere.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import GlAccount, Loan, Product, ProductAccount
from app.models.ledger import ACCOUNT_KINDS
from app.models.loan import ZERO
from app.services.context import either
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid, NotFound, Text
from app.services.ledger.journal import Line, UnbalancedEntry, credit, debit, post_entry


class Role(StrEnum):
    """What a product uses an account for; the same names as `app.models.ledger.ACCOUNT_ROLES`."""

    FUND_SOURCE = "fund_source"                      # money out at disbursement, in with payments
    LOAN_PORTFOLIO = "loan_portfolio"                # principal outstanding
    INTEREST_RECEIVABLE = "interest_receivable"
    FEE_RECEIVABLE = "fee_receivable"
    PENALTY_RECEIVABLE = "penalty_receivable"
    INTEREST_INCOME = "interest_income"
    FEE_INCOME = "fee_income"
    PENALTY_INCOME = "penalty_income"
    LOSSES_WRITTEN_OFF = "losses_written_off"
    OVERPAYMENT_LIABILITY = "overpayment_liability"  # the borrower's credit


# The kinds of account a role may be mapped to (Fineract lets the fund source be a liability too).
ROLE_KINDS: Mapping[Role, tuple[str, ...]] = MappingProxyType({
    Role.FUND_SOURCE: ("asset", "liability"), Role.LOAN_PORTFOLIO: ("asset",),
    Role.INTEREST_RECEIVABLE: ("asset",), Role.FEE_RECEIVABLE: ("asset",), Role.PENALTY_RECEIVABLE: ("asset",),
    Role.INTEREST_INCOME: ("income",), Role.FEE_INCOME: ("income",), Role.PENALTY_INCOME: ("income",),
    Role.LOSSES_WRITTEN_OFF: ("expense",), Role.OVERPAYMENT_LIABILITY: ("liability",),
})
# Roles holding what a loan owes or is owed: their accounts carry per-loan balances, so a product
# with loans cannot move them to another account (the balances would stay behind).
LOAN_BALANCE_ROLES = frozenset({Role.LOAN_PORTFOLIO, Role.INTEREST_RECEIVABLE, Role.FEE_RECEIVABLE,
                                Role.PENALTY_RECEIVABLE, Role.OVERPAYMENT_LIABILITY})


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    kind: str


# The chart a new ledger starts with (migration 0009 writes it), in the trial balance's order.
DEFAULT_CHART = (
    ChartAccount("loan_principal", "Loans receivable: principal", "asset"),
    ChartAccount("interest_receivable", "Interest receivable", "asset"),
    ChartAccount("penalty_receivable", "Penalties receivable", "asset"),
    ChartAccount("fee_receivable", "Fees receivable", "asset"),
    ChartAccount("cash_clearing", "Cash clearing", "asset"),
    ChartAccount("interest_income", "Interest income", "income"),
    ChartAccount("penalty_income", "Penalty income", "income"),
    ChartAccount("fee_income", "Fee income", "income"),
    ChartAccount("borrower_credit", "Borrowers' credit (overpayments)", "liability"),
    ChartAccount("write_off_expense", "Losses written off", "expense"),
)
DEFAULT_ACCOUNTS: Mapping[Role, str] = MappingProxyType({
    Role.FUND_SOURCE: "cash_clearing", Role.LOAN_PORTFOLIO: "loan_principal",
    Role.INTEREST_RECEIVABLE: "interest_receivable", Role.FEE_RECEIVABLE: "fee_receivable",
    Role.PENALTY_RECEIVABLE: "penalty_receivable", Role.INTEREST_INCOME: "interest_income",
    Role.FEE_INCOME: "fee_income", Role.PENALTY_INCOME: "penalty_income",
    Role.LOSSES_WRITTEN_OFF: "write_off_expense", Role.OVERPAYMENT_LIABILITY: "borrower_credit",
})
AccountMap = Mapping[Role, str]


# -- the rules --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Movement:
    """Debit the `debit` role's account and credit the `credit` role's by the event's `part`."""

    debit: Role
    credit: Role
    part: str


R = Role
_ACCRUE_INTEREST = (Movement(R.INTEREST_RECEIVABLE, R.INTEREST_INCOME, "interest"),)
_ACCRUE_PENALTY = (Movement(R.PENALTY_RECEIVABLE, R.PENALTY_INCOME, "penalties"),)
RULES: Mapping[str, tuple[Movement, ...]] = MappingProxyType({
    "disbursement": (Movement(R.LOAN_PORTFOLIO, R.FUND_SOURCE, "principal"),),
    # interest falling due: by the batch, or with a payment that settles it before the batch billed it
    "interest_billed": _ACCRUE_INTEREST,
    "eod_interest_billed": _ACCRUE_INTEREST,
    "eod_penalty_charged": _ACCRUE_PENALTY,
    "eod_penalty_interest": _ACCRUE_PENALTY,
    "fee_charged": (Movement(R.FEE_RECEIVABLE, R.FEE_INCOME, "fees"),),  # the early-repayment fee
    # the money received (cash and the credit used with it) pays each part; what is left is credit
    "payment": (
        Movement(R.FUND_SOURCE, R.PENALTY_RECEIVABLE, "penalties"),
        Movement(R.FUND_SOURCE, R.FEE_RECEIVABLE, "fees"),
        Movement(R.FUND_SOURCE, R.INTEREST_RECEIVABLE, "interest"),
        Movement(R.FUND_SOURCE, R.LOAN_PORTFOLIO, "principal"),
        Movement(R.FUND_SOURCE, R.OVERPAYMENT_LIABILITY, "credit_added"),
        Movement(R.OVERPAYMENT_LIABILITY, R.FUND_SOURCE, "credit_used"),
    ),
    "penalty_waived": (Movement(R.PENALTY_INCOME, R.PENALTY_RECEIVABLE, "penalties"),),
    "fee_waived": (Movement(R.FEE_INCOME, R.FEE_RECEIVABLE, "fees"),),
    "interest_waived": (Movement(R.INTEREST_INCOME, R.INTEREST_RECEIVABLE, "interest"),),
    "write_off": (
        Movement(R.LOSSES_WRITTEN_OFF, R.LOAN_PORTFOLIO, "principal"),
        Movement(R.LOSSES_WRITTEN_OFF, R.INTEREST_RECEIVABLE, "interest"),
        Movement(R.LOSSES_WRITTEN_OFF, R.PENALTY_RECEIVABLE, "penalties"),
        Movement(R.LOSSES_WRITTEN_OFF, R.FEE_RECEIVABLE, "fees"),
    ),
    "credit_refund": (Movement(R.OVERPAYMENT_LIABILITY, R.FUND_SOURCE, "credit"),),
})
del R


def parts(kind: str) -> tuple[str, ...]:
    """The amounts an event of `kind` takes, in the order of its movements."""
    return tuple(dict.fromkeys(m.part for m in RULES[kind]))


def event_lines(kind: str, amounts: Mapping[str, Decimal], accounts: AccountMap) -> list[Line]:
    """The lines of one event: two per movement, in the product's accounts (unknown parts refused)."""
    unknown = set(amounts) - set(parts(kind))
    if unknown:
        raise UnbalancedEntry(f"{kind} takes no {', '.join(sorted(unknown))}")
    lines = []
    for movement in RULES[kind]:
        amount = amounts.get(movement.part, ZERO)
        lines += [debit(accounts[movement.debit], amount), credit(accounts[movement.credit], amount)]
    return lines


def post_event(kind: str, business_date: date, amounts: Mapping[str, Decimal], accounts: AccountMap,
               loan_id: int | None = None, payment_id: int | None = None, memo: str | None = None) -> int | None:
    """Post one event as one journal entry (see `post_entry`: lines of one account merged, zeros
    dropped, None when nothing is left)."""
    return post_entry(kind, business_date, event_lines(kind, amounts, accounts), loan_id=loan_id,
                      payment_id=payment_id, memo=memo)


def payment_amounts(received: Decimal, *, penalties: Decimal, fees: Decimal, interest: Decimal,
                    principal: Decimal, credit_used: Decimal, credit_added: Decimal) -> dict[str, Decimal]:
    """A payment's parts, checked: what they pay, less the credit used, is what was received."""
    amounts = {"penalties": penalties, "fees": fees, "interest": interest, "principal": principal,
               "credit_added": credit_added, "credit_used": credit_used}
    if penalties + fees + interest + principal + credit_added - credit_used != received:
        raise UnbalancedEntry(f"the payment of {received} is allocated as {amounts}")
    return amounts


def in_accounts(by_role: Mapping[str, Decimal], accounts: AccountMap) -> dict[str, Decimal]:
    """Balances by role (`loans.loan_position`) as balances by account, roles of one account added up."""
    balances: dict[str, Decimal] = {}
    for role, amount in by_role.items():
        account = accounts[Role(role)]
        balances[account] = balances.get(account, ZERO) + amount
    return balances


def batch_movement(kind: str) -> Movement:
    """The one movement an end-of-day entry posts per loan (its SQL joins `product_accounts` on
    the two roles)."""
    [movement] = RULES[kind]
    return movement


# -- the chart and each product's accounts ----------------------------------------------------

def chart() -> list[GlAccount]:
    """Every account, in the order they were added (the trial balance's order)."""
    return list(db.session.scalars(select(GlAccount).order_by(GlAccount.id)))


def add_account(code: str, name: str, kind: str) -> GlAccount:
    """A new account in the chart."""
    fields: dict[str, list[Text]] = {}
    if not code or len(code) > 32 or not code.isascii() or not code.replace("_", "").isalnum():
        fields["code"] = [_l("letters, digits and _, at most 32")]
    if not name or len(name) > 200:
        fields["name"] = [_l("is required (at most 200 characters)")]
    if kind not in ACCOUNT_KINDS:
        fields["kind"] = [_l("must be one of %(choices)s", choices=", ".join(ACCOUNT_KINDS))]
    if fields:
        raise Invalid(_l("the account is not valid"), fields)
    if db.session.scalar(select(GlAccount.id).where(GlAccount.code == code)) is not None:
        raise Conflict(_l("account %(code)s exists already", code=repr(code)))
    account = GlAccount(code=code, name=name, kind=kind)
    db.session.add(account)
    db.session.flush()
    return account


def ensure_default_chart() -> None:
    """Add whichever default accounts are missing (an emptied database; migration 0009 does it once)."""
    present = set(db.session.scalars(select(GlAccount.code)))
    db.session.add_all(GlAccount(code=a.code, name=a.name, kind=a.kind) for a in DEFAULT_CHART
                       if a.code not in present)
    db.session.flush()


class IncompleteMapping(RuntimeError):
    """A product without an account for every role: a product is always written with all of them."""


def product_accounts(product_id: int) -> dict[Role, str]:
    """The product's account for every role."""
    rows = db.session.execute(select(ProductAccount.role, ProductAccount.account)
                              .where(ProductAccount.product_id == product_id))
    accounts = {Role(role): account for role, account in rows}
    if len(accounts) != len(Role):
        raise IncompleteMapping(f"product {product_id} maps no account for {sorted(set(Role) - set(accounts))}")
    return accounts


def loan_accounts(loan: Loan) -> dict[Role, str]:
    return product_accounts(loan.product_id)


def new_product_accounts(overrides: Mapping[str, object] | None = None) -> dict[Role, str]:
    """A new product's accounts: the default ones, with `overrides` (role → account code) checked."""
    return {**DEFAULT_ACCOUNTS, **_checked(overrides or {})}


def write_product_accounts(product_id: int, accounts: AccountMap) -> None:
    db.session.execute(insert(ProductAccount), [
        {"product_id": product_id, "role": role.value, "account": account} for role, account in accounts.items()])


def map_account(product_code: str, role: str, account: str) -> None:
    """Point one of a product's roles at another account of the chart, for what it posts from now on.

    The accounts of what a loan owes or is owed (`LOAN_BALANCE_ROLES`) stay while the product has
    loans: their balances would be left behind in the old account.
    """
    product_id = _product_id(product_code)
    [(checked_role, code)] = _checked({role: account}).items()
    if checked_role in LOAN_BALANCE_ROLES and db.session.scalar(
            select(func.count()).select_from(Loan).where(Loan.product_id == product_id)):
        raise Conflict(_l("the product has loans: their %(role)s balances stay in their account",
                          role=checked_role.value))
    row = db.session.get(ProductAccount, (product_id, checked_role.value))
    if row is None:
        raise IncompleteMapping(f"product {product_code} maps no account for {checked_role.value}")
    row.account = code
    db.session.flush()


def accounts_of_product(product_code: str) -> dict[Role, str]:
    return product_accounts(_product_id(product_code))


def _product_id(code: str) -> int:
    product_id = db.session.scalar(select(Product.id).where(Product.code == code))
    if product_id is None:
        raise NotFound(_l("no product %(code)s", code=repr(code)))
    return product_id


def _checked(overrides: Mapping[str, object]) -> dict[Role, str]:
    """Roles that exist, mapped to accounts of the chart of a kind the role takes."""
    kinds = {code: kind for code, kind in db.session.execute(select(GlAccount.code, GlAccount.kind))}
    accounts: dict[Role, str] = {}
    problems: list[Text] = []
    for name, account in overrides.items():
        role = Role._value2member_map_.get(name)
        if not isinstance(role, Role):
            problems.append(_l("%(role)s: no such role (the roles: %(roles)s)", role=name, roles=", ".join(Role)))
        elif not isinstance(account, str) or account not in kinds:
            problems.append(_l("%(role)s: %(account)s is not an account of the chart", role=name,
                               account=repr(account)))
        elif kinds[account] not in ROLE_KINDS[role]:
            problems.append(_l("%(role)s: %(account)s is of kind %(kind)s, not %(kinds)s", role=name, account=account,
                               kind=kinds[account], kinds=either(ROLE_KINDS[role])))
        else:
            accounts[role] = account
    if problems:
        raise Invalid(_l("the product's accounts are not valid"), {"accounts": problems})
    return accounts
