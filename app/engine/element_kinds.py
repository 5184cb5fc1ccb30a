"""What the elements of a diagram are called, as a person reads them: `userTask` is "user task".

A finding that names an element's kind says it with `label_of(local_name)` (or `label(node)`), never the
XML tag: the kinds BPMN has are said (so the reader's language has them: "用户任务"); any other name is
spelled out ("fooBarTask" -> "foo bar task") and stays English.
"""
from __future__ import annotations

from lxml import etree

from app.engine.said import Said, said

_LABELS: dict[str, Said] = {
    "task": said("task"), "userTask": said("user task"), "serviceTask": said("service task"),
    "scriptTask": said("script task"), "businessRuleTask": said("business rule task"), "sendTask": said("send task"),
    "receiveTask": said("receive task"), "manualTask": said("manual task"), "callActivity": said("call activity"),
    "subProcess": said("sub process"), "transaction": said("transaction"),
    "adHocSubProcess": said("ad hoc sub process"), "process": said("process"), "startEvent": said("start event"),
    "endEvent": said("end event"), "intermediateCatchEvent": said("intermediate catch event"),
    "intermediateThrowEvent": said("intermediate throw event"), "boundaryEvent": said("boundary event"),
    "exclusiveGateway": said("exclusive gateway"), "inclusiveGateway": said("inclusive gateway"),
    "parallelGateway": said("parallel gateway"), "eventBasedGateway": said("event based gateway"),
    "complexGateway": said("complex gateway"), "sequenceFlow": said("sequence flow"),
    "dataObject": said("data object"), "dataObjectReference": said("data object reference"),
    "dataStoreReference": said("data store reference"), "dataInput": said("data input"),
    "dataOutput": said("data output"), "textAnnotation": said("text annotation"),
    "association": said("association"), "dataInputAssociation": said("data input association"),
    "dataOutputAssociation": said("data output association"), "laneSet": said("lane set"),
    "definitions": said("definitions"), "messageEventDefinition": said("message event definition"),
    "multiInstanceLoopCharacteristics": said("multi-instance marker"),
}


def label_of(name: str) -> str:
    """`userTask` -> "user task" (said); a name BPMN does not have, spelled out."""
    return _LABELS.get(name) or "".join(f" {c.lower()}" if c.isupper() else c for c in name)


def label(node: etree._Element) -> str:
    """The kind of `node` as a person reads it."""
    return label_of(etree.QName(node).localname if isinstance(node.tag, str) else "")
