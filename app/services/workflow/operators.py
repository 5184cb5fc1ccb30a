"""The explicit registry of service-task operators: the runtime's side of a service task.

An operator (`ledger.take_payment`, `platform.financing_limit`, ...) is registered by the domain
that owns it (`register(registry)` in its `operators` module); adapters to outside services live
in `handlers/`. A handler is `handler(params: dict, ctx: HandlerContext) -> dict`; `ctx` carries
the instance id, business key and an idempotency key, so a handler called twice with the same key
has the effect of one call.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.services import context


@dataclass(frozen=True)
class HandlerContext:
    instance_id: int | None
    business_key: str | None
    element_id: str
    idempotency_key: str
    engine_task_id: str = ""  # the engine's task: which run of the element this call is (an external task's row)


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
        with context.in_english():  # what it raises or returns is kept: in one language, whoever asked
            result = handler(params, ctx)
        if not isinstance(result, dict):
            raise TypeError(f"handler {operator!r} returned {type(result).__name__}, not a dict")
        return result


def build_registry(modules: Iterable[str]) -> HandlerRegistry:
    """A registry with `register(registry)` of each named module, in order.

    The runtime does not know which domains own operators: the application's composition root
    (`app.wiring`) names them, so the workflow runtime imports no later domain.
    """
    registry = HandlerRegistry()
    for name in modules:
        importlib.import_module(name).register(registry)
    return registry
