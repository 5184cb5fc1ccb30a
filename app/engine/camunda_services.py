"""Camunda 7 service implementations and input/output mappings, for the import layer.

A Camunda diagram names the code behind a service task by a Java class (`camunda:class`), a bean
(`camunda:delegateExpression`), an expression (`camunda:expression`) or an external task's topic
(`camunda:type="external" camunda:topic="..."`); send tasks, business-rule tasks and message
throw and end events (on their `messageEventDefinition`) may carry the same. None of that code
exists here: an admin maps each implementation to one of Loanflow's registered operators (the
mapping table, read by the deployment service and passed in as a plain mapping, since the engine
reads no database):

- `rewrite(root, filename, mapping)`: a mapped implementation becomes our service task form
  (`spiffworkflow:serviceTaskOperator` with the mapping's parameters, `camunda:resultVariable` kept
  as the result variable); a message throw or end event carrying one becomes a service task (an end
  event is followed by a plain end event of its own). Each change is a warning. An unmapped one is
  left to `problems`: its element becomes a task that does nothing, so the file parses and the
  strict check can name it (it is never deployed so).
- `camunda:inputOutput` on a task: input parameters are assigned before the task runs (a pre-script),
  output parameters after it (a post-script), each value translated (text, `${...}` JUEL, a text
  with `${...}` in it, `camunda:list`, `camunda:map`); a variable set by an input stays in the
  instance's data after the task (Camunda keeps it local to the task). What cannot be translated
  (a `camunda:script`, a name that is no variable name, JUEL the translator refuses, a mapping on
  an event) stays, and `problems` names the element and why.
"""
from __future__ import annotations

import keyword
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from lxml import etree

from app.engine.errors import DiagramProblem
from app.engine.juel import ExpressionRefused, is_juel, juel_text
from app.engine.xml import BPMN_NS

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ACTIVITI_NS = "http://activiti.org/bpmn"  # what Camunda 7 wrote before its own namespace (same attributes)
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_B, _C, _S = f"{{{BPMN_NS}}}", f"{{{CAMUNDA_NS}}}", f"{{{SPIFF_NS}}}"
KINDS = ("class", "delegateExpression", "expression", "topic")
_TASKS = ("serviceTask", "sendTask", "businessRuleTask")
_EVENTS = ("intermediateThrowEvent", "endEvent")
_UNMAPPED = f"{_C}unmappedImplementation"  # set on an unmapped element: "kind value", for `problems`
_IO_REFUSED = f"{_C}inputOutputRefused"  # set on an element whose mappings stay: the reason
# elements whose pre- and post-scripts SpiffWorkflow runs (its task parsers read them)
_SCRIPTED = frozenset({"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
                       "businessRuleTask", "callActivity", "subProcess", "transaction"})


@dataclass(frozen=True)
class Operator:
    """What an admin mapped an implementation to: a registered operator and its parameters (name ->
    Python expression on the task's data)."""

    operator: str
    parameters: Mapping[str, str] = field(default_factory=dict)


OperatorMap = Mapping[tuple[str, str], Operator]  # (kind, value) -> operator


def _line(node: etree._Element) -> int | None:
    return node.sourceline if isinstance(node.sourceline, int) else None


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _attr(node: etree._Element, name: str) -> str | None:
    value = node.get(f"{_C}{name}")
    return node.get(f"{{{ACTIVITI_NS}}}{name}") if value is None else value


def implementation(node: etree._Element) -> tuple[str, str] | None:
    """The (kind, value) of the Camunda implementation `node` carries, None without one. An external
    task without a topic is ("topic", "")."""
    if _attr(node, "type") == "external":
        return "topic", (_attr(node, "topic") or "").strip()
    for kind in ("class", "delegateExpression", "expression"):
        value = _attr(node, kind)
        if value is not None:
            return kind, value.strip()
    return None


def _carriers(root: etree._Element) -> Iterator[tuple[etree._Element, etree._Element]]:
    """(element, the node holding the implementation's attributes) for each implementation under root."""
    for kind in _TASKS:
        for node in list(root.iter(f"{_B}{kind}")):
            if implementation(node) is not None:
                yield node, node
    for kind in _EVENTS:
        for node in list(root.iter(f"{_B}{kind}")):
            for definition in node.findall(f"{_B}messageEventDefinition"):
                if implementation(definition) is not None:
                    yield node, definition
                    break


def implementations(root: etree._Element) -> list[tuple[str, str]]:
    """Every Camunda implementation the diagram names, in order, each once."""
    found: dict[tuple[str, str], None] = {}
    for _element, carrier in _carriers(root):
        key = implementation(carrier)
        if key is not None:
            found[key] = None
    return list(found)


def _strip(carrier: etree._Element) -> None:
    for name in (*KINDS, "type", "resultVariable", "taskPriority"):
        carrier.attrib.pop(f"{_C}{name}", None)
        carrier.attrib.pop(f"{{{ACTIVITI_NS}}}{name}", None)


def _extensions(element: etree._Element) -> etree._Element:
    ext = element.find(f"{_B}extensionElements")
    if ext is None:
        ext = etree.Element(f"{_B}extensionElements")
        element.insert(0, ext)
        for doc in element.findall(f"{_B}documentation"):  # documentation comes first in BPMN's order
            element.remove(doc)
            element.insert(0, doc)
    return ext


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


def _describe(key: tuple[str, str]) -> str:
    kind, value = key
    return f"external task topic {value!r}" if kind == "topic" else f"camunda:{kind} {value!r}"


def rewrite(root: etree._Element, filename: str, mapping: OperatorMap | None) -> list[DiagramProblem]:
    """Service implementations and input/output mappings rewritten (see the module); the warnings."""
    changes: list[DiagramProblem] = []
    taken = set(root.xpath("//@id"))
    for element, carrier in list(_carriers(root)):
        key = implementation(carrier)
        assert key is not None
        chosen = (mapping or {}).get(key)
        what = _local(element)
        if chosen is None:
            element.set(_UNMAPPED, f"{key[0]} {key[1]}")
            _strip(carrier)
            _retag(element, "task" if what in _TASKS or what == "intermediateThrowEvent" else what)
            continue
        result = _attr(carrier, "resultVariable") or _attr(element, "resultVariable")
        _strip(carrier)
        _strip(element)
        note = ""
        if what == "endEvent":
            note = f"; the end event is now a service task followed by the end event {_follow_with_end(element, taken)}"
        _retag(element, "serviceTask")
        ext = _extensions(element)
        for old in ext.findall(f"{_S}serviceTaskOperator"):
            ext.remove(old)
        operator = etree.SubElement(ext, f"{_S}serviceTaskOperator", id=chosen.operator)
        if result:
            operator.set("resultVariable", result)
        if chosen.parameters:
            holder = etree.SubElement(operator, f"{_S}parameters")
            for name, value in chosen.parameters.items():
                etree.SubElement(holder, f"{_S}parameter", id=name, type="any", value=value)
        was = "" if what == "serviceTask" else f" (the {what} is now a service task)"
        changes.append(DiagramProblem(
            filename, element.get("id"), f"{_describe(key)} -> operator {chosen.operator!r}{was}{note}",
            _line(element), "warning"))
    changes += _input_output(root, filename)
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
                raise _Untranslatable(f"{text!r}: {exc.reason}") from None
        return repr(text)
    if len(children) > 1:
        raise _Untranslatable("it holds more than one value")
    child = children[0]
    kind = _local(child)
    if child.tag == f"{_C}list":
        return "[" + ", ".join(_value(item) for item in child if isinstance(item.tag, str)) + "]"
    if child.tag == f"{_C}map":
        entries = []
        for entry in (e for e in child if isinstance(e.tag, str)):
            if entry.tag != f"{_C}entry" or entry.get("key") is None:
                raise _Untranslatable("a camunda:map entry without a key")
            entries.append(f"{entry.get('key')!r}: {_value(entry)}")
        return "{" + ", ".join(entries) + "}"
    if child.tag == f"{_C}script":
        language = child.get("scriptFormat") or "a script language"
        raise _Untranslatable(f"its value is a {language} script, which Loanflow does not run")
    raise _Untranslatable(f"its value is a {kind}, which the import does not read")


def _assignments(mapping: etree._Element, kind: str) -> list[str]:
    lines = []
    for parameter in mapping.findall(f"{_C}{kind}"):
        name = (parameter.get("name") or "").strip()
        if not name.isidentifier() or keyword.iskeyword(name):
            raise _Untranslatable(f"the {kind} {name!r} is not a variable name Loanflow can set")
        try:
            lines.append(f"{name} = {_value(parameter)}")
        except _Untranslatable as exc:
            raise _Untranslatable(f"the {kind} {name!r}: {exc}") from None
    return lines


def _add_script(ext: etree._Element, tag: str, lines: list[str], first: bool) -> None:
    existing = ext.find(f"{_S}{tag}")
    if existing is None:
        existing = etree.SubElement(ext, f"{_S}{tag}")
        existing.text = ""
    own = (existing.text or "").strip()
    joined = "\n".join(lines)
    existing.text = (f"{joined}\n{own}" if first else f"{own}\n{joined}").strip() if own else joined


def _input_output(root: etree._Element, filename: str) -> list[DiagramProblem]:
    changes: list[DiagramProblem] = []
    for mapping in list(root.iter(f"{_C}inputOutput")):
        ext = mapping.getparent()
        element = ext.getparent() if ext is not None else None
        if ext is None or element is None or ext.tag != f"{_B}extensionElements":
            continue  # a connector's own parameters: not the task's data
        try:
            if _local(element) not in _SCRIPTED:
                raise _Untranslatable(f"input/output mappings on a {_local(element)} are not supported; "
                                      "move them to a task")
            inputs = _assignments(mapping, "inputParameter")
            outputs = _assignments(mapping, "outputParameter")
        except _Untranslatable as exc:
            element.set(_IO_REFUSED, str(exc))
            continue
        if inputs:
            _add_script(ext, "preScript", inputs, first=True)
        if outputs:
            _add_script(ext, "postScript", outputs, first=False)
        ext.remove(mapping)
        said = "; ".join(part for part in (
            f"inputs set before it runs: {', '.join(inputs)}" if inputs else "",
            f"outputs set after it: {', '.join(outputs)}" if outputs else "") if part)
        changes.append(DiagramProblem(
            filename, element.get("id"), f"camunda:inputOutput -> {said or 'nothing to set'}"
            + ("; inputs stay in the instance's data after the task" if inputs else ""), _line(mapping), "warning"))
    return changes


def problems(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """The strict check's errors: implementations no admin has mapped, mappings not translated."""
    found: list[DiagramProblem] = []
    for node in process.iter():
        if not isinstance(node.tag, str):
            continue
        unmapped = node.get(_UNMAPPED)
        if unmapped is not None:
            kind, _, value = unmapped.partition(" ")
            if kind == "topic" and not value:
                reason = "the external task names no topic: give it one, and an admin maps the topic to an operator"
            else:
                reason = (f"{_describe((kind, value))} is mapped to no operator: an admin maps it to a registered "
                          "operator (Administration > Operator mappings, or flask processes map-operator "
                          f"{kind} '{value}' OPERATOR), then deploy again")
            found.append(DiagramProblem(filename, node.get("id"), reason, _line(node)))
        refused = node.get(_IO_REFUSED)
        if refused is not None:
            found.append(DiagramProblem(filename, node.get("id"), f"camunda:inputOutput cannot run: {refused}",
                                        _line(node)))
    return found


__all__ = ["CAMUNDA_NS", "KINDS", "Operator", "OperatorMap", "implementation", "implementations", "problems",
           "rewrite"]
