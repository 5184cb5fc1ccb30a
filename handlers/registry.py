"""The explicit registry of service-task operators."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handlers.ledger import LedgerPort


@dataclass(frozen=True)
class HandlerContext:
    instance_id: int | None
    business_key: str | None
    element_id: str
    idempotency_key: str


Handler = Callable[[dict[str, Any], HandlerContext], dict[str, Any]]


class UnknownOperator(LookupError):
    pass


class BusinessError(Exception):
    """A handler's answer that is a business outcome, not a failure: thrown as a BPMN error event.

    The diagram catches it with an error boundary event whose error code is `code`; the payload
    lands in the error's `variableName`. It is never retried.
    """

    def __init__(self, code: str, message: str = "", payload: object = None) -> None:
        super().__init__(message or code)
        self.code = code
        self.payload = payload


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, operator: str) -> Callable[[Handler], Handler]:
        def decorate(func: Handler) -> Handler:
            if operator in self._handlers:
                raise ValueError(f"operator {operator!r} is registered twice")
            self._handlers[operator] = func
            return func
        return decorate

    def __contains__(self, operator: str) -> bool:
        return operator in self._handlers

    def operators(self) -> list[str]:
        return sorted(self._handlers)

    def call(self, operator: str, params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        try:
            handler = self._handlers[operator]
        except KeyError:
            raise UnknownOperator(f"no handler is registered for operator {operator!r}") from None
        result = handler(params, ctx)
        if not isinstance(result, dict):
            raise TypeError(f"handler {operator!r} returned {type(result).__name__}, not a dict")
        return result


def default_registry(extra_modules: Iterable[str] = (), ledger: LedgerPort | None = None) -> HandlerRegistry:
    """The registry with every handler the product ships, plus `register(registry)` of extra modules.

    Extra modules come from `LOANFLOW_HANDLER_MODULES` (comma-separated module names): a
    deployment's own handlers, or the test suite's slow and failing ones. `ledger` is the
    application's `handlers.ledger.LedgerPort` (the ledger operators forward to it).
    """
    from handlers import ledger as ledger_handlers
    from handlers import platform

    registry = HandlerRegistry()
    platform.register(registry)
    ledger_handlers.register(registry, ledger)
    for name in extra_modules:
        importlib.import_module(name).register(registry)
    return registry
