"""The composition root: which operators and adapters this application runs with.

The workflow runtime calls service tasks through a registry but does not know who owns them; the
domains that own operators are named here, so no domain imports a later one to be wired in. A
deployment adds its own modules with `LOANFLOW_HANDLER_MODULES` (comma-separated module names,
each with a `register(registry)`), the test suite its fakes the same way.
"""
from __future__ import annotations

from collections.abc import Iterable

from app.services.workflow.operators import HandlerRegistry, build_registry

# Each module's `register(registry)` adds the operators of the domain that owns it.
PRODUCT_OPERATORS = (
    "app.services.workflow.external_tasks",  # camunda.external_task: done by Camunda's external task workers
    "app.services.origination.operators",  # origination.*, risk.assess, platform.financing_limit
    "app.services.notices.operators",      # notify.send
    "app.services.ledger.operators",       # ledger.*
    "app.services.signing.operators",      # signing.*
    "app.services.signing.disbursement_operators",  # disbursement.*
    "app.services.collections.operators",  # collections.*
    "app.services.servicing.operators",    # servicing.* (post_loan)
    "app.services.collateral.operators",   # collateral.* (pledge_monitoring, collateral_disposal)
)


def product_registry(extra_modules: Iterable[str] = ()) -> HandlerRegistry:
    """Every operator the product ships, then each extra module's."""
    return build_registry([*PRODUCT_OPERATORS, *extra_modules])
