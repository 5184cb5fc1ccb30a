"""Steps the import layer draws on a diagram's path: before an element, after it, or on a flow.

Camunda runs some work beside an element — a listener (`camunda_listeners`), an intermediate event's
input/output mapping (`camunda_services`) — where Loanflow runs only what is on the path. The import draws
that work as a step of the path at the moment it happens; these place it, rewiring the flows of `scope`
(the process or sub-process that holds the element) and giving each new flow an id no element has
(`taken`).
"""
from __future__ import annotations

from lxml import etree

from app.engine.xml import BPMN_NS
from app.engine.xml import unique_id as _unique

_B = f"{{{BPMN_NS}}}"


def flow(scope: etree._Element, source: str, target: str, taken: set[str]) -> etree._Element:
    """A new sequence flow from `source` to `target`."""
    return etree.SubElement(scope, f"{_B}sequenceFlow", id=_unique(f"Flow_{source}_{target}", taken),
                            sourceRef=source, targetRef=target)


def flows(scope: etree._Element) -> list[etree._Element]:
    """The sequence flows drawn directly in `scope`."""
    return [c for c in scope if isinstance(c.tag, str) and etree.QName(c).localname == "sequenceFlow"]


def before(scope: etree._Element, node_id: str, step: etree._Element, taken: set[str]) -> None:
    """Every flow into `node_id` now goes into `step`, which leads to it."""
    for each in flows(scope):
        if each.get("targetRef") == node_id:
            each.set("targetRef", step.get("id") or "")
    flow(scope, step.get("id") or "", node_id, taken)


def after(scope: etree._Element, node: etree._Element, step: etree._Element, taken: set[str]) -> None:
    """Every flow out of `node` now leaves `step`, which `node` leads to (its default flow too)."""
    node_id, step_id = node.get("id") or "", step.get("id") or ""
    for each in flows(scope):
        if each.get("sourceRef") == node_id:
            each.set("sourceRef", step_id)
    if node.get("default"):  # the default flow leaves from the step now
        step.set("default", node.attrib.pop("default"))
    flow(scope, node_id, step_id, taken)


def on_flow(scope: etree._Element, flow_node: etree._Element, step: etree._Element, taken: set[str]) -> None:
    """`flow_node` now leads to `step`, which leads where it led (its condition and id stay)."""
    target = flow_node.get("targetRef") or ""
    flow_node.set("targetRef", step.get("id") or "")
    flow(scope, step.get("id") or "", target, taken)


__all__ = ["after", "before", "flow", "flows", "on_flow"]
