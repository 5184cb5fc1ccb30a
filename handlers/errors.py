"""What an adapter raises when its provider refuses a request or cannot be reached.

Two kinds, so a service task knows what to do next: `ProviderUnavailable` (the provider stayed
down, timed out or kept failing after the client's retries: try again later, the task's retries
and then an incident take over) and `ProviderError` (the provider answered and refused this
request, or answered something the adapter cannot read: retrying the same request will not help).
`ProviderUnavailable` is a `ProviderError`, so `except ProviderError` catches both.
"""
from __future__ import annotations


class ProviderError(Exception):
    """The provider refused the request (`status` is its HTTP status, when there was one)."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        code = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{where}{self.message}{code}"


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or kept failing (connection refused, timeout, 5xx)."""
