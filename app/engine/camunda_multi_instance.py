"""Multi-instance markers drawn for Camunda, in the form SpiffWorkflow runs, for the import layer.

BPMN says over what a multi-instance activity runs with `loopDataInputRef` and `inputDataItem`;
Camunda 7 says it with attributes on the marker, `camunda:collection` (a variable, or `${variable}`)
and `camunda:elementVariable`, and Camunda 8 with `zeebe:loopCharacteristics` (`inputCollection`,
`inputElement`, `outputCollection`, `outputElement`, FEEL after `=`). SpiffWorkflow reads only BPMN's
form and refuses the others ("A multiinstance task must specify a cardinality or a loop input data
reference"). `prepare(root, filename)` rewrites each marker and says so in a warning:

- the collection becomes `loopDataInputRef`, the element variable `inputDataItem` (Camunda's output
  collection and element, `loopDataOutputRef` and `outputDataItem`); one that is not a variable's
  name (`${order.items}`) is refused: Loanflow runs a multi-instance over a variable;
- Camunda keeps the element variable local to each instance: here each instance drops it as it ends
  (a post-script on the instance), so it does not leak into the process's data, where the next
  instance of a sequential loop would find it taken; the task's own pre- and post-scripts (its
  `camunda:inputOutput`) run on each instance, as Camunda runs input/output mappings per instance;
- `loopCardinality` and `completionCondition` written in JUEL or FEEL become Python; a completion
  condition may read Camunda's counters (`nrOfInstances`, `nrOfCompletedInstances`,
  `nrOfActiveInstances`, `loopCounter`), which the engine gives it (`mi_counters`); a cardinality that
  reads them, before any instance ran, is refused;
- a marker that says neither how many instances nor over what collection is refused naming the
  element (its marker is taken off so the file parses and the strict check can say so).

`problems(process, filename)` gives the strict check's errors for what was refused.
"""
from __future__ import annotations

import re

from lxml import etree

from app.engine import translate
from app.engine.camunda_services import restored, stored
from app.engine.errors import DiagramProblem
from app.engine.juel import ExpressionRefused
from app.engine.mi_counters import COUNTERS
from app.engine.said import parts, said
from app.engine.service_implementations import camunda_attribute
from app.engine.xml import BPMN_NS, CAMUNDA_NS, ZEEBE_NS, extension_elements
from app.engine.xml import source_line as _line

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_B, _Z, _S = f"{{{BPMN_NS}}}", f"{{{ZEEBE_NS}}}", f"{{{SPIFF_NS}}}"
_REFUSED = "{http://camunda.org/schema/1.0/bpmn}multiInstanceRefused"  # on the element: the reason (`stored`)
_CAMUNDA_ATTRIBUTES = ("collection", "elementVariable")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# what a name read from the marker is, as a reason says it
_WHAT = {"collection": said("collection"), "element variable": said("element variable"),
         "output collection": said("output collection"), "output element": said("output element")}


class _Refused(Exception):
    pass


def _variable(text: str, what: str) -> str:
    """The variable a collection or element names: `name`, `${name}` or FEEL's `=name`."""
    source = text.strip()
    python = source
    try:
        if source.startswith(("${", "#{", "=")):
            done = translate.condition(source)
            python = done.python if done is not None else source
    except ExpressionRefused as exc:
        raise _Refused(said("the %(what)s %(source)r cannot be read: %(why)s", what=_WHAT[what], source=source,
                            why=exc.reason)) from None
    if not _NAME.fullmatch(python):
        raise _Refused(said("the %(what)s %(source)r is an expression, not a variable: Loanflow runs a multi-instance "
                            "over a variable; set one to the collection before the task and name it here",
                            what=_WHAT[what], source=source))
    return python


def _child(marker: etree._Element, tag: str, text: str) -> None:
    node = etree.SubElement(marker, f"{_B}{tag}")
    node.text = text


def _item(marker: etree._Element, tag: str, name: str) -> None:
    etree.SubElement(marker, f"{_B}{tag}", id=name, name=name)


def _expression(marker: etree._Element, tag: str) -> str | None:
    """The marker's loopCardinality or completionCondition translated in place; what changed."""
    node = marker.find(f"{_B}{tag}")
    if node is None or not (node.text or "").strip():
        return None
    before = (node.text or "").strip()
    try:
        done = translate.condition(before, node.get("language"))
    except ExpressionRefused as exc:
        raise _Refused(said("the %(tag)s %(expression)r cannot run: %(why)s", tag=tag, expression=before,
                            why=exc.reason)) from None
    python = done.python if done is not None else before
    if tag == "loopCardinality":
        counters = [name for name in COUNTERS if re.search(rf"\b{name}\b", python)]
        if counters:  # read before any instance runs: there is nothing to count yet
            raise _Refused(said("the loopCardinality %(expression)r reads %(counters)s, which count the instances "
                                "it decides: write it on the process's data", expression=before,
                                counters=", ".join(counters)))
    if done is None:
        return None
    node.text = python
    node.attrib.pop("language", None)
    return said("the %(tag)s %(expression)r is %(language)s: %(python)r", tag=tag, expression=before,
                language=done.language, python=python)


def _forms(marker: etree._Element) -> tuple[str | None, str | None, str | None, str | None, str]:
    """(input collection, input element, output collection, output element, who wrote them)."""
    zeebe = marker.find(f"{_B}extensionElements/{_Z}loopCharacteristics")
    if zeebe is not None:
        return (zeebe.get("inputCollection"), zeebe.get("inputElement"), zeebe.get("outputCollection"),
                zeebe.get("outputElement"), "zeebe:loopCharacteristics")
    return (camunda_attribute(marker, "collection"), camunda_attribute(marker, "elementVariable"), None, None,
            "camunda:collection")


def _drop_element_variable(element: etree._Element, marker: etree._Element, name: str) -> None:
    """Each instance drops its element variable as it ends (Camunda keeps it local to the instance)."""
    drop = f"try:\n    del {name}\nexcept NameError:\n    pass"
    marker.set(f"{_S}scriptsOnInstances", "true")
    script = element.find(f"{_B}script") if etree.QName(element).localname == "scriptTask" else None
    if script is not None:  # SpiffWorkflow runs no post-script on a script task: its script drops it
        script.text = f"{script.text or ''}\n{drop}"
        return
    ext = extension_elements(element)
    post = ext.find(f"{_S}postScript")
    if post is None:
        post = etree.SubElement(ext, f"{_S}postScript")
    post.text = f"{post.text.strip()}\n{drop}" if (post.text or "").strip() else drop


def _keep_item_local(element: etree._Element, marker: etree._Element, translated: bool) -> list[str]:
    """The input data item dropped as each instance ends, where nothing collects the instances' output
    (else SpiffWorkflow merges each instance's data into the process's, the item with it). A marker
    drawn for SpiffWorkflow whose task runs its own pre- or post-script once, on the whole loop, is
    left as it is: running them on each instance would change what they mean."""
    item = marker.find(f"{_B}inputDataItem")
    # SpiffWorkflow's variable is the item's id (its name is a label)
    if item is None or marker.find(f"{_B}outputDataItem") is not None or not _NAME.fullmatch(item.get("id") or ""):
        return []
    on_instances = marker.get(f"{_S}scriptsOnInstances") == "true"
    own = element.find(f"{_B}extensionElements/{_S}preScript") is not None or element.find(
        f"{_B}extensionElements/{_S}postScript") is not None
    if not translated and own and not on_instances:
        return []
    name = item.get("id") or ""
    _drop_element_variable(element, marker, name)
    return [said("each instance drops its item %(name)s as it ends (local to the instance, as in BPMN and Camunda: "
                 "left in the process's data, the next instance of a sequential loop would find it taken)", name=name)]


def _rewrite(element: etree._Element, marker: etree._Element) -> list[str]:
    told: list[str] = []
    collection, item, output, output_item, who = _forms(marker)
    for tag in ("loopCardinality", "completionCondition"):
        change = _expression(marker, tag)
        if change:
            told.append(change)
    has_input = marker.find(f"{_B}loopDataInputRef") is not None
    has_cardinality = marker.find(f"{_B}loopCardinality") is not None
    if has_input and has_cardinality:
        raise _Refused(said("the marker gives both a loop cardinality and a loopDataInputRef: a multi-instance runs "
                            "either a number of times or once per item of a collection; keep one of them"))
    if collection is not None and has_cardinality:
        raise _Refused(said("the marker gives both a loop cardinality and a collection (%(who)s %(collection)r): "
                            "Camunda then counts the instances by the cardinality and takes each one's item from the "
                            "collection by its index, which Loanflow does not do; keep one of them", who=who,
                            collection=collection))
    if collection is not None and has_input:
        raise _Refused(said("the marker gives both a loopDataInputRef and a collection (%(who)s %(collection)r): keep "
                            "one", who=who, collection=collection))
    if collection is not None:
        variable = _variable(collection, "collection")
        _child(marker, "loopDataInputRef", variable)
        change = said("%(who)s %(collection)r -> one instance per item of %(variable)s (loopDataInputRef)", who=who,
                      collection=collection, variable=variable)
        if item and marker.find(f"{_B}inputDataItem") is None:
            name = _variable(item, "element variable")
            _item(marker, "inputDataItem", name)
            change = said("%(who)s %(collection)r -> one instance per item of %(variable)s (loopDataInputRef), each "
                          "holding its item as %(name)s (inputDataItem)", who=who, collection=collection,
                          variable=variable, name=name)
        told.append(change)
        has_input = True
    if output and output_item and marker.find(f"{_B}loopDataOutputRef") is None:
        collected, name = _variable(output, "output collection"), _variable(output_item, "output element")
        _child(marker, "loopDataOutputRef", collected)
        _item(marker, "outputDataItem", name)
        told.append(said("%(who)s output %(output)r -> each instance's %(name)s collected into %(collected)s "
                         "(loopDataOutputRef, outputDataItem)", who=who, output=output, name=name, collected=collected))
    if not has_input and not has_cardinality:
        raise _Refused(said("the multi-instance marker says neither how many instances to run nor over which "
                            "collection: give it a loop cardinality, or a collection and an element variable"))
    for name in _CAMUNDA_ATTRIBUTES:
        marker.attrib.pop(f"{{{CAMUNDA_NS}}}{name}", None)
    zeebe = marker.find(f"{_B}extensionElements")
    if zeebe is not None and zeebe.find(f"{_Z}loopCharacteristics") is not None:
        marker.remove(zeebe)
    translated = collection is not None or output is not None
    if translated:  # Camunda runs a task's input/output mappings on each instance
        marker.set(f"{_S}scriptsOnInstances", "true")
    told += _keep_item_local(element, marker, translated)
    # BPMN's order inside the marker: loopCardinality, loopDataInputRef, loopDataOutputRef,
    # inputDataItem, outputDataItem, complexBehaviorDefinition, completionCondition
    order = ("loopCardinality", "loopDataInputRef", "loopDataOutputRef", "inputDataItem", "outputDataItem")
    children = sorted((c for c in marker if isinstance(c.tag, str)),
                      key=lambda c: order.index(etree.QName(c).localname) if etree.QName(c).localname in order
                      else len(order))
    for child in children:
        marker.append(child)
    return told


def prepare(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Every multi-instance marker in BPMN's form (see the module); the warnings."""
    changes: list[DiagramProblem] = []
    for marker in list(root.iter(f"{_B}multiInstanceLoopCharacteristics")):
        element = marker.getparent()
        if element is None:
            continue
        try:
            told = _rewrite(element, marker)
        except _Refused as exc:
            element.set(_REFUSED, stored(exc.args[0]))
            element.remove(marker)  # so the file parses; the strict check names the element
            continue
        if told:
            changes.append(DiagramProblem(filename, element.get("id"),
                                          said("multi-instance: %(changes)s", changes=parts(told, "; ")),
                                          _line(marker), "warning"))
    return changes


def problems(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """The strict check's errors: multi-instance markers that cannot run as drawn."""
    return [DiagramProblem(filename, node.get("id"),
                           said("the multi-instance cannot run: %(why)s", why=restored(node.get(_REFUSED) or "")),
                           _line(node))
            for node in process.iter() if isinstance(node.tag, str) and node.get(_REFUSED) is not None]


__all__ = ["prepare", "problems"]
