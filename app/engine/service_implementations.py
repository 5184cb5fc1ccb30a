"""Which implementation a service-like element names: the keys of the operator mapping table.

A service task (and a send task, a business-rule task, a message throw or end event that does
work) runs code the diagram only names. The names an admin maps to one of Loanflow's operators
(`camunda_services.rewrite` applies the mapping) are, by kind:

- `class`, `delegateExpression`, `expression`: the Camunda 7 attributes (or Activiti's and Flowable's, read
  as Camunda's, `vendor_namespaces`), on the element or on its `messageEventDefinition`;
- `topic`: a Camunda 7 external task's topic (`camunda:type="external"`);
- `connector`: a Camunda 7 connector's `camunda:connectorId` (its `camunda:inputOutput` holds the
  connector's parameters);
- `job`: a Camunda 8 job type (`zeebe:taskDefinition type`), also on a script task (Camunda 8 runs one by a
  job worker when it has no `zeebe:script`);
- `task`: none of these — a service task drawn in a tool that says nothing about its code (Bizagi,
  Signavio, Bonita, IBM, a bare bpmn.io task), a send task with no message, a business-rule task
  with no decision. It is keyed by its name, whitespace collapsed ("Get credit score"), its id when
  unnamed: what an analyst knows the step by.

A service task that already names a Loanflow operator (`spiffworkflow:serviceTaskOperator`), a send
task with a message and a business-rule task with a decision are not implementations to map.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from app.engine.element_kinds import label_of
from app.engine.said import said
from app.engine.xml import BPMN_NS, CAMUNDA_NS, ZEEBE_NS

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_B, _C, _Z, _S = f"{{{BPMN_NS}}}", f"{{{CAMUNDA_NS}}}", f"{{{ZEEBE_NS}}}", f"{{{SPIFF_NS}}}"
KINDS = ("class", "delegateExpression", "expression", "topic", "connector", "job", "task")
TASKS = ("serviceTask", "sendTask", "businessRuleTask")
EVENTS = ("intermediateThrowEvent", "endEvent")
_ATTRIBUTE_KINDS = ("class", "delegateExpression", "expression")


@dataclass(frozen=True)
class Found:
    """An element naming an implementation: `carrier` holds what names it (the element, or its
    messageEventDefinition for Camunda 7's attributes on a message event), `key` is (kind, value)."""

    element: etree._Element
    carrier: etree._Element
    key: tuple[str, str]


def camunda_attribute(node: etree._Element, name: str) -> str | None:
    return node.get(f"{_C}{name}")


def _extension(element: etree._Element, tag: str) -> etree._Element | None:
    ext = element.find(f"{_B}extensionElements")
    return None if ext is None else ext.find(tag)


def connector(element: etree._Element) -> etree._Element | None:
    """The element's camunda:connector, None without one."""
    return _extension(element, f"{_C}connector")


def task_definition(element: etree._Element) -> etree._Element | None:
    """The element's zeebe:taskDefinition, None without one."""
    return _extension(element, f"{_Z}taskDefinition")


def attribute_implementation(node: etree._Element) -> tuple[str, str] | None:
    """The (kind, value) of the Camunda 7 attributes `node` carries, None without them. An external
    task without a topic is ("topic", "")."""
    if camunda_attribute(node, "type") == "external":
        return "topic", (camunda_attribute(node, "topic") or "").strip()
    for kind in _ATTRIBUTE_KINDS:
        value = camunda_attribute(node, kind)
        if value is not None:
            return kind, value.strip()
    return None


def task_name(element: etree._Element) -> str:
    """What a `task` implementation is keyed by: the name, whitespace collapsed, else the id."""
    return " ".join((element.get("name") or "").split()) or (element.get("id") or "")


def _says_no_implementation(element: etree._Element) -> bool:
    what = etree.QName(element).localname
    if what == "serviceTask":
        return _extension(element, f"{_S}serviceTaskOperator") is None
    if what == "sendTask":
        return not element.get("messageRef")
    # a business-rule task: a decision named in any of the ways a tool writes it is no implementation to map
    return (camunda_attribute(element, "decisionRef") is None and _extension(element, f"{_S}calledDecisionId") is None
            and _extension(element, f"{_Z}calledDecision") is None)


def _of_task(element: etree._Element) -> Found | None:
    key = attribute_implementation(element)
    if key is None and (node := connector(element)) is not None:
        key = "connector", (node.findtext(f"{_C}connectorId") or "").strip()
    if key is None and (node := task_definition(element)) is not None:
        key = "job", (node.get("type") or "").strip()
    if key is None and _says_no_implementation(element):
        key = "task", task_name(element)
    return None if key is None else Found(element, element, key)


def _of_event(element: etree._Element) -> Found | None:
    definitions = element.findall(f"{_B}messageEventDefinition")
    for definition in definitions:
        key = attribute_implementation(definition)
        if key is not None:
            return Found(element, definition, key)
    node = task_definition(element)
    if definitions and node is not None:
        return Found(element, element, ("job", (node.get("type") or "").strip()))
    return None


def found(root: etree._Element) -> Iterator[Found]:
    """Every element under root that names an implementation to map (see the module)."""
    for kind in TASKS:
        for element in list(root.iter(f"{_B}{kind}")):
            hit = _of_task(element)
            if hit is not None:
                yield hit
    for element in list(root.iter(f"{_B}scriptTask")):  # Camunda 8 runs a script task by a job worker too
        node = task_definition(element)
        if node is not None and _extension(element, f"{_Z}script") is None:
            yield Found(element, element, ("job", (node.get("type") or "").strip()))
    for kind in EVENTS:
        for element in list(root.iter(f"{_B}{kind}")):
            hit = _of_event(element)
            if hit is not None:
                yield hit


def implementations(root: etree._Element) -> list[tuple[str, str]]:
    """Every implementation the diagram names, in order, each once (its listeners' too)."""
    from app.engine.camunda_listeners import listener_implementations

    return list(dict.fromkeys([*(hit.key for hit in found(root)), *listener_implementations(root)]))


def describe(key: tuple[str, str], element: str = "serviceTask") -> str:
    """How a reason names an implementation."""
    kind, value = key
    if kind == "topic":
        return said("external task topic %(value)r", value=value)
    if kind == "connector":
        return said("camunda:connector %(value)r", value=value)
    if kind == "job":
        return said("zeebe:taskDefinition type %(value)r", value=value)
    if kind == "task":
        return said("the %(element)s %(value)r, which names no implementation,", element=label_of(element),
                    value=value)
    return said("camunda:%(kind)s %(value)r", kind=kind, value=value)


def strip(found: Found) -> None:
    """Remove what named the implementation (a mapped one is our service task form now)."""
    for node in {found.carrier, found.element}:
        for name in (*_ATTRIBUTE_KINDS, "type", "topic", "resultVariable", "taskPriority"):
            node.attrib.pop(f"{_C}{name}", None)
    ext = found.element.find(f"{_B}extensionElements")
    if ext is not None:
        for node in (connector(found.element), task_definition(found.element)):
            if node is not None:
                ext.remove(node)


__all__ = ["CAMUNDA_NS", "KINDS", "Found", "attribute_implementation", "camunda_attribute", "connector",
           "describe", "found", "implementations", "strip", "task_definition", "task_name"]
