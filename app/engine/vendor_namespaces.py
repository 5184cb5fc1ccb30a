"""Activiti's and Flowable's extensions, read as Camunda 7's (issue 17).

Camunda 7 began as a fork of Activiti 5 and kept its extensions under a namespace of its own:
`activiti:assignee` became `camunda:assignee`, with the same meaning, and Camunda 7 still reads a file in
Activiti's namespace. Flowable began as a fork of Activiti 6 and did the same under `flowable:`. Diagrams
drawn for them (the Activiti and Flowable modelers, Eclipse's designer, and the bpmn-js designers of the
admin systems that many teams in China run on Flowable) say who works a task, what it asks and which
code a service task calls in the words the import layer reads for Camunda. So, before anything else
reads the tree, `as_camunda` moves every element and attribute of those namespaces into Camunda's, and
every module of the import reads one namespace.

Where Activiti or Flowable name a thing otherwise, Camunda's name is written: `resultVariableName` is
`resultVariable`; an external worker task (`flowable:type="external-worker"`) is Camunda's external task
(`type="external"`, the same `topic`). An attribute Camunda does not have stays as it is named and is
said as one the import does not read (`camunda_process`), never dropped in silence. When a file writes
one attribute in both namespaces, Camunda's value wins: it is the one Camunda 7 runs.
"""
from __future__ import annotations

from lxml import etree

from app.engine.xml import CAMUNDA_NS

VENDORS = {"http://activiti.org/bpmn": "Activiti", "http://flowable.org/bpmn": "Flowable"}
# names Activiti or Flowable give what Camunda names otherwise
RENAMED = {"resultVariableName": "resultVariable"}
# values of an attribute, likewise
VALUES = {("type", "external-worker"): "external"}


def as_camunda(root: etree._Element) -> list[str]:
    """Rename every element and attribute of Activiti's or Flowable's namespace under `root` into
    Camunda's, in place; the names of the vendors whose extensions were found, in a stable order."""
    found: set[str] = set()
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        qname = etree.QName(node)
        if qname.namespace in VENDORS:
            found.add(VENDORS[qname.namespace])
            node.tag = f"{{{CAMUNDA_NS}}}{qname.localname}"
        for key in [k for k in node.attrib if k.startswith("{")]:
            attribute = etree.QName(key)
            if attribute.namespace not in VENDORS:
                continue
            found.add(VENDORS[attribute.namespace])
            value = node.attrib.pop(key)
            name = RENAMED.get(attribute.localname, attribute.localname)
            camunda = f"{{{CAMUNDA_NS}}}{name}"
            if camunda not in node.attrib:
                node.set(camunda, VALUES.get((name, value.strip()), value))
    return sorted(found)


__all__ = ["VENDORS", "as_camunda"]
