"""The errors the lending domain raises: bad terms, and operations that do not fit a loan's state.

A message is a catalogue template (`%(name)s` for each parameter, `%%` for a percent sign where there are
parameters) with its parameters: `message` is the English, and the layers that know the reader say
`template` with `params` in the reader's language (`app.services.context.readable`). This package itself
has no catalogue and no Flask.
"""
from __future__ import annotations


class LendingError(ValueError):
    """Base class: a clear message, and the field it concerns when there is one."""

    def __init__(self, template: str, field: str | None = None, **params: object) -> None:
        message = template % params if params else template
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.template = template
        self.params = params
        self.field = field


class TermsError(LendingError):
    """Loan terms or product settings that cannot be used (out of range, inconsistent, above the cap)."""

    def __init__(self, field: str, template: str, **params: object) -> None:
        super().__init__(template, field, **params)


class LoanStateError(LendingError):
    """An operation that does not fit the loan as it stands (a payment before disbursement, …)."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template, None, **params)
