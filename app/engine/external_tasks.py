"""Service tasks worked by external task workers (Camunda 7's external task pattern), on the engine's side.

A Camunda 7 service task `camunda:type="external" camunda:topic="X"` that an admin maps to the operator
`EXTERNAL_TASK_OPERATOR` is done by a worker outside Loanflow — the worker a Camunda user already runs (Java,
JavaScript, Python clients) — which fetches it over Camunda's REST API (`app/api/camunda_rest/external_tasks.py`). The operator
answers the first call by raising `AwaitingWorker`: the engine parks the task (it stays in ERROR with the topic
under `AWAITING` in its internal data, like a service parked for a retry, but with no due time) and the other
branches go on; the instance waits there (`StepOutcome.awaiting`, its elements among the waits). When the worker
answers, `ProcessEngine.resume_worker` runs the task again and the operator gives what the worker said: its
variables (merged into the data, as Camunda sets process variables), a BPMN error (thrown), or a failure (an
incident). The service side keeps the tasks workers may fetch (`app/services/workflow/external_tasks.py`).
"""
from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.spiff.specs.defaults import ServiceTask

EXTERNAL_TASK_OPERATOR = "camunda.external_task"
AWAITING = "awaiting_worker"  # a parked task's internal data: the topic its workers fetch it by


class AwaitingWorker(Exception):
    """The operator of an external task: no worker has answered yet; park the task until one does."""

    def __init__(self, topic: str, engine_task_id: str = "") -> None:
        super().__init__(f"waiting for an external worker of topic {topic!r}")
        self.topic = topic
        self.engine_task_id = engine_task_id


class WorkedOutside(ServiceTask):
    """An external task's service task: what its worker answered becomes the process's variables (as Camunda sets
    them), not one result variable."""

    def _execute(self, task: Any) -> bool:
        result = task.workflow.script_engine.call_service(task, operation_name=self.operation_name,
                                                          operation_params=self.evaluate_params(task))
        answered = json.loads(result)
        if isinstance(answered, dict):
            task.data.update(answered)
        return True


def install(spec: Any) -> None:
    """After parsing: each service task of the external task operator is worked outside."""
    for task_spec in spec.task_specs.values():
        if type(task_spec) is ServiceTask and task_spec.operation_name == EXTERNAL_TASK_OPERATOR:
            task_spec.__class__ = WorkedOutside
