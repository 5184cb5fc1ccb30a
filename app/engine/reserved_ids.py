"""Element ids SpiffWorkflow keeps for its own task specs, and the ids such elements run under.

SpiffWorkflow names the task specs it adds to every (sub)process `Start`, `End`, `StartEventSplit`,
`StartEventJoin` and `<scope>.EndJoin`, and those it adds around a boundary event
`<activity>.BoundaryEventSplit` and `<activity>.BoundaryEventJoin`, in the same table as the diagram's
elements, by id. A start event drawn with the id `Start` (Camunda's own tests have them) took the place of
SpiffWorkflow's: the process could not start ("No output task connected"); an end event `End` would end
nothing. Camunda runs such a diagram, so the import does too: each flow element whose id is one of those
names runs under the first free id after it (`Start_2`), every reference in the file following.

`renamed(root)` is deterministic on a file's own ids: the import layer calls it first, before it adds
any element, and the pages that name an instance's elements (`diagram_elements`) call it on the file
as deployed, so history and diagram use the ids the instance ran under. It reads and changes plain
ElementTree as well as lxml trees.
"""
from __future__ import annotations

from typing import Any

from app.engine.xml import BPMN_NS
from app.engine.xml import unique_id as _unique

RESERVED = frozenset({"Start", "End", "StartEventSplit", "StartEventJoin"})
RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin")
# Where a file names a flow element by its id: these attributes, and the text of these elements
_REF_ATTRIBUTES = frozenset({"sourceRef", "targetRef", "attachedToRef", "default", "bpmnElement", "activityRef"})
_REF_TEXTS = frozenset({"incoming", "outgoing", "flowNodeRef"})
# What is not a flow element (its id names no task spec): containers and definitions
_NOT_FLOW = frozenset({"process", "laneSet", "lane", "collaboration", "participant", "messageFlow", "message",
                       "signal", "error", "escalation", "dataObject", "dataObjectReference", "dataStore",
                       "dataStoreReference", "textAnnotation", "association", "category", "categoryValue",
                       "group", "itemDefinition", "interface", "operation", "definitions", "extensionElements"})


def reserved(element_id: str) -> bool:
    """Whether SpiffWorkflow names one of its own task specs `element_id`."""
    return element_id in RESERVED or element_id.endswith(RESERVED_SUFFIXES)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def renamed(root: Any) -> list[tuple[Any, str, str]]:
    """Give each flow element of a process whose id is reserved the first free id after it, and change
    every reference to it; `(element, old id, new id)` for each, in document order."""
    flow = [node for process in root.iter(f"{{{BPMN_NS}}}process") for node in process.iter()
            if node is not process and isinstance(node.tag, str) and node.tag.startswith(f"{{{BPMN_NS}}}")
            and _local(node.tag) not in _NOT_FLOW and reserved(node.get("id") or "")]
    if not flow:
        return []
    taken = {node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    new_ids: dict[str, str] = {}
    done = []
    for node in flow:
        old = node.get("id") or ""
        new_ids[old] = new_ids.get(old) or _unique(old, taken)
        node.set("id", new_ids[old])
        done.append((node, old, new_ids[old]))
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attribute, value in list(node.attrib.items()):
            if _local(attribute) in _REF_ATTRIBUTES and value in new_ids:
                node.set(attribute, new_ids[value])
        if _local(node.tag) in _REF_TEXTS and (node.text or "").strip() in new_ids:
            node.text = new_ids[(node.text or "").strip()]
    return done
