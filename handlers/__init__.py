"""Service-task handlers, registered by operator name (`risk.credit_report`, `payments.disburse`, ...).

A handler has the signature `handler(params: dict, ctx: HandlerContext) -> dict`; `ctx` carries
the instance id, business key and an idempotency key, so a handler called twice with the same key
has the effect of one call. No Flask imports here: handlers are plain functions and adapters.
"""
from handlers.registry import BusinessError, HandlerContext, HandlerRegistry, default_registry

__all__ = ["BusinessError", "HandlerContext", "HandlerRegistry", "default_registry"]
