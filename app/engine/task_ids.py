"""Task ids that a redone step gives out again, so handlers' idempotency keys survive a crash.

SpiffWorkflow gives every new task a random `uuid4`. A worker killed mid-step commits nothing,
and the next worker redoes the step from the same state: with random ids, a service task
reached again in that step (a loop) would get a new id, hence a new idempotency key, and its
handler would act twice. Inside `deterministic_ids(scope)` new ids are `uuid5(scope, n)` for
the n-th task created, so the same step from the same state creates the same ids.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID, uuid4, uuid5

import SpiffWorkflow.task as spiff_task

NAMESPACE = UUID("6f1c2a0e-5d0b-4f4e-9a57-3a4c8d1e2b90")
_scope: ContextVar[tuple[str, Iterator[int]] | None] = ContextVar("loanflow_task_ids", default=None)


def _new_task_id() -> UUID:
    current = _scope.get()
    if current is None:
        return uuid4()
    scope, counter = current
    return uuid5(NAMESPACE, f"{scope}:{next(counter)}")


def install() -> None:
    """Route SpiffWorkflow's task ids through `_new_task_id` (idempotent)."""
    spiff_task.uuid4 = _new_task_id  # type: ignore[attr-defined]


@contextmanager
def deterministic_ids(scope: str) -> Iterator[None]:
    token = _scope.set((scope, itertools.count()))
    try:
        yield
    finally:
        _scope.reset(token)
