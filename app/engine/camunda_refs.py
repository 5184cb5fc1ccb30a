"""References to messages, signals, errors and escalations as Camunda 7 resolves them (issue 17).

Run by the import layer before the check of what a file names and does not hold (`references`), which
would otherwise refuse two kinds of file Camunda runs:

- a reference written as a qualified name whose prefix is the file's own namespace
  (`messageRef="tns:newInvoice"`, `xmlns:tns` the `targetNamespace`): it names the element `newInvoice`
  of this file, as BPMN's schema says; SpiffWorkflow looks the reference up as written and found none;
- an `errorRef` naming no `<error>` of the file: Camunda takes the reference itself as the error code
  (its parser: `error == null ? errorRef : error.getErrorCode()`, for error end, boundary and start
  events alike), so the end event that throws `myError` is caught by the boundary event that catches
  `myError`. The import defines the error the file leaves out, with that code;
- an `escalationRef` naming no `<escalation>` of the file, likewise: Flowable (and Activiti) take the
  reference as the escalation code, where Camunda 7 refuses the file.

A message or signal a file does not define stays refused: Camunda refuses it too.
"""
from __future__ import annotations

from lxml import etree

from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import BPMN_NS, new_element
from app.engine.xml import source_line as _line

_B = f"{{{BPMN_NS}}}"
_QUALIFIED = ("messageRef", "signalRef", "errorRef", "escalationRef")
_BEFORE_ROOT_ELEMENTS = frozenset({"documentation", "extensionElements", "import", "extension"})


def prepare(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Rewrite the file's own qualified references and define the errors and escalations it names and leaves
    out; the changes, as warnings."""
    return _own_namespace(root, filename) + _codes(root, filename, "error") + _codes(root, filename, "escalation")


def _own_namespace(root: etree._Element, filename: str) -> list[DiagramProblem]:
    own = root.get("targetNamespace")
    said_for: set[str] = set()
    changes = []
    for node in root.iter(etree.Element):
        for attribute in _QUALIFIED:
            value = (node.get(attribute) or "").strip()
            prefix, _, local = value.partition(":")
            if not local or not own or node.nsmap.get(prefix) != own:
                continue
            node.set(attribute, local)
            if value not in said_for:
                said_for.add(value)
                changes.append(DiagramProblem(filename, local, said(
                    "the reference %(written)r names the file's own namespace (%(prefix)s:); the import reads it as "
                    "%(local)r", written=value, prefix=prefix, local=local), _line(node), "warning"))
    return changes


def _codes(root: etree._Element, filename: str, kind: str) -> list[DiagramProblem]:
    """Define each `kind` (error, escalation) the file's event definitions name and it leaves out, the
    reference its code."""
    defined = {(e.get("id") or "").strip() for e in root.iter(f"{_B}{kind}")}
    changes = []
    for definition in root.iter(f"{_B}{kind}EventDefinition"):
        ref = (definition.get(f"{kind}Ref") or "").strip()
        if not ref or ref in defined:
            continue
        defined.add(ref)
        index = next((i for i, child in enumerate(root) if isinstance(child.tag, str)
                      and etree.QName(child).localname not in _BEFORE_ROOT_ELEMENTS), len(root))
        new_element(root, kind, index, **{"id": ref, "name": ref, f"{kind}Code": ref})
        changes.append(DiagramProblem(filename, ref, said(
            "the error %(ref)r is not defined in the file; as Camunda 7 does, the import takes %(ref)r as its error "
            "code", ref=ref) if kind == "error" else said(
            "the escalation %(ref)r is not defined in the file; as Flowable does, the import takes %(ref)r as its "
            "escalation code", ref=ref), _line(definition), "warning"))
    return changes
