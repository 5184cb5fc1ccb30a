"""A boundary event on a sub-process starts its path with the sub-process's data as it was when the event came.

SpiffWorkflow 3.2 starts a boundary event's path from the data its sub-process *started* with: what the
sub-process's tasks set before an error end event, a message or a timer interrupted it is lost, and a
script after an error boundary event that reads it fails ("which this instance has no value for").
Camunda 7 keeps variables by scope: the path after the event sees every variable the sub-process set.
So does Loanflow, for an embedded sub-process (a call activity's process keeps its own data, as in
Camunda, where only its `out` mappings come back):

- when such a boundary event catches its event (or, for a timer or a condition, which fire without
  a catch, when its task becomes ready), the sub-process's current data is kept in the event's task: the data of its live tasks (ready, waiting, running, failed — in its own sub-processes too),
  merged in the order they last changed, so that what was set last wins;
- when the event's task runs, that data is laid over what it inherited, then the event's own payload
  (an error's `variableName`, a message's variable) over both.

`install(spec)` gives these boundary events this class after parsing (as the clocked timers are
installed, `timers.install_clock`); it is serialized as SpiffWorkflow's boundary event is, under its own
type name.
"""
from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask

_KEPT = "scope_data"  # the boundary event task's internal data: the sub-process's data when the event came
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


class SeesItsSubProcess(BoundaryEvent):
    """SpiffWorkflow's boundary event, whose path starts with its sub-process's current data."""

    def catch(self, my_task: Any, event: Any) -> None:  # an error, a message, a signal, an escalation
        _keep(my_task)
        super().catch(my_task, event)

    def _on_ready_hook(self, my_task: Any) -> None:  # a timer or a condition, which fire without a catch
        if _KEPT not in my_task.internal_data:
            _keep(my_task)
        super()._on_ready_hook(my_task)

    def _run_hook(self, my_task: Any) -> bool:
        kept = my_task.internal_data.pop(_KEPT, None)
        if kept:
            my_task.data.update(kept)
        return super()._run_hook(my_task)


def _keep(my_task: Any) -> None:
    main = next((t for t in my_task.parent.children if not isinstance(t.task_spec, BoundaryEvent)), None)
    top = my_task.workflow.top_workflow
    if main is not None and top.get_subprocess(main) is not None:
        my_task.internal_data[_KEPT] = current_data(top, top.get_subprocess(main))


def current_data(top: Any, subprocess: Any) -> dict[str, Any]:
    """A sub-process's data now: its live tasks' (and its sub-processes'), the latest change last."""
    workflows = [subprocess]
    for each in top.subprocesses.values():  # its own sub-processes, at any depth
        parent = each.parent_workflow
        while parent is not None and parent is not subprocess and parent is not top:
            parent = parent.parent_workflow
        if parent is subprocess:
            workflows.append(each)
    live = [t for w in workflows for t in w.get_tasks(state=_LIVE)]
    merged: dict[str, Any] = {}
    for task in sorted(live, key=lambda t: t.last_state_change):
        merged.update(task.data or (task.parent.data if task.parent is not None else {}))
    return deepcopy(merged)


def install(spec: Any) -> None:
    """Give each boundary event attached to an embedded sub-process this class."""
    for task_spec in spec.task_specs.values():
        if type(task_spec) is not BoundaryEvent or not task_spec.inputs:
            continue
        attached = [s for s in task_spec.inputs[0].outputs if not isinstance(s, BoundaryEvent)]
        if any(isinstance(s, SubWorkflowTask) and not isinstance(s, CallActivity) for s in attached):
            task_spec.__class__ = SeesItsSubProcess
