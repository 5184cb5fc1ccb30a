"""The errors the lending domain raises: bad terms, and operations that do not fit a loan's state."""
from __future__ import annotations


class LendingError(ValueError):
    """Base class: a clear message, and the field it concerns when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


class TermsError(LendingError):
    """Loan terms or product settings that cannot be used (out of range, inconsistent, above the cap)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)


class LoanStateError(LendingError):
    """An operation that does not fit the loan as it stands (a payment before disbursement, …)."""
