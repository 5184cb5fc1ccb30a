"""Why a step failed, said so that a person can act on it: a code, its parameters and the English text.

An incident's `message` is the technical text (the exception, for the platform's staff); its
`reason` says what the instance lacked or what failed and what to do, for anyone who repairs it.
The engine knows no translations: the service layer renders the code and parameters in the reader's
language (`app/services/workflow/incident_reasons.py` has the same codes, in English and Chinese),
and the English `text` here is what the command line and the logs show.
"""
from __future__ import annotations

import re
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask

from app.engine.said import Said, as_json

# code -> English text, with %(name)s parameters; every code has its Chinese in the service layer
TEXTS = {
    "missing_variable": "The script at %(element)s reads %(name)s, which this instance has no value for: set it "
                        "earlier in the process (a form field, a script or a service's answer), then retry.",
    "missing_value": "%(element)s reads %(name)s, which this instance has no value for: set it earlier in the "
                     "process, then retry.",
    "message_payload": "The message %(message)s came without %(name)s, which the process reads from it (to match "
                       "messages to their instance): send it again with %(name)s in its payload.",
    "missing_decision_output": "%(element)s reads %(name)s, which the decision %(decision)s sets, but the decision "
                               "matched no rule for this instance's data: add a rule for these values (or one that "
                               "matches anything), then retry.",
    "condition_missing_variable": "The condition %(expression)s at %(element)s reads %(name)s, which this instance "
                                  "has no value for: set it before the gateway is reached, then retry.",
    "condition_failed": "The condition %(expression)s at %(element)s could not be evaluated (%(error)s): correct "
                        "the condition or the data it reads, then retry.",
    "expression_missing_variable": "The expression %(expression)s at %(element)s reads %(name)s, which this "
                                   "instance has no value for: set it before %(element)s is reached, then retry.",
    "expression_failed": "The expression %(expression)s at %(element)s could not be evaluated (%(error)s): correct "
                         "the expression or the data it reads, then retry.",
    "no_condition_holds": "None of the conditions on the flows leaving %(element)s holds for this instance's data, "
                          "and the gateway has no default flow: the instance cannot go on from there; correct the "
                          "data, or give the gateway a default flow, then retry.",
    "empty_value": "The script at %(element)s used an empty value (None) on line %(line)s as if it had one "
                   "(%(error)s): set the value earlier in the process, then retry.",
    "script_failed": "The script at %(element)s failed on line %(line)s (%(error)s): correct the script or the data "
                     "it reads, then retry.",
    "service_failed": "The service %(operator)s at %(element)s failed %(attempts)s times for a technical reason "
                      "(%(error)s): when the service works again, retry.",
    "service_refused": "The service %(operator)s at %(element)s could not go on (%(error)s). This is not an outage: "
                       "record or correct what it names, then retry.",
    "no_operator": "The service task at %(element)s calls %(operator)s, which no handler serves here: register "
                   "the operator (or map it to one), then retry.",
    "called_process_missing": "The call activity at %(element)s calls the process %(called)s, which was not "
                              "deployed with this version: deploy it, then start the instance again.",
    "multi_instance_input_missing": "%(element)s runs once for each item of %(name)s, which this instance has no "
                                    "value for: set it (a list or a map) earlier in the process, then retry.",
    "multi_instance_input_not_iterable": "%(element)s runs once for each item of %(name)s, which holds no list or "
                                         "map: set it to one earlier in the process, then retry.",
    "multi_instance_output_missing": "An instance of %(element)s ended without setting %(item)s, which is collected "
                                     "into %(output)s: set %(item)s in each instance (a form field, a script or a "
                                     "service's answer), then retry.",
    "data_object_unset": "%(element)s writes the data object %(name)s, but the task did not set %(name)s: set it in "
                         "the task (a form field, a script or a service's answer), or remove the data output "
                         "association, then retry.",
    "data_store_unset": "%(element)s writes the data store %(store)s from its variable %(name)s, which the task did "
                        "not set: set it in the task, or remove the data output association, then retry.",
    "data_output_missing": "%(element)s did not set its data output %(name)s: set it in the task (a form field, a "
                           "script or a service's answer), then retry.",
    "data_store_not_json": "%(element)s writes the data store %(store)s a value that is not JSON (%(problem)s): a "
                           "data store holds text, numbers, true/false, null, lists and objects; correct the task, "
                           "then retry.",
}

_NAME_ERROR = re.compile(r"name '([^']+)' is not defined")
_NO_HANDLER = re.compile(r"no service handlers are configured for '([^']+)'")
_NOT_FOUND = re.compile(r"The called process '([^']+)' was not found")
_EXPRESSION = re.compile(r"Error evaluating expression '(.*)'", re.S)


def reason(code: str, **params: Any) -> dict[str, Any]:
    """The reason as stored with an incident: its code, parameters and English text."""
    texts = {k: str(v) for k, v in params.items()}
    return {"code": code, "params": texts, "text": TEXTS[code] % texts}


def _causes(exc: BaseException) -> list[BaseException]:
    found, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _decision_setting(workflow: Any, name: str) -> str | None:
    """The decision whose table outputs `name`, among the business rule tasks of the workflow's specs."""
    specs = [workflow.spec, *getattr(workflow, "subprocess_specs", {}).values()]
    for spec in specs:
        for task_spec in spec.task_specs.values():
            engine = getattr(task_spec, "dmnEngine", None)
            table = getattr(engine, "decision_table", None)
            if table is not None and any(output.name == name for output in table.outputs):
                return str((getattr(task_spec, "extensions", None) or {}).get("calledDecisionId") or table.id)
    return None


_MULTI_INSTANCE = {  # what SpiffWorkflow's multi-instance says -> the code
    "Missing data input for multiinstance task": "multi_instance_input_missing",
    "Multiinstance data input must be iterable": "multi_instance_input_not_iterable",
    "Expected an output item": "multi_instance_output_missing",
}


def _multi_instance(exc: BaseException, element: str) -> dict[str, Any] | None:
    """A multi-instance's data fault (its collection missing or no collection, an instance's output
    item not set), naming the variables; None for another fault."""
    text = str(exc.args[0]) if exc.args else ""
    code = next((c for prefix, c in _MULTI_INSTANCE.items() if text.startswith(prefix)), None)
    task = getattr(exc, "task", None)
    if code is None or task is None:
        return None
    spec = task.task_spec
    if not isinstance(spec, MultiInstanceTask) and task.parent is not None:
        spec = task.parent.task_spec  # the fault of one instance: the multi-instance is its parent
    if not isinstance(spec, MultiInstanceTask):
        return None
    if code == "multi_instance_output_missing":
        return reason(code, element=spec.bpmn_id, item=getattr(spec.output_item, "bpmn_id", "?"),
                      output=getattr(spec.data_output, "bpmn_id", "?"))
    if code == "multi_instance_input_not_iterable" and task.data.get(getattr(spec.data_input, "bpmn_id", "")) is None:
        code = "multi_instance_input_missing"  # None is no value, not a value of the wrong kind
    return reason(code, element=spec.bpmn_id or element, name=getattr(spec.data_input, "bpmn_id", "?"))


def _gateway(task_spec: Any) -> bool:
    """Whether the failing expression is a condition a gateway tests (the import draws a task's conditional
    flows as an inclusive gateway after it)."""
    return isinstance(task_spec, ExclusiveGateway | InclusiveGateway)


def of_failure(exc: BaseException, element_id: str | None, task_spec: Any, workflow: Any,
               message: str) -> dict[str, Any] | None:
    """The reason for a step's failure (`message` is its technical text), or None for an unknown kind."""
    element = element_id or "?"
    if getattr(exc, "reason_code", None) in TEXTS:  # a fault that knows its reason (data stores)
        return reason(exc.reason_code, element=element, **getattr(exc, "reason_params", {}))  # type: ignore[attr-defined]
    if isinstance(exc, WorkflowDataException) and exc.data_output is not None and "could not be set" in str(exc):
        return reason("data_object_unset", element=element, name=exc.data_output.bpmn_id)
    if isinstance(exc, WorkflowDataException) and exc.args and exc.args[0] in ("Missing data input",
                                                                              "Missing data ouput"):
        if exc.data_input is not None:  # the task's own data input (its ioSpecification)
            return reason("missing_value", element=element, name=exc.data_input.bpmn_id)
        if exc.data_output is not None:
            return reason("data_output_missing", element=element, name=exc.data_output.bpmn_id)
    causes = _causes(exc)
    text = " ".join([message, *(str(c) for c in causes)])
    missing = _NAME_ERROR.search(text)
    expression = _EXPRESSION.search(str(exc.args[0]) if exc.args else "")
    if found := _NOT_FOUND.search(text):
        return reason("called_process_missing", element=element, called=found.group(1))
    if found := _NO_HANDLER.search(text):
        return reason("no_operator", element=element, operator=found.group(1))
    if getattr(exc, "kind", None) == "unknown_operator":
        return reason("no_operator", element=element, operator=getattr(task_spec, "operation_name", None) or "?")
    if missing:
        name = missing.group(1)
        decision = _decision_setting(workflow, name) if workflow is not None else None
        if decision is not None:
            return reason("missing_decision_output", element=element, name=name, decision=decision)
        if expression and not _gateway(task_spec):  # a message's payload, an operator's parameter, a loop's test
            return reason("expression_missing_variable", element=element, name=name,
                          expression=expression.group(1).strip())
        if expression or _gateway(task_spec):
            return reason("condition_missing_variable", element=element, name=name,
                          expression=expression.group(1).strip() if expression else "?")
        if isinstance(task_spec, ScriptTask):
            return reason("missing_variable", element=element, name=name)
        return reason("missing_value", element=element, name=name)
    if said := _multi_instance(exc, element):
        return said
    if "No conditions satisfied" in text:  # SpiffWorkflow's exclusive and inclusive gateways
        return reason("no_condition_holds", element=element)
    error = next((f"{type(c).__name__}: {c}" for c in causes[1:] if not hasattr(c, "task_trace")), None)
    if expression:
        return reason("condition_failed" if _gateway(task_spec) else "expression_failed", element=element,
                      expression=expression.group(1).strip(), error=error or getattr(exc, "error_type", None) or "?")
    # a task's pre- or post-script (SpiffWorkflow's, or a camunda:inputOutput the import wrote as one)
    around = "Error occurred in the Pre-Script" in text or "Error occurred in the Post-Script" in text
    if isinstance(task_spec, ScriptTask) or around:
        line = getattr(exc, "line_number", None) or "?"
        detail = error or message
        code = "empty_value" if "NoneType" in detail else "script_failed"
        return reason(code, element=element, line=line, error=detail)
    return None


def of_said(sentence: Said) -> dict[str, Any]:
    """A fault the engine said in words of its own (a fan-out over its limit, a split whose conditions all
    fail): the reason is the sentence, kept as its template and parameters (`said.as_json`), so the
    service layer says it in the reader's language (`incident_reasons`)."""
    return {"code": "said", "said": as_json(sentence), "params": {}, "text": str(sentence)}


def of_message(fault: dict[str, Any], message: str) -> dict[str, Any]:
    """A message whose delivery failed because its payload lacks what the catching process reads from it."""
    found = fault.get("reason") or {}
    if found.get("code") == "missing_value":  # not a script's, nor a condition's: the message's correlation
        fault["reason"] = reason("message_payload", message=message, name=found["params"]["name"])
    return fault


def of_service(operator: str, element_id: str, attempts: int, error: str, said: Said | None = None) -> dict[str, Any]:
    """A service call that failed after its retries. Where the handler said why in its own words (`said`: a
    deal that is not approved, a borrower without a credit code), the reason is a refusal, not an outage
    (`service_refused`), and keeps them (`error_said`) to be read in the reader's language."""
    if said is None:
        return reason("service_failed", element=element_id, operator=operator, attempts=attempts, error=error)
    # the handler refused in its own words (data the instance or the platform lacks): no outage to wait out
    return {**reason("service_refused", element=element_id, operator=operator, attempts=attempts, error=error),
            "error_said": as_json(said)}
