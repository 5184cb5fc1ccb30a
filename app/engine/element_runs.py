"""What a saved instance state says of each element of its diagram: how many times it ran, whether it
is active now, whether it failed — read from the state's JSON without restoring the workflow.

A loop leaves one completed task per pass in SpiffWorkflow's task tree, so the completed tasks of an
element count its runs. Embedded subprocesses are part of the same diagram and counted with it; a
called process's tasks (a call activity's subworkflow) belong to another diagram and are skipped.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow import TaskState

from app.engine.external_tasks import AWAITING

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class ElementRun:
    completed: int = 0  # tasks of the element that completed: its runs
    active: bool = False  # a task of it is ready, waiting or started
    failed: bool = False  # a task of it is in error (an incident, or a service parked for a retry)
    due: str | None = None  # a waiting timer's due time as the state keeps it (ISO text)


def element_runs(state: str, called: frozenset[str] = frozenset()) -> dict[str, ElementRun]:
    """Element id (the task spec's name) -> its runs, from a state as `StateSerializer.dump_state`
    writes it; `called`: the process ids of call activities' subworkflows, left out. {} for no state."""
    if not state:
        return {}
    dct = json.loads(state)
    runs: dict[str, ElementRun] = {}
    _count(dct.get("tasks") or {}, runs)
    for subprocess in (dct.get("subprocesses") or {}).values():
        if subprocess.get("spec") not in called:
            _count(subprocess.get("tasks") or {}, runs)
    return runs


def _count(tasks: dict[str, Any], runs: dict[str, ElementRun]) -> None:
    for task in tasks.values():
        state = int(task.get("state") or 0)
        if not state & (TaskState.COMPLETED | ACTIVE | TaskState.ERROR):
            continue
        run = runs.setdefault(str(task.get("task_spec")), ElementRun())
        if state & TaskState.COMPLETED:
            run.completed += 1
        elif state & ACTIVE or (task.get("internal_data") or {}).get(AWAITING):  # an external task: waiting
            run.active = True
            value = (task.get("internal_data") or {}).get("event_value")
            if isinstance(value, str):
                run.due = value
        else:
            run.failed = True
