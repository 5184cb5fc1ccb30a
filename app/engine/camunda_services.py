"""Service implementations and Camunda input/output mappings, for the import layer.

A diagram names the code behind a service task (`service_implementations` says how, by kind: a
Camunda 7 class, bean, expression, external topic or connector, a Camunda 8 job type, or nothing at
all, when the task is known by its name); send tasks, business-rule tasks and message throw and end
events may carry the same. None of that code exists here: an admin maps each implementation to one
of Loanflow's registered operators (the mapping table, read by the deployment service and passed in
as a plain mapping, since the engine reads no database):

- `rewrite(root, filename, mapping)`: a mapped implementation becomes our service task form
  (`spiffworkflow:serviceTaskOperator` with the mapping's parameters — for a connector, its input
  parameters, the mapping's over them —, `camunda:resultVariable` kept as the result variable); a
  message throw or end event carrying one becomes a service task (an end event is followed by a
  plain end event of its own). Each change is a warning. An unmapped one is left to `problems`: its
  element becomes a task that does nothing, so the file parses and the strict check can name it and
  the command that maps it (it is never deployed so). A Camunda 8 job's `zeebe:ioMapping` inputs
  are its operator's parameters (a dotted target builds a map), and so are its `zeebe:taskHeaders`
  (fixed texts; an input of the same name wins). A job's outputs read its result: the operator's
  result is kept in a variable of the task's own, each output is set from it (a name the result does not
  hold is read from the instance's data, as Camunda 8 reads a job's variables over the instance's) and
  the variable is dropped, so only the outputs' targets are kept, as in Camunda 8. A connector's output
  parameters are refused, never dropped.
- `camunda:inputOutput` (and Camunda 8's `zeebe:ioMapping`: FEEL after `=`, else a text) on a task: input parameters are assigned before the task runs (a pre-script;
  on a script task, lines before its script, since SpiffWorkflow runs no pre-script there), output
  parameters after it, each value translated (text, `${...}` JUEL, a text with `${...}` in it,
  `camunda:list`, `camunda:map`); a dotted name (`Fact.type`) sets the key of a map, each map on the
  way made if missing; a variable set by an input stays in the instance's data after the task
  (Camunda keeps it local to the task). A call activity's `camunda:in` and `camunda:out` under another
  name (`source`/`sourceExpression` to `target`) are set before and after the call; `variables="all"`,
  the business key and a variable under its own name need nothing (the called process sees the
  instance's data). As in Camunda 7, the called process starts with only what the ins set, and only
  what the outs set comes back (nothing in a direction with no mapping), unless a mapping of that
  direction passes all (`call_variables`); a call with no mapping at all, in a diagram drawn for Camunda 7,
  Activiti or Flowable, passes nothing either way (all in with Flowable's `inheritVariables="true"`).
  On an intermediate event, where SpiffWorkflow runs no script,
  the inputs are a script task drawn before the event and the outputs one drawn after it (`path_steps`;
  after a message arrives its payload is in the data, as in Camunda). An end event's inputs and outputs are
  a script task before it (its outputs are what its scope ends with); Camunda 8's outputs on a start event
  (what the instance keeps of what started it) and on a boundary event (of what it caught) a script task
  after it. What cannot be translated (a `camunda:script`, a name that is no variable name, JUEL the
  translator refuses, a Camunda 7 mapping on a start or boundary event, which Camunda 7 refuses too,
  inputs on a start or boundary event, inputs on an event an event-based gateway waits for) stays, and
  `problems` names the element and why.
"""
from __future__ import annotations

import ast
import json
import keyword
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from app.engine import call_variables, path_steps, service_implementations
from app.engine.camunda_user_tasks import set_properties
from app.engine.element_kinds import label_of
from app.engine.errors import DiagramProblem
from app.engine.external_tasks import EXTERNAL_TASK_OPERATOR
from app.engine.juel import ExpressionRefused, feel, is_juel, juel_text
from app.engine.said import as_json, from_json, parts, said
from app.engine.service_implementations import CAMUNDA_NS, KINDS
from app.engine.xml import BPMN_NS, ZEEBE_NS, extension_elements
from app.engine.xml import source_line as _line
from app.engine.xml import unique_id as _unique

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_B, _C, _S = f"{{{BPMN_NS}}}", f"{{{CAMUNDA_NS}}}", f"{{{SPIFF_NS}}}"
_Z = f"{{{ZEEBE_NS}}}"
_UNMAPPED = f"{_C}unmappedImplementation"  # set on an unmapped element: "kind value", for `problems`
_IO_REFUSED = f"{_C}inputOutputRefused"  # set on an element whose mappings stay: the reason (`stored`)
_REFUSED = f"{_C}implementationRefused"  # on an element whose implementation cannot run as drawn: the reason (`stored`)
_ELEMENT = f"{_C}unmappedElement"  # what an unmapped element was drawn as (it is a task now)
_JOB_OUTPUTS = f"{_C}jobOutputs"  # a mapped job's outputs, as its warning says them
# elements whose pre- and post-scripts SpiffWorkflow runs (its task parsers read them)
_SCRIPTED = frozenset({"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
                       "businessRuleTask", "callActivity", "subProcess", "transaction"})
# events whose mapping the import draws as steps before and after them (`path_steps`): SpiffWorkflow runs no pre-
# or post-script on an event
_STEPPED = frozenset({"intermediateCatchEvent", "intermediateThrowEvent", "endEvent", "startEvent", "boundaryEvent"})
# events whose mapping only Camunda 8 reads: a start event's outputs (what the instance keeps of its start or its
# message), a boundary event's outputs (of what it caught); Camunda 7 refuses a mapping there, and so does the import
_ZEEBE_ONLY = frozenset({"startEvent", "boundaryEvent"})


@dataclass(frozen=True)
class Operator:
    """What an admin mapped an implementation to: a registered operator and its parameters (name ->
    Python expression on the task's data)."""

    operator: str
    parameters: Mapping[str, str] = field(default_factory=dict)


OperatorMap = Mapping[tuple[str, str], Operator]  # (kind, value) -> operator


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _retag(element: etree._Element, localname: str) -> None:
    element.tag = f"{_B}{localname}"
    for definition in element.findall(f"{_B}messageEventDefinition"):
        element.remove(definition)


def _follow_with_end(element: etree._Element, taken: set[str]) -> str:
    """A new end event after `element` (an end event about to become a service task); its id."""
    base = f"{element.get('id')}_end"
    end_id, n = base, 2
    while end_id in taken:
        end_id, n = f"{base}_{n}", n + 1
    flow_id = f"Flow_{end_id}"
    while flow_id in taken:
        flow_id += "_"
    taken.update({end_id, flow_id})
    parent = element.getparent()
    assert parent is not None
    end = etree.SubElement(parent, f"{_B}endEvent", id=end_id)
    if element.get("name"):
        end.set("name", element.get("name") or "")
    etree.SubElement(end, f"{_B}incoming").text = flow_id
    etree.SubElement(parent, f"{_B}sequenceFlow", id=flow_id, sourceRef=element.get("id") or "", targetRef=end_id)
    etree.SubElement(element, f"{_B}outgoing").text = flow_id
    return end_id


def _connector_parameters(element: etree._Element, found: service_implementations.Found) -> dict[str, str]:
    """A connector's input parameters, as the operator's parameters (name -> Python expression). Its
    output parameters read the connector's own response, which no operator gives: refused."""
    node = service_implementations.connector(element) if found.key[0] == "connector" else None
    mapping = None if node is None else node.find(f"{_C}inputOutput")
    if mapping is None:
        return {}
    outputs = [p.get("name") or "" for p in mapping.findall(f"{_C}outputParameter")]
    try:
        if outputs:
            raise _Untranslatable(said(
                "the connector's outputParameter %(name)r reads the connector's response, which no Loanflow "
                "operator gives: remove the output parameters and let the mapped operator's result carry the answer",
                name=outputs[0]))
        parameters = _parameters(mapping, "inputParameter")
        dotted = [name for name, _expression in parameters if "." in name]
        if dotted:
            raise _Untranslatable(said("the connector's inputParameter %(name)r is not a parameter name an "
                                       "operator takes", name=dotted[0]))
        return dict(parameters)
    except _Untranslatable as exc:
        element.set(_REFUSED, stored(said("%(implementation)s cannot run: %(why)s",
                                          implementation=service_implementations.describe(found.key), why=_why(exc))))
        return {}


def _job_parameters(element: etree._Element, found: service_implementations.Found) -> dict[str, str]:
    """A Camunda 8 job's zeebe:ioMapping inputs, as the operator's parameters (a dotted target, `from.email`,
    builds a map: parameter `from` = {"email": ...}). Its outputs read the job's own result variables,
    which no operator gives: refused."""
    ext = element.find(f"{_B}extensionElements")
    if found.key[0] != "job" or ext is None:
        return {}
    mapping, headers = ext.find(f"{_Z}ioMapping"), ext.find(f"{_Z}taskHeaders")
    tree: dict[str, object] = {}
    if headers is not None:  # fixed settings the job's worker reads: the operator's parameters, each a text
        ext.remove(headers)
        tree.update({h.get("key", "").strip(): repr(h.get("value") or "") for h in headers.findall(f"{_Z}header")
                     if h.get("key", "").strip()})
    if mapping is None:
        return {name: _literal(value) for name, value in tree.items()}
    ext.remove(mapping)  # the operator's parameters now, not the task's data
    try:
        outputs = _zeebe_parameters(mapping, "output")
        if outputs:
            _job_outputs(element, ext, outputs)
        for name, value in _zeebe_parameters(mapping, "input", keys=True):
            *path, last = name.split(".")
            node = tree
            for key in path:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    raise _Untranslatable(said("the zeebe:input %(target)r sets a key inside %(key)r, set as a value "
                                               "too", target=name, key=key))
                node = child
            node[last] = value
        return {name: _literal(value) for name, value in tree.items()}
    except _Untranslatable as exc:
        element.set(_REFUSED, stored(said("%(implementation)s cannot run: %(why)s",
                                          implementation=service_implementations.describe(found.key), why=_why(exc))))
        return {}


class _FromResult(ast.NodeTransformer):
    """Each variable an output reads, read from the operator's result when it holds it, else from the data."""

    def __init__(self, result: str) -> None:
        self.result = result

    def visit_Call(self, node: ast.Call) -> ast.AST:  # a function's name is no variable
        node.args = [self.visit(a) for a in node.args]
        node.keywords = [self.visit(k) for k in node.keywords]
        if not isinstance(node.func, ast.Name):
            node.func = self.visit(node.func)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if not isinstance(node.ctx, ast.Load):
            return node
        got = ast.parse(f"({self.result}[{node.id!r}] if isinstance({self.result}, dict) and {node.id!r} in "
                        f"{self.result} else {node.id})", mode="eval").body
        return ast.copy_location(got, node)


def _job_outputs(element: etree._Element, ext: etree._Element, outputs: list[tuple[str, str]]) -> None:
    """A Camunda 8 job's zeebe:output mappings after its operator: the operator's result is kept in a variable
    of the task's own (`resultVariable`), each output set from it (a variable it reads comes from the result when
    the result holds it, else from the instance's data, as Camunda 8 reads a job's variables over the
    instance's), then that variable is dropped: as in Camunda 8, only the outputs' targets are kept."""
    result = "jobResult_" + re.sub(r"\W", "_", element.get("id") or "task")
    element.set(f"{_C}resultVariable", result)
    lines = [_statement(target, ast.unparse(_FromResult(result).visit(ast.parse(python, mode="eval"))), "zeebe:output")
             for target, python in outputs]
    _add_script(ext, "postScript", [*lines, f"del {result}"], first=True)
    element.set(_JOB_OUTPUTS, parts([_said(target, python) for target, python in outputs]))


def _literal(value: object) -> str:
    """A parameter's Python expression: an expression, or a map of them."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {_literal(v)}" for key, v in value.items()) + "}"
    return str(value)


# where a mapped implementation's parameters came from, as the warning says it
_SOURCES = {"connector": said("the connector's input parameters"),
            "job": said("the zeebe:ioMapping inputs and zeebe:taskHeaders")}


def rewrite(root: etree._Element, filename: str, mapping: OperatorMap | None,
            camunda_7: bool = False) -> list[DiagramProblem]:
    """Service implementations and input/output mappings rewritten (see the module); the warnings. `camunda_7`:
    the file was drawn for Camunda 7, Activiti or Flowable (`drawn_for_camunda_7`, asked before any module of the
    import changed it): its calls pass only what they map."""
    changes: list[DiagramProblem] = []
    taken = set(root.xpath("//@id"))
    for found in list(service_implementations.found(root)):
        element, carrier, key = found.element, found.carrier, found.key
        chosen = (mapping or {}).get(key)
        what = _local(element)
        parameters = _connector_parameters(element, found) or _job_parameters(element, found)
        if chosen is None:
            element.attrib.pop(_JOB_OUTPUTS, None)
            element.set(_UNMAPPED, f"{key[0]} {key[1]}")
            element.set(_ELEMENT, what)
            service_implementations.strip(found)
            _retag(element, "task" if what in (*service_implementations.TASKS, "scriptTask", "intermediateThrowEvent") else what)
            continue
        result = (service_implementations.camunda_attribute(carrier, "resultVariable")
                  or service_implementations.camunda_attribute(element, "resultVariable"))
        service_implementations.strip(found)
        note: str = ""
        if what == "endEvent":
            note = said("; the end event is now a service task followed by the end event %(end)s",
                        end=_follow_with_end(element, taken))
        _retag(element, "serviceTask")
        ext = extension_elements(element)
        for old in ext.findall(f"{_S}serviceTaskOperator"):
            ext.remove(old)
        operator = etree.SubElement(ext, f"{_S}serviceTaskOperator", id=chosen.operator)
        if result:
            operator.set("resultVariable", result)
        parameters.update(chosen.parameters)  # the admin's parameters over the connector's
        if chosen.operator == EXTERNAL_TASK_OPERATOR:  # its workers fetch it by the topic (or what names it)
            parameters.setdefault("topic", repr(key[1]))
        if parameters:
            holder = etree.SubElement(operator, f"{_S}parameters")
            for name, value in parameters.items():
                etree.SubElement(holder, f"{_S}parameter", id=name, type="any", value=value)
        was = "" if what == "serviceTask" else said(" (the %(element)s is now a service task)",
                                                          element=label_of(what))
        source = _SOURCES.get(key[0])
        given = said("; %(source)s are its parameters: %(parameters)s", source=source,
                     parameters=", ".join(parameters)) if source and parameters else ""
        outputs = element.attrib.pop(_JOB_OUTPUTS, None)
        if outputs:
            given += said("; its zeebe:output mappings are set from the operator's result (a variable the result "
                          "does not hold is read from the instance's data): %(outputs)s", outputs=outputs)
        changes.append(DiagramProblem(
            filename, element.get("id"), said("%(implementation)s -> operator %(operator)r%(was)s%(note)s%(given)s",
                                              implementation=service_implementations.describe(key, what),
                                              operator=chosen.operator, was=was, note=note, given=given),
            _line(element), "warning"))
    changes += _input_output(root, filename)
    changes += _call_mappings(root, filename, camunda_7)
    return changes


# -- camunda:inputOutput ----------------------------------------------------------------------
class _Untranslatable(Exception):
    pass


def _value(node: etree._Element) -> str:
    """The Python expression for a parameter's value: its text, list, map or nothing."""
    children = [c for c in node if isinstance(c.tag, str)]
    if not children:
        text = (node.text or "").strip()
        if not text:
            return "None"
        if is_juel(text):
            try:
                return juel_text(text)
            except ExpressionRefused as exc:
                raise _Untranslatable(said("%(expression)r: %(why)s", expression=text, why=exc.reason)) from None
        return repr(text)
    if len(children) > 1:
        raise _Untranslatable(said("it holds more than one value"))
    child = children[0]
    kind = _local(child)
    if child.tag == f"{_C}list":
        return "[" + ", ".join(_value(item) for item in child if isinstance(item.tag, str)) + "]"
    if child.tag == f"{_C}map":
        entries = []
        for entry in (e for e in child if isinstance(e.tag, str)):
            if entry.tag != f"{_C}entry" or entry.get("key") is None:
                raise _Untranslatable(said("a camunda:map entry without a key"))
            entries.append(f"{entry.get('key')!r}: {_value(entry)}")
        return "{" + ", ".join(entries) + "}"
    if child.tag == f"{_C}script":
        language = child.get("scriptFormat") or said("a script language")
        raise _Untranslatable(said("its value is a %(language)s script, which Loanflow does not run",
                                   language=language))
    raise _Untranslatable(said("its value is a %(kind)s, which the import does not read", kind=kind))


def _is_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _parameters(mapping: etree._Element, kind: str) -> list[tuple[str, str]]:
    """(name, Python expression) of each parameter; a name is a variable or a dotted path of keys."""
    found = []
    for parameter in mapping.findall(f"{_C}{kind}"):
        name = (parameter.get("name") or "").strip()
        if not all(_is_name(part) for part in name.split(".")):
            raise _Untranslatable(said("the %(kind)s %(name)r is not a variable name Loanflow can set", kind=kind,
                                       name=name))
        try:
            found.append((name, _value(parameter)))
        except _Untranslatable as exc:
            raise _Untranslatable(said("the %(kind)s %(name)r: %(why)s", kind=kind, name=name, why=_why(exc))) from None
    return found


def _statement(name: str, value: str, kind: str) -> str:
    """The script that sets `name`: a variable, or for a dotted name (`Fact.type`, what JUEL's
    `${Fact.type}` reads) the key of a map, each map on the way made if missing; a value on the way
    that is not a map stops the task with a reason rather than being overwritten."""
    first, *keys = name.split(".")
    if not keys:
        return f"{name} = {value}"
    path, checks = first, [f"not isinstance({first}, dict)"]
    for key in keys[:-1]:
        checks.append(f"not isinstance({path}.setdefault({key!r}, {{}}), dict)")
        path += f"[{key!r}]"
    why = (f"the {kind} {name!r} sets a key inside {first}, which holds something other than a map "
           "(a dict) on the way: make it a map or rename the parameter")
    return (f"try:\n    {first}\nexcept NameError:\n    {first} = {{}}\n"
            f"if {' or '.join(checks)}:\n    raise TypeError({why!r})\n{path}[{keys[-1]!r}] = {value}")


def _said(name: str, value: str) -> str:
    first, *keys = name.split(".")
    if not keys:
        return f"{name} = {value}"
    return said("%(name)s = %(value)s (the key %(key)r of the map %(map)s, each map made if missing)", name=name,
                value=value, key=keys[-1], map=name.rsplit(".", 1)[0])


def _zeebe_parameters(mapping: etree._Element, kind: str, keys: bool = False) -> list[tuple[str, str]]:
    """(target, Python expression) of each zeebe:input or zeebe:output: a source after `=` is FEEL, any
    other a text (Camunda 8's static value). With `keys`, a target is a path of keys (`from.email`: a
    job's parameter), not variables, so Python's keywords are names too."""
    found = []
    for node in mapping.findall(f"{_Z}{kind}"):
        name, source = (node.get("target") or "").strip(), node.get("source") or ""
        if not all(part.isidentifier() if keys else _is_name(part) for part in name.split(".")):
            raise _Untranslatable(said("the zeebe:%(kind)s %(name)r is not a variable name Loanflow can set",
                                       kind=kind, name=name))
        if not source.strip().startswith("="):
            found.append((name, repr(source)))
            continue
        try:
            found.append((name, feel(source)))
        except ExpressionRefused as exc:
            raise _Untranslatable(said("the zeebe:%(kind)s %(name)r: %(source)r: %(why)s", kind=kind, name=name,
                                       source=source.strip(), why=exc.reason)) from None
    return found


def _assignments(found: list[tuple[str, str]], kind: str) -> tuple[list[str], list[str]]:
    """The statements that set the parameters, and how the warning says them."""
    return [_statement(name, value, kind) for name, value in found], [_said(name, value) for name, value in found]


def _add_script(ext: etree._Element, tag: str, lines: list[str], first: bool) -> None:
    existing = ext.find(f"{_S}{tag}")
    if existing is None:
        existing = etree.SubElement(ext, f"{_S}{tag}")
        existing.text = ""
    own = (existing.text or "").strip()
    joined = "\n".join(lines)
    existing.text = (f"{joined}\n{own}" if first else f"{own}\n{joined}").strip() if own else joined


def _event_steps(element: etree._Element, inputs: list[str], outputs: list[str], taken: set[str]) -> None:
    """An intermediate event's mapping as steps of its path: a script task setting the inputs before the event, one
    setting the outputs after it (a message's payload is in the data by then, as in Camunda)."""
    scope, event_id, kind_of = element.getparent(), element.get("id") or "", _local(element)
    assert scope is not None
    sources = {f.get("sourceRef") for f in path_steps.flows(scope) if f.get("targetRef") == event_id}
    if inputs and kind_of in _ZEEBE_ONLY:
        raise _Untranslatable(said("a %(element)s has no inputs: nothing runs before it; set them on the step after it",
                                   element=label_of(kind_of)))
    if inputs and any(_local(n) == "eventBasedGateway" for n in scope if n.get("id") in sources):
        raise _Untranslatable(said("its input parameters would be a step between the event-based gateway and the "
                                   "event it waits for; set them before the gateway"))
    # an end event's outputs are what its scope ends with: set before it, after its inputs
    steps = ((inputs + outputs, "inputs"),) if kind_of == "endEvent" else ((inputs, "inputs"), (outputs, "outputs"))
    for lines, kind in steps:
        if lines:
            step = etree.SubElement(scope, f"{_B}scriptTask", id=_unique(f"{event_id}_{kind}", taken),
                                    name=f"{element.get('name') or event_id} ({kind})", scriptFormat="python")
            etree.SubElement(step, f"{_B}script").text = "\n".join(lines)
            (path_steps.before(scope, event_id, step, taken) if kind == "inputs"
             else path_steps.after(scope, element, step, taken))


def _input_output(root: etree._Element, filename: str) -> list[DiagramProblem]:
    changes: list[DiagramProblem] = []
    taken = {str(i) for i in root.xpath("//@id")}
    for mapping in [*root.iter(f"{_C}inputOutput"), *root.iter(f"{_Z}ioMapping")]:
        zeebe = mapping.tag == f"{_Z}ioMapping"
        label = "zeebe:ioMapping" if zeebe else "camunda:inputOutput"
        ext = mapping.getparent()
        element = ext.getparent() if ext is not None else None
        if ext is None or element is None or ext.tag != f"{_B}extensionElements":
            continue  # a connector's own parameters: not the task's data
        try:
            if _local(element) not in _SCRIPTED and (_local(element) not in _STEPPED
                                                     or (_local(element) in _ZEEBE_ONLY and not zeebe)):
                raise _Untranslatable(said("input/output mappings on the %(element)s are not supported; "
                                           "move them to a task", element=label_of(_local(element))))
            if zeebe:
                inputs, said_inputs = _assignments(_zeebe_parameters(mapping, "input"), "zeebe:input")
                outputs, said_outputs = _assignments(_zeebe_parameters(mapping, "output"), "zeebe:output")
            else:
                inputs, said_inputs = _assignments(_parameters(mapping, "inputParameter"), "inputParameter")
                outputs, said_outputs = _assignments(_parameters(mapping, "outputParameter"), "outputParameter")
        except _Untranslatable as exc:
            element.set(_IO_REFUSED, stored(said("%(mapping)s cannot run: %(why)s", mapping=label, why=_why(exc))))
            continue
        if _local(element) in _STEPPED:
            try:
                _event_steps(element, inputs, outputs, taken)
            except _Untranslatable as exc:
                element.set(_IO_REFUSED, stored(said("%(mapping)s cannot run: %(why)s", mapping=label, why=_why(exc))))
                continue
            ext.remove(mapping)
            changes.append(DiagramProblem(filename, element.get("id"), said(
                "%(mapping)s -> steps of the path: %(told)s", mapping=label, told=parts(
                    [part for part in (said("inputs set before it: %(inputs)s", inputs=parts(said_inputs)) if inputs
                                       else "",
                                       (said("outputs set before it, what its scope ends with: %(outputs)s",
                                             outputs=parts(said_outputs)) if _local(element) == "endEvent" else
                                        said("outputs set after it: %(outputs)s", outputs=parts(said_outputs)))
                                       if outputs else "") if part], "; ")), _line(mapping), "warning"))
            continue
        script = element.find(f"{_B}script") if _local(element) == "scriptTask" else None
        if script is not None and (script.text or "").strip():
            # SpiffWorkflow runs no pre- or post-script on a script task: the script itself sets them
            script.text = "\n".join((*inputs, script.text or "", *outputs))
        else:
            if inputs:
                _add_script(ext, "preScript", inputs, first=True)
            if outputs:
                _add_script(ext, "postScript", outputs, first=False)
        ext.remove(mapping)
        told = parts([part for part in (
            said("inputs set before it runs: %(inputs)s", inputs=parts(said_inputs)) if inputs else "",
            said("outputs set after it: %(outputs)s", outputs=parts(said_outputs)) if outputs else "") if part], "; ")
        changes.append(DiagramProblem(
            filename, element.get("id"),
            said("%(mapping)s -> %(told)s; inputs stay in the instance's data after the task", mapping=label, told=told)
            if inputs else said("%(mapping)s -> %(told)s", mapping=label, told=told or said("nothing to set")),
            _line(mapping), "warning"))
    return changes


def _call_mapping(node: etree._Element, direction: str) -> tuple[str | None, str]:
    """The statement a camunda:in or camunda:out stands for (None when there is nothing to set: all the
    variables, the business key, a variable passed under its own name) and how the warning says it."""
    if (node.get("variables") or "").strip() == "all":
        return None, said("all variables (Loanflow passes them all)")
    if node.get("businessKey") is not None:
        return None, said("the business key (the called process runs in the same instance, with its key)")
    target = (node.get("target") or "").strip()
    if not _is_name(target):
        raise _Untranslatable(said("the camunda:%(direction)s target %(target)r is not a variable name Loanflow can "
                                   "set", direction=direction, target=target))
    source, expression = (node.get("source") or "").strip(), node.get("sourceExpression")
    if expression is not None:
        try:
            value = juel_text(expression.strip())
        except ExpressionRefused as exc:
            raise _Untranslatable(said("the camunda:%(direction)s sourceExpression %(expression)r: %(why)s",
                                       direction=direction, expression=expression.strip(), why=exc.reason)) from None
    elif _is_name(source):
        if source == target:
            return None, said("%(target)s (under its own name)", target=target)
        value = source
    else:
        raise _Untranslatable(said("the camunda:%(direction)s source %(source)r is not a variable name",
                                   direction=direction, source=source))
    return f"{target} = {value}", f"{target} = {value}"


def _call_mappings(root: etree._Element, filename: str, camunda_7: bool) -> list[DiagramProblem]:
    """A call activity's camunda:in and camunda:out: what the called process gets under another name is
    set before the call (a pre-script), what comes back under another name after it (a post-script).
    A variable passed under its own name, or all of them, needs no statement: what passes at all is the call's
    INPUTS and OUTPUTS (`call_variables`). A call with no mapping in a diagram drawn for Camunda 7 (or
    Activiti, Flowable) passes nothing, as those engines run it; elsewhere everything, as SpiffWorkflow does."""
    changes: list[DiagramProblem] = []
    for element in root.iter(f"{_B}callActivity"):
        ext = element.find(f"{_B}extensionElements")
        nodes = [] if ext is None else [n for n in ext if isinstance(n.tag, str)
                                         and etree.QName(n).namespace == CAMUNDA_NS
                                         and _local(n) in ("in", "out")]
        if not nodes:
            if camunda_7:
                changes.append(_passes_nothing(element, filename))
            continue
        lines: dict[str, list[str]] = {"in": [], "out": []}
        mapped: list[str] = []
        try:
            for node in nodes:
                statement, told = _call_mapping(node, _local(node))
                if statement is not None:
                    lines[_local(node)].append(statement)
                mapped.append(said("camunda:%(direction)s %(mapping)s", direction=_local(node), mapping=told))
        except _Untranslatable as exc:
            element.set(_IO_REFUSED, stored(said("the call activity's variable mapping cannot run: %(why)s",
                                                 why=_why(exc))))
            continue
        assert ext is not None
        if lines["in"]:
            _add_script(ext, "preScript", lines["in"], first=True)
        if lines["out"]:
            _add_script(ext, "postScript", lines["out"], first=False)
        passed = {direction: _passed(nodes, direction) for direction in ("in", "out")}
        if _inherits(element):
            passed["in"] = None
        for node in nodes:
            ext.remove(node)
        properties = {prop: json.dumps(passed[direction]) for direction, prop in
                      (("in", call_variables.INPUTS), ("out", call_variables.OUTPUTS)) if passed[direction] is not None}
        if properties:
            set_properties(element, properties)  # as Camunda 7: only what is mapped passes
        told = said("%(mappings)s: set before the call (camunda:in) and after it (camunda:out); as in Camunda, "
                    "the called process starts with %(inputs)s, and the call takes back %(outputs)s",
                    mappings=parts(mapped, "; "),
                    inputs=_said_names(passed["in"], said("all of the instance's data")),
                    outputs=_said_names(passed["out"], said("all of the called process's data")))
        changes.append(DiagramProblem(filename, element.get("id"), told, _line(element), "warning"))
    return changes


def drawn_for_camunda_7(root: etree._Element) -> bool:
    """Whether the file was drawn for Camunda 7, Activiti or Flowable: it uses one of their extensions (an element
    or attribute of their namespaces, once read as Camunda's) or names Camunda Platform as its execution platform,
    and is not drawn for Camunda 8. A file that only declares the namespace, as Camunda Modeler writes every file
    (SpiffArena's tests are drawn there), is not. There a call activity passes only what it maps."""
    declared = {ns for ns in root.nsmap.values()}
    platform = next((v for k, v in root.attrib.items() if etree.QName(k).localname == "executionPlatform"), "")
    if ZEEBE_NS in declared or platform == "Camunda Cloud":
        return False
    return platform == "Camunda Platform" or any(
        isinstance(node.tag, str) and (etree.QName(node).namespace == CAMUNDA_NS
                                       or any(key.startswith(f"{{{CAMUNDA_NS}}}") for key in node.attrib))
        for node in root.iter())


def _inherits(element: etree._Element) -> bool:
    """Flowable's `inheritVariables="true"` (read as camunda:): the called process starts with all of the
    calling instance's data."""
    return (element.get(f"{{{CAMUNDA_NS}}}inheritVariables") or "").strip() == "true"


def _passes_nothing(element: etree._Element, filename: str) -> DiagramProblem:
    """A call activity with no camunda:in or camunda:out in a diagram drawn for Camunda 7: as Camunda 7 (and
    Activiti, Flowable) run it, the called process starts with none of the instance's data (all of it with
    Flowable's inheritVariables) and the call takes nothing back."""
    inherits = _inherits(element)
    set_properties(element, {call_variables.OUTPUTS: "[]"} if inherits
                   else {call_variables.INPUTS: "[]", call_variables.OUTPUTS: "[]"})
    told = (said("no camunda:out: as in Flowable, the called process starts with all of the instance's data "
                 "(inheritVariables) and the call takes none of its data back; map what comes back with camunda:out "
                 "(variables=\"all\" for everything)") if inherits
            else said("no camunda:in or camunda:out: as in Camunda 7, the called process starts with none of the "
                      "instance's data and the call takes none of its data back; map what it needs with camunda:in and "
                      "what comes back with camunda:out (variables=\"all\" for everything)"))
    return DiagramProblem(filename, element.get("id"), told, _line(element), "warning")


def _passed(nodes: list[etree._Element], direction: str) -> list[str] | None:
    """The names a call with camunda:in or camunda:out mappings passes in one direction: what its mappings of
    that direction set (nothing without one, as in Camunda 7); None when one of them passes all."""
    mappings = [n for n in nodes if _local(n) == direction]
    if any((n.get("variables") or "").strip() == "all" for n in mappings):
        return None
    return list(dict.fromkeys((n.get("target") or "").strip() for n in mappings if (n.get("target") or "").strip()))


def _said_names(names: list[str] | None, everything: str) -> str:
    if names is None:
        return everything
    return said("only %(names)s", names=", ".join(names)) if names else said("nothing of it")


_NAMELESS = {"topic": said("the external task names no topic"),
             "connector": said("the camunda:connector names no connectorId"),
             "job": said("the zeebe:taskDefinition names no type")}


def _shell(value: str) -> str:
    return shlex.quote(value) if "'" in value else f"'{value}'"


def _unmapped(kind: str, value: str, element: str) -> str:
    if not value and kind in _NAMELESS:
        return said("%(nameless)s: give it one, and an admin maps it to an operator", nameless=_NAMELESS[kind])
    implementation = service_implementations.describe((kind, value), element)
    if kind == "task":
        return said("%(implementation)s runs no operator: choose the operator it runs (the modeler's properties "
                    "panel, Service operator), or an admin maps its name to a registered operator (Administration > Operator "
                    "mappings, or flask processes map-operator %(kind)s %(value)s OPERATOR), then deploy again",
                    implementation=implementation, kind=kind, value=_shell(value))
    return said("%(implementation)s is mapped to no operator: an admin maps it to a registered operator "
                "(Administration > Operator mappings, or flask processes map-operator %(kind)s %(value)s OPERATOR), "
                "then deploy again", implementation=implementation, kind=kind, value=_shell(value))


def problems(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """The strict check's errors: implementations no admin has mapped or that cannot run as drawn,
    mappings not translated."""
    found: list[DiagramProblem] = []
    for node in process.iter():
        if not isinstance(node.tag, str):
            continue
        unmapped = node.get(_UNMAPPED)
        if unmapped is not None:
            kind, _, value = unmapped.partition(" ")
            found.append(DiagramProblem(filename, node.get("id"), _unmapped(kind, value, node.get(_ELEMENT) or ""),
                                        _line(node)))
        refused = node.get(_REFUSED)
        if refused is not None:
            found.append(DiagramProblem(filename, node.get("id"), restored(refused), _line(node)))
        refused = node.get(_IO_REFUSED)
        if refused is not None:
            found.append(DiagramProblem(filename, node.get("id"), restored(refused), _line(node)))
    return found


# -- reasons kept on an element ------------------------------------------------------------------
def _why(exc: Exception) -> str:
    """Why a mapping was refused: the exception's reason as it was said."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, str) else str(exc)


def stored(reason: str) -> str:
    """A reason as the text of the attribute that keeps it on its element until the strict check reads it
    (`restored`): an attribute holds only text, so a said reason is kept as its template and parameters."""
    return json.dumps(as_json(reason))


def restored(text: str) -> str:
    """The reason `stored` kept (a text it did not write, as it is)."""
    try:
        reason = from_json(json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return text
    return reason if isinstance(reason, str) else text


implementations = service_implementations.implementations

__all__ = ["CAMUNDA_NS", "KINDS", "Operator", "OperatorMap", "implementations", "problems",
           "restored", "rewrite", "stored"]
