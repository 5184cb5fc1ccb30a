"""What a gateway's condition reads that nothing in its process sets: said to the analyst before deploy.

A diagram drawn for Camunda, Activiti or Flowable often leaves its data to the application around it: the
approver's page completes the task with `approved` over the engine's API, and the gateway after it reads
`${approved}`. In Loanflow a person completes a task on its page, which asks what the task's form asks; a
task without a form gives nothing, so the gateway stops with an incident ("reads approved, which this
instance has no value for") — found by the first instance, long after the deploy. `problems` finds it at
validate, as a warning (the API, or the data an instance is started with, may still give the value):

- the names each condition of an exclusive or inclusive gateway reads (its free names, less the sandbox's
  own: `len`, `datetime`...);
- the names the process can set: its forms' fields (forms the import generated, whose fields are known),
  what its scripts assign (a script task's, a pre- or post-script's: a step the import made of a
  listener or an input/output mapping included), its data objects and the inputs it declares, what a
  data association (a data store's read included) or a task's declared inputs and outputs bring, a
  multi-instance's items and collections, the variable a caught signal is kept under, the start event's
  initiator;
- a process with anything that can set names no diagram says is not judged at all (no warning rather than a
  false one): a service task, a business-rule task, a call activity, a receive task, a caught message, error
  or escalation, a listener that calls code, or a user task whose form is a file (its fields are the file's).
  These are looked for in the file as drawn too: an implementation the admin has not mapped yet is a plain
  task until it is (and refused by the strict check until then).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from app.engine import camunda_process, script_offers, scripting
from app.engine.camunda_user_tasks import FORM_PROPERTY
from app.engine.errors import DiagramProblem
from app.engine.juel import FILTER_ITEMS
from app.engine.said import parts, said
from app.engine.xml import BPMN_NS

_UNJUDGED_KINDS = ("ServiceTask", "BusinessRuleTask")  # set what their operator or decision answers
_UNJUDGED_DRAWN = frozenset({"serviceTask", "businessRuleTask", "callActivity", "receiveTask"})
_LISTENERS = frozenset({"executionListener", "taskListener"})
_CODE = ("class", "expression", "delegateExpression")


def _read(expression: str) -> set[str]:
    """The free names of a Python expression (a comprehension's own names left out); empty if it does not parse."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return set()
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    # a name the expression asks about first (`is_defined('x')`, FEEL's `is defined(x)`) may be missing
    bound |= {a.value for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
              and n.func.id == script_offers.IS_DEFINED for a in n.args
              if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    # a name in a FEEL filter is read from the data only when the item has no entry of that name (`juel`)
    bound |= {n.left.value for n in ast.walk(tree) if isinstance(n, ast.Compare) and isinstance(n.left, ast.Constant)
              and isinstance(n.left.value, str) and isinstance(n.ops[0], ast.In)
              and isinstance(n.comparators[0], ast.Name) and n.comparators[0].id in FILTER_ITEMS}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound


def _assigned(script: str) -> set[str]:
    """Every name a script stores anywhere (more than it may set: never a false warning)."""
    try:
        tree = ast.parse(script, mode="exec")
    except SyntaxError:
        return set()
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    names |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
              for a in n.names}
    return names


@lru_cache(maxsize=1)
def _sandbox_names() -> frozenset[str]:
    """The names every expression has besides the data: the sandbox's builtins, offered names and modules."""
    builtins = scripting.sandbox_globals().get("__builtins__", {})
    return frozenset(builtins) | frozenset(script_offers.OFFERED) | {script_offers.IS_DEFINED, script_offers.ENGINE_NOW} | frozenset(scripting.ALLOWED_MODULES)


def _unjudged(ts: Any, forms: dict[str, dict[str, Any]]) -> bool:
    """Whether `ts` can set names no diagram says."""
    if isinstance(ts, CallActivity) or type(ts).__name__ in _UNJUDGED_KINDS:
        return True
    if isinstance(ts, UserTask):
        form = _properties(ts).get(FORM_PROPERTY)
        return bool(form) and form not in forms
    definition = getattr(ts, "event_definition", None)
    kind = type(definition).__name__
    return isinstance(ts, CatchingEvent) and any(k in kind for k in ("Message", "Error", "Escalation", "Multiple"))


def _properties(ts: Any) -> dict[str, str]:
    return dict((getattr(ts, "extensions", None) or {}).get("properties", {}))


def _set_by(ts: Any, forms: dict[str, dict[str, Any]]) -> Iterator[str]:
    """The names `ts` can set."""
    properties = _properties(ts)
    form = forms.get(properties.get(FORM_PROPERTY, ""))
    if form:
        yield from (form.get("properties") or {})
    if properties.get(camunda_process.INITIATOR):
        yield properties[camunda_process.INITIATOR]
    scripts = [getattr(ts, "prescript", None), getattr(ts, "postscript", None)]
    if isinstance(ts, ScriptEngineTask):
        scripts.append(getattr(ts, "script", None))
    for script in scripts:
        if script:
            yield from _assigned(script)
    if isinstance(ts, MultiInstanceTask):
        for ref in (ts.data_input, ts.data_output, ts.input_item, ts.output_item):
            name = getattr(ref, "bpmn_id", None)
            if name:
                yield name
    variable = getattr(getattr(ts, "event_definition", None), "variable", None)
    if variable:
        yield variable
    io = getattr(ts, "io_specification", None)  # a task's (or a called process's) declared inputs and outputs
    refs = [*getattr(ts, "data_input_associations", []), *getattr(ts, "data_output_associations", []),
            *(getattr(io, "data_inputs", None) or []), *(getattr(io, "data_outputs", None) or [])]
    yield from (ref.bpmn_id for ref in refs if getattr(ref, "bpmn_id", None))


def _drawn_unjudged(root: etree._Element | None, process_id: str) -> bool:
    """Whether the process as drawn in the file (`root`, None if unread) has an element that can set names no
    diagram says."""
    if root is None:
        return True
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") == process_id:
            nodes = [n for n in process.iter() if isinstance(n.tag, str)]
            return any(etree.QName(n).localname in _UNJUDGED_DRAWN or (
                etree.QName(n).localname in _LISTENERS and any(n.get(k) for k in _CODE)) for n in nodes)
    return True


def problems(filename: str, drawn: etree._Element | None, process_id: str, specs: list[Any],
             forms: dict[str, dict[str, Any]]) -> list[DiagramProblem]:
    """Warnings for the gateways of a process (`specs`: it and its sub-processes, `drawn` the file as drawn)
    whose conditions read names nothing in it sets, one a gateway; [] when anything in it may set names no
    diagram says. `forms`: the generated forms by file name."""
    task_specs = [ts for spec in specs for ts in spec.task_specs.values()]
    if any(_unjudged(ts, forms) for ts in task_specs) or _drawn_unjudged(drawn, process_id):
        return []
    known = set(_sandbox_names())
    for spec in specs:
        known.update(getattr(spec, "data_objects", {}) or {})
        io = getattr(spec, "io_specification", None)  # the process's declared inputs: its start data
        known.update(ref.bpmn_id for ref in (getattr(io, "data_inputs", None) or []) if getattr(ref, "bpmn_id", None))
        for ts in spec.task_specs.values():
            known.update(_set_by(ts, forms))
    found = []
    for ts in task_specs:
        if not isinstance(ts, MultiChoice):
            continue
        read: set[str] = set()
        for condition, _target in ts.cond_task_specs:
            source = getattr(condition, "args", [None])[0] if condition is not None else None
            read |= _read(source) if isinstance(source, str) else set()
        unset = sorted(read - known)
        if unset:
            found.append(DiagramProblem(filename, ts.bpmn_id.removeprefix("ImplicitSplit_"), said(
                "the conditions of the flows leaving it read %(names)s, which nothing in the process sets (no form "
                "field, script or event of it): an instance stops here with an incident unless it is started with "
                "the value, or a task without a form is completed with it over the API, as another engine's "
                "application would; a person on a task's page gives only what its form asks: give a task before it "
                "a form with the field", names=parts(unset)), None, "warning"))
    return found


__all__ = ["problems"]
