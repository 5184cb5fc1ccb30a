"""A deployed version's diagram as the instance pages read it: each element's kind and name in every
language, and the file as a reader may be shown it — names in the reader's language, and for a party
without the scripts' internals (scripts, conditions, properties, expressions, documentation).
Read from the file as deployed (never changed), parsed once per version and kept in memory."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select

from app.engine import reserved_ids
from app.extensions import db
from app.models import Deployment, ProcessVersion
from app.services.context import in_language
from app.services.identity.grants import LANE_NAMES, N_

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
NAMESPACES = {"bpmn": BPMN[1:-1], "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
              "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI",
              "spiffworkflow": SPIFF[1:-1]}
for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)
SYSTEM_LANE = N_("The platform's automatic steps")  # the lane named `system`: no person works it
# Where an instance can wait: the "waits at" filter offers these (and any element can fail).
WAITING_KINDS = frozenset({"userTask", "manualTask", "receiveTask", "intermediateCatchEvent", "boundaryEvent",
                           "eventBasedGateway"})
NOT_ELEMENTS = frozenset({"process", "laneSet", "lane", "incoming", "outgoing", "extensionElements",
                          "sequenceFlow", "messageFlow", "association", "textAnnotation"})
# What a party is not shown: the scripts' internals, kept for the platform's staff.
INTERNALS = frozenset({"script", "conditionExpression", "extensionElements", "documentation", "timeDuration",
                       "timeDate", "timeCycle", "ioSpecification", "dataInputAssociation", "dataOutputAssociation",
                       "multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "dataObject",
                       "dataObjectReference", "dataStoreReference", "textAnnotation", "association"})
KEPT_ATTRIBUTES = frozenset({"id", "name", "sourceRef", "targetRef", "attachedToRef", "cancelActivity",
                             "isExecutable", "bpmnElement", "isHorizontal", "isExpanded", "isMarkerVisible",
                             "x", "y", "width", "height", "processRef", "default", "messageRef",
                             "parallelMultiple", "eventGatewayType", "instantiate", "triggeredByEvent",
                             "calledElement", "gatewayDirection", "targetNamespace", "errorRef", "signalRef",
                             "escalationRef"})


@dataclass(frozen=True)
class Element:
    kind: str  # the BPMN tag: userTask, intermediateCatchEvent, …
    names: dict[str, str]  # language -> name ("en": the name attribute, "zh": its name@zh property)
    timer: bool = False  # it has a timer event definition
    message: bool = False  # it catches a message
    calls: str | None = None  # a call activity: the id of the process it calls

    def name(self, language: str) -> str | None:
        return self.names.get(language) or self.names.get("en")

    def named(self, element_id: str, language: str) -> Named:
        if self.names.get(language):
            return Named(element_id, self.names[language], None)
        return Named(element_id, self.names["en"], "en") if self.names.get("en") else Named(element_id, element_id, "code")


@dataclass(frozen=True)
class Named:
    """An element as a page names it: in the reader's language (lang None), in English ("en"), or by its id
    when it has no name ("code": shown translate="no")."""

    element_id: str
    text: str
    lang: str | None


def named(known: dict[str, Element], element_id: str, language: str) -> Named:
    element = known.get(element_id)
    return element.named(element_id, language) if element else Named(element_id, element_id, "code")


def elements_with_called(version_id: int, content_hash: str, pins: dict[str, int] | None) -> dict[str, Element]:
    """A version's elements, and those of the processes it calls as pinned for one instance (a task of a
    called process waits in its caller's instance); the version's own win."""
    found: dict[str, Element] = {}
    if pins:
        hashes = dict(db.session.execute(select(ProcessVersion.id, ProcessVersion.content_hash).where(
            ProcessVersion.id.in_(sorted(set(pins.values()))))).all())
        for pinned, pinned_hash in hashes.items():
            found.update(elements(pinned, pinned_hash))
    found.update(elements(version_id, content_hash))
    return found


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@lru_cache(maxsize=256)
def _source(version_id: int, content_hash: str) -> bytes:  # the hash keys the cache (a test's fresh database)
    return bytes(db.session.execute(select(Deployment.source).join(
        ProcessVersion, ProcessVersion.deployment_id == Deployment.id).where(
        ProcessVersion.id == version_id)).scalar_one())


def _as_run(source: bytes) -> ET.Element:
    """The file with the ids its instances ran under (an element named as SpiffWorkflow names its own
    task specs runs under another, `reserved_ids`)."""
    root = ET.fromstring(source)
    reserved_ids.renamed(root)
    return root


@lru_cache(maxsize=256)
def elements(version_id: int, content_hash: str) -> dict[str, Element]:
    """Every flow element of a version's file by id (every process in the file, subprocesses too);
    `content_hash`: the version's, which keys the cache."""
    found: dict[str, Element] = {}
    root = _as_run(_source(version_id, content_hash))
    for process in root.iter(f"{BPMN}process"):
        for node in process.iter():
            kind = _local(node.tag)
            if not node.tag.startswith(BPMN) or kind in NOT_ELEMENTS or not node.get("id"):
                continue
            names: dict[str, str] = {"en": node.get("name", "")} if node.get("name") else {}
            for prop in node.iter(f"{SPIFF}property"):
                if (prop.get("name") or "").startswith("name@") and prop.get("value"):
                    names[prop.get("name", "")[5:]] = prop.get("value", "")
            found[node.get("id", "")] = Element(
                kind, names, timer=node.find(f"{BPMN}timerEventDefinition") is not None,
                message=node.find(f"{BPMN}messageEventDefinition") is not None or kind == "receiveTask",
                calls=(node.get("calledElement") or None) if kind == "callActivity" else None)
    return found


def with_called(version_id: int, content_hash: str, newest: dict[str, tuple[int, str]]) -> dict[str, Element]:
    """A version's elements and those of every process it calls, directly or through the processes it calls, each in
    its newest version (`newest`: process id -> (version id, content hash)): a task of a called process waits in its
    caller's instance. The version's own elements win over a called one's of the same id."""
    found = dict(elements(version_id, content_hash))
    seen: set[str] = set()
    calling = [e.calls for e in found.values() if e.calls]
    while calling:
        process_id = calling.pop()
        if process_id in seen or process_id not in newest:
            continue  # called twice, or an expression / a process not deployed
        seen.add(process_id)
        for element_id, element in elements(*newest[process_id]).items():
            found.setdefault(element_id, element)
            if element.calls:
                calling.append(element.calls)
    return found


def _own_name(node: ET.Element, language: str) -> str | None:
    """A node's own `name@<language>` property (a flow's label, a process's name), if it has one."""
    own = node.find(f"{BPMN}extensionElements")
    for prop in own.iter(f"{SPIFF}property") if own is not None else ():
        if prop.get("name") == f"name@{language}" and prop.get("value"):
            return prop.get("value")
    return None


def _lane_name(role: str, language: str) -> str | None:
    """A lane as a reader calls it: the role it names (`first_reviewer`), or the platform's automatic steps."""
    label = LANE_NAMES.get(role) or (SYSTEM_LANE if role == "system" else None)
    return in_language(label, language) if label else None


@lru_cache(maxsize=512)
def shown_source(version_id: int, content_hash: str, language: str, internals: bool) -> bytes:
    """The version's file with each element's name in `language` — its flows' labels, its lanes (the roles they
    name) and its pools (their processes' names) too; without the scripts' internals unless `internals` (the
    platform's staff)."""
    root = _as_run(_source(version_id, content_hash))
    known = elements(version_id, content_hash)
    processes = {node.get("id"): node for node in root.iter(f"{BPMN}process")}
    for node in list(root.iter()):
        element = known.get(node.get("id") or "")
        kind = _local(node.tag) if isinstance(node.tag, str) else ""
        if element is not None and element.name(language):
            node.set("name", element.name(language) or "")
        elif kind in ("sequenceFlow", "process") and _own_name(node, language):
            node.set("name", _own_name(node, language) or "")
        elif kind == "lane" and _lane_name(node.get("name") or "", language):
            node.set("name", _lane_name(node.get("name") or "", language) or "")
        elif kind == "participant" and node.get("processRef") in processes:
            named = _own_name(processes[node.get("processRef")], language)
            if named:
                node.set("name", named)
        if not internals:
            for child in list(node):
                if isinstance(child.tag, str) and _local(child.tag) in INTERNALS:
                    node.remove(child)
            for attribute in list(node.attrib):
                if _local(attribute) not in KEPT_ATTRIBUTES:
                    del node.attrib[attribute]
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _property(node: ET.Element, name: str) -> str | None:
    """A node's `spiffworkflow:property` of that name, in its extension elements of any namespace (a DMN's)."""
    for own in (child for child in node if isinstance(child.tag, str) and _local(child.tag) == "extensionElements"):
        for prop in own.iter(f"{SPIFF}property"):
            if prop.get("name") == name and (prop.get("value") or "").strip():
                return (prop.get("value") or "").strip()
    return None


def shown_decision(source: bytes, language: str) -> bytes:
    """A decision file as the catalogue shows it: each decision by its `name@<language>` and each column by its
    `label@<language>` (the table's headings), else as drawn."""
    root = ET.fromstring(source)
    for node in root.iter():
        kind = _local(node.tag) if isinstance(node.tag, str) else ""
        said = _property(node, f"name@{language}") if kind == "decision" else \
            _property(node, f"label@{language}") if kind in ("input", "output") else None
        if said:
            node.set("name" if kind == "decision" else "label", said)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
