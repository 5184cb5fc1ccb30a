"""What a contract says, as plain data: the parties, the money, the schedule, the collateral, the clauses.

`ContractData` is filled by the domain that owns the deal (from the product's template, the approved
terms and the ledger's schedule); the renderer only lays it out. Amounts, rates and dates arrive as
the strings a person reads (`¥1,000,000.00`, `8.50%`, `2027-01-15`): formatting money is the
platform's job, not the PDF's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

SIGNING_ORDER: tuple[str, ...] = ("borrower", "core_enterprise", "funder")  # the roles that sign, in order
ROLE_LABELS: dict[str, str] = {
    "borrower": "借款人 Borrower",
    "core_enterprise": "核心企业 Core enterprise",
    "funder": "资金方 Funder",
}


def signature_field_name(role: str) -> str:
    """The AcroForm signature field a party of `role` signs in: `sig_<role>` (e.g. `sig_borrower`)."""
    if not role or not role.replace("_", "").isalnum() or not role.isascii():
        raise ValueError(f"a role is a code of letters, digits and underscores, not {role!r}")
    return f"sig_{role}"


@dataclass(frozen=True)
class Party:
    """One party of the contract: `role` is a code (`borrower`, `core_enterprise`, `funder`, ...),
    `identifier` its unified social credit code or resident ID number."""

    role: str
    name: str
    identifier: str
    address: str = ""
    signs: bool = True  # False for a party named in the contract that does not sign it

    def __post_init__(self) -> None:
        signature_field_name(self.role)
        if not self.name.strip():
            raise ValueError("a party has a name")

    @property
    def label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


@dataclass(frozen=True)
class ScheduleRow:
    """One instalment of the repayment schedule, as the strings printed in the table."""

    due_date: str
    principal: str
    interest: str
    total: str


@dataclass(frozen=True)
class ContractData:
    """Everything printed in a contract. `collateral` holds the lines describing the receivable or the
    pledged goods (empty for an unsecured loan); `clauses` are free paragraphs printed in order."""

    title: str
    number: str
    parties: tuple[Party, ...]
    amount: str
    annual_rate: str
    term: str
    repayment_method: str
    schedule: tuple[ScheduleRow, ...] = ()
    collateral: tuple[str, ...] = ()
    collection_account: str = ""
    clauses: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.parties:
            raise ValueError("a contract has parties")
        roles = [p.role for p in self.parties if p.signs]
        if len(roles) != len(set(roles)):
            raise ValueError("each signing role appears once")

    @property
    def signers(self) -> tuple[Party, ...]:
        """The parties that sign, in signing order (borrower, core enterprise, funder, then any other)."""
        rank = {role: i for i, role in enumerate(SIGNING_ORDER)}
        signing = [p for p in self.parties if p.signs]
        return tuple(sorted(signing, key=lambda p: rank.get(p.role, len(rank))))
