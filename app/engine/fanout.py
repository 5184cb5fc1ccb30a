"""Fan-outs bounded: at most MAX_BRANCHES branches of a parallel split, and MAX_IN_TURN instances of a
sequential multi-instance or rounds of a loop task, whatever their source.

SpiffWorkflow's work for a parallel split grows with the square of its branches (the join checks
every sibling as each arrives; every later step dumps a state that grows with them). Measured with
one script task per branch (bench/README.md): a parallel gateway of 100 / 300 / 1,000 branches
took 0.4 / 3.2 / 35 s in one step, a parallel multi-instance of as many items 0.03 / 0.18 / 1.1 s.
So:

- `processes validate` and deploys refuse a parallel or inclusive gateway with more than
  MAX_BRANCHES outgoing (or incoming) flows, a parallel multi-instance whose cardinality is a
  literal above it, a sequential one whose cardinality is a literal above MAX_IN_TURN, and a loop task
  whose loopMaximum is above it (`problems`); a loop task whose condition never ends it stops with an
  incident after MAX_IN_TURN rounds (it ran in one step for ever: a worker held);
- at run time (a diagram uploaded without the strict checks, a cardinality or a collection taken
  from data), such a gateway or multi-instance fails its task with an incident before a branch
  starts: the parsed spec's classes are swapped for the bounded ones below (`install_fan_out_limits`,
  as `timers.install_clock` does for timers; the serializer knows them by name). The multi-instances'
  completion conditions see Camunda's counters there too (`mi_counters`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sized
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.spiff.specs.defaults import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    StandardLoopTask,
)

from app.engine.errors import InstanceFault
from app.engine.mi_counters import CountedCompletion
from app.engine.said import Said, said

MAX_BRANCHES = 100
# A sequential multi-instance keeps every instance it ran as a task of the instance: the work of each
# later step grows with their number (measured, one script task per instance, all run in one step:
# 300 / 1,000 / 2,000 instances took 0.1 / 1.0 / 3.9 s; 100,000 would hold a worker for hours).
MAX_IN_TURN = 1_000


_GATEWAY = said("a gateway")
_MULTI_INSTANCE = said("a multi-instance")


def _too_many(count: int, what: Said) -> Said:
    return said("%(what)s of %(count)s parallel branches: more than the %(limit)d the engine runs at once (split the "
                "work into batches, or use a sequential multi-instance)", what=what, count=f"{count:,}",
                limit=MAX_BRANCHES)


def _check_gateway(spec: Any) -> None:
    count = max(len(spec.outputs), len(spec.inputs))
    if count > MAX_BRANCHES:
        raise InstanceFault(_too_many(count, _GATEWAY), spec.bpmn_id)


class BoundedParallelGateway(ParallelGateway):
    def _run_hook(self, my_task):  # noqa: ANN001, ANN202
        _check_gateway(self)
        return super()._run_hook(my_task)


class BoundedInclusiveGateway(InclusiveGateway):
    def _run_hook(self, my_task):  # noqa: ANN001, ANN202
        _check_gateway(self)
        return super()._run_hook(my_task)


class BoundedParallelMultiInstance(CountedCompletion, ParallelMultiInstanceTask):
    def create_children(self, my_task):  # noqa: ANN001, ANN201
        if self.data_input is not None:
            # what the sequential multi-instance says; the parallel one iterated None or a number
            # and failed with a bare TypeError naming no element
            if not self.data_input.exists(my_task) or self.data_input.get(my_task) is None:
                self.raise_data_exception(said("Missing data input for multiinstance task"), my_task)
            if not isinstance(self.data_input.get(my_task), Iterable):
                self.raise_data_exception(said("Multiinstance data input must be iterable"), my_task)
            items = self.data_input.get(my_task)
            count = len(items) if isinstance(items, Sized) else None
        else:
            count = my_task.workflow.script_engine.evaluate(my_task, self.cardinality)
        if isinstance(count, int) and count > MAX_BRANCHES:
            raise InstanceFault(_too_many(count, _MULTI_INSTANCE), self.bpmn_id)
        _check_not_negative(count, self.bpmn_id)
        return super().create_children(my_task)


def _too_many_in_turn(count: int) -> Said:
    return said("a sequential multi-instance of %(count)s instances: more than the %(limit)s one instance runs in "
                "turn (every later step grows with all of them); split the work into batches, each a call activity "
                "or an instance of its own", count=f"{count:,}", limit=f"{MAX_IN_TURN:,}")


def _negative(count: int) -> Said:
    return said("the multi-instance's cardinality is %(count)s: it says how many instances run, 0 or more; correct "
                "it (or the data it reads)", count=f"{count}")


def _check_not_negative(count: Any, element: str) -> None:
    """A negative cardinality ran nothing and left the sequential multi-instance waiting for nothing."""
    if isinstance(count, int) and count < 0:
        raise InstanceFault(_negative(count), element)


class BoundedSequentialMultiInstance(CountedCompletion, SequentialMultiInstanceTask):
    def add_next_child(self, my_task):  # noqa: ANN001, ANN201
        """Before each instance (the first one right after the count is read from the task's data)."""
        known = my_task.internal_data
        count = known.get("cardinality")
        if count is None and isinstance(known.get("remaining"), Sized):
            count = len(known["remaining"]) + len(known.get("merged") or [])
        if isinstance(count, int) and count > MAX_IN_TURN:
            raise InstanceFault(_too_many_in_turn(count), self.bpmn_id)
        _check_not_negative(count, self.bpmn_id)
        return super().add_next_child(my_task)


def _too_many_rounds() -> Said:
    return said("a loop task ran %(limit)s rounds and its condition still asks for more: more than one instance "
                "runs in turn (every later step grows with all of them); give the loop a condition that ends it, or "
                "split the work into batches", limit=f"{MAX_IN_TURN:,}")


class BoundedStandardLoop(StandardLoopTask):
    def create_child(self, my_task):  # noqa: ANN001, ANN201
        """Before each round: a loop whose condition never ends it ran in one step for ever."""
        if len(my_task.internal_data.get("merged") or []) >= MAX_IN_TURN:
            raise InstanceFault(_too_many_rounds(), self.bpmn_id)
        return super().create_child(my_task)


BOUNDED: dict[type, type] = {
    ParallelGateway: BoundedParallelGateway,
    InclusiveGateway: BoundedInclusiveGateway,
    ParallelMultiInstanceTask: BoundedParallelMultiInstance,
    SequentialMultiInstanceTask: BoundedSequentialMultiInstance,
    StandardLoopTask: BoundedStandardLoop,
}


def install_fan_out_limits(spec: Any) -> None:
    """Swap the parallel gateways and multi-instances of a parsed spec for the bounded ones (in place)."""
    for task_spec in spec.task_specs.values():
        bounded = BOUNDED.get(type(task_spec))
        if bounded is not None:
            task_spec.__class__ = bounded


def problems(task_spec: Any, literal: Any) -> str | None:
    """Why a task spec fans out too far, as far as the diagram alone says (lint). `literal`
    evaluates an expression without task data (None when it needs data)."""
    if isinstance(task_spec, ParallelGateway | InclusiveGateway):
        count = max(len(task_spec.outputs), len(task_spec.inputs))
        return _too_many(count, _GATEWAY) if count > MAX_BRANCHES else None
    if isinstance(task_spec, ParallelMultiInstanceTask) and task_spec.data_input is None and task_spec.cardinality:
        count = literal(task_spec.cardinality)
        if isinstance(count, int) and count > MAX_BRANCHES:
            return _too_many(count, _MULTI_INSTANCE)
    if isinstance(task_spec, StandardLoopTask) and isinstance(task_spec.maximum, int) and task_spec.maximum > MAX_IN_TURN:
        return said("a loop task of at most %(count)s rounds: more than the %(limit)s one instance runs in turn "
                    "(every later step grows with all of them); split the work into batches",
                    count=f"{task_spec.maximum:,}", limit=f"{MAX_IN_TURN:,}")
    if isinstance(task_spec, SequentialMultiInstanceTask) and task_spec.data_input is None and task_spec.cardinality:
        count = literal(task_spec.cardinality)
        if isinstance(count, int) and count > MAX_IN_TURN:
            return _too_many_in_turn(count)
    if isinstance(task_spec, ParallelMultiInstanceTask | SequentialMultiInstanceTask) and task_spec.cardinality \
            and task_spec.data_input is None:
        count = literal(task_spec.cardinality)
        if isinstance(count, int) and count < 0:
            return _negative(count)
    return None
