"""What changed between two versions of a process: its flow elements and sequence flows compared by id —
added, removed, changed (name, name@zh and the other spiffworkflow properties, scripts, conditions, the
service operator and its parameters, timer expressions, message refs, incoming and outgoing flows, lane).
Read from the files as deployed (`catalogue.version_source`); a decision table's diff is not supported."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from app.services import context
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid, NotFound
from app.services.identity.directory import Principal
from app.services.identity.grants import ROLE_NAMES
from app.services.workflow import catalogue

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
SHORT = 120  # a changed value is shown cut to this many characters
ASPECTS = {
    "name": _l("Name"), "property": _l("Property"), "script": _l("Script"), "condition": _l("Condition"),
    "service": _l("Service operator"), "parameter": _l("Parameter"), "timer": _l("Timer"),
    "message": _l("Message ref"), "incoming": _l("Incoming flows"), "outgoing": _l("Outgoing flows"),
    "lane": _l("Lane"), "source": _l("Flow source"), "target": _l("Flow target"), "type": _l("Element type"), "other": _l("Definition"),
}
SYSTEM_LANE = _l("The platform (automatic steps)")
EQUAL_VERSIONS = _l("Choose two different versions to compare.")
NO_DMN_DIFF = _l("Comparing versions of a decision table is not supported; download both files to compare them.")


@dataclass(frozen=True)
class Change:
    aspect: str  # a key of ASPECTS
    detail: str  # which property or parameter, or ""
    old: str
    new: str

    @property
    def label(self) -> str:
        return str(ASPECTS[self.aspect])


@dataclass(frozen=True)
class ElementDiff:
    element_id: str
    type: str  # the BPMN tag: userTask, sequenceFlow, …
    name: str  # as the diagram shows it: its name in the reader's language, else its id
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class VersionDiff:
    process_id: str
    from_version: int
    to_version: int
    added: list[ElementDiff]
    removed: list[ElementDiff]
    changed: list[ElementDiff]


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


def _lane_name(name: str) -> str:
    """A lane in the reader's words: the role it stands for (lanes are named by role), or the platform's own."""
    role = ROLE_NAMES.get(name)
    if role:
        return context.gettext(role)
    return str(SYSTEM_LANE) if name == "system" else name


def _aspects(element: ET.Element, lanes: dict[str, str]) -> dict[tuple[str, str], str]:
    """What an element says, as (aspect, detail) → value."""
    found: dict[tuple[str, str], str] = {("name", ""): element.get("name", "")}
    for prop in element.iter(f"{SPIFF}property"):
        key = prop.get("name", "")
        found[("name", "zh") if key == "name@zh" else ("property", key)] = prop.get("value", "")
    for tag in ("preScript", "postScript"):
        for script in element.iter(f"{SPIFF}{tag}"):
            found[("script", tag)] = script.text or ""
    for script in element.iter(f"{BPMN}script"):
        found[("script", "script")] = script.text or ""
    for condition in element.iter(f"{BPMN}conditionExpression"):
        found[("condition", "")] = condition.text or ""
    for operator in element.iter(f"{SPIFF}serviceTaskOperator"):
        found[("service", "")] = operator.get("id", "") + (f" → {operator.get('resultVariable')}"
                                                            if operator.get("resultVariable") else "")
        for parameter in operator.iter(f"{SPIFF}parameter"):
            found[("parameter", parameter.get("id", ""))] = parameter.get("value", "")
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for timer in element.iter(f"{BPMN}{tag}"):
            found[("timer", tag)] = timer.text or ""
    for definition in element.iter(f"{BPMN}messageEventDefinition"):
        found[("message", "")] = definition.get("messageRef", "")
    if element.get("messageRef"):
        found[("message", "")] = element.get("messageRef", "")
    if element.get("calledElement"):
        found[("other", "calledElement")] = element.get("calledElement", "")
    for decision in element.iter(f"{SPIFF}calledDecisionId"):
        found[("other", "calledDecisionId")] = decision.text or ""
    for tag in ("incoming", "outgoing"):
        flows = sorted((e.text or "").strip() for e in element.findall(f"{BPMN}{tag}"))
        if flows:
            found[(tag, "")] = ", ".join(flows)
    for attribute in ("sourceRef", "targetRef"):
        if element.get(attribute):
            found[(attribute[:6], "")] = element.get(attribute, "")
    if element.get("id") in lanes:
        found[("lane", "")] = _lane_name(lanes[element.get("id", "")])
    return found


def _elements(source: bytes, process_id: str) -> dict[str, tuple[ET.Element, dict[tuple[str, str], str]]]:
    root = ET.fromstring(source)  # the files passed the strict deployment check
    process = next((p for p in root.iter(f"{BPMN}process") if p.get("id") == process_id), None)
    if process is None:
        raise NotFound(catalogue.NO_SUCH_PROCESS)
    lanes = {(ref.text or "").strip(): lane.get("name") or lane.get("id") or ""
             for lane in process.iter(f"{BPMN}lane") for ref in lane.findall(f"{BPMN}flowNodeRef")}
    found = {}
    for element in process.iter():
        if element is process or not element.tag.startswith(BPMN) or not element.get("id"):
            continue
        tag = element.tag[len(BPMN):]
        if tag in {"laneSet", "lane", "conditionExpression", "incoming", "outgoing", "script"} or \
                tag.endswith("EventDefinition") or tag in {"timeDuration", "timeDate", "timeCycle"}:
            continue
        found[element.get("id", "")] = (element, _aspects(element, lanes))
    return found


def _name(element: ET.Element, aspects: dict[tuple[str, str], str], language: str) -> str:
    return (aspects.get(("name", "zh")) if language == "zh" else None) or element.get("name") or element.get("id") or ""


def diff(actor: Principal, process_id: str, from_version: int, to_version: int, language: str = "en") -> VersionDiff:
    """The elements added, removed and changed from `from_version` to `to_version`."""
    if from_version == to_version:
        raise Invalid(EQUAL_VERSIONS)
    old_file, old_source = catalogue.version_source(actor, process_id, from_version)
    _new_file, new_source = catalogue.version_source(actor, process_id, to_version)
    if old_file.lower().endswith(".dmn"):
        raise Invalid(NO_DMN_DIFF)
    old, new = _elements(old_source, process_id), _elements(new_source, process_id)

    def entry(element: ET.Element, aspects: dict, changes: list[Change] | None = None) -> ElementDiff:
        return ElementDiff(element.get("id", ""), element.tag[len(BPMN):], _name(element, aspects, language),
                           changes or [])

    added = [entry(*new[i]) for i in new if i not in old]
    removed = [entry(*old[i]) for i in old if i not in new]
    changed = []
    for i in new:
        if i not in old:
            continue
        (old_element, before), (new_element, after) = old[i], new[i]
        changes = [Change("type", "", old_element.tag[len(BPMN):], new_element.tag[len(BPMN):])] \
            if old_element.tag != new_element.tag else []
        for key in sorted(set(before) | set(after), key=lambda k: (list(ASPECTS).index(k[0]), k[1])):
            if before.get(key, "") != after.get(key, ""):
                changes.append(Change(key[0], key[1], _short(before.get(key)), _short(after.get(key))))
        if changes:
            changed.append(entry(new_element, after, changes))
    return VersionDiff(process_id, from_version, to_version, added, removed, changed)
