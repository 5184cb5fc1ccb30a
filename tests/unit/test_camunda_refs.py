"""References as Camunda 7 resolves them (`camunda_refs`): a qualified name in the file's own namespace,
and an `errorRef` naming no error (its code). Both were refused as "which its file does not define"
before; Camunda runs them."""
from __future__ import annotations

import pytest

from app.engine.errors import DiagramRejected
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine


def _file(body: str, head: str = "", namespace: str = "Examples") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:tns="Examples"
             xmlns:other="Elsewhere" id="d" targetNamespace="{namespace}">{head}
  <process id="p" isExecutable="true">{body}
  </process>
</definitions>""".encode()


MESSAGE_START = """
    <startEvent id="s"><messageEventDefinition messageRef="{ref}"/></startEvent>
    <userTask id="t" name="Task"/>
    <endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>"""


def test_a_reference_qualified_by_the_files_own_namespace_names_its_element():
    bundle = parse_diagrams([DiagramFile("m.bpmn", _file(MESSAGE_START.format(ref="tns:newInvoice"),
                                                         '<message id="newInvoice" name="newInvoiceMessage"/>'))])
    assert ProcessEngine.message_starts(bundle.processes["p"].spec) == frozenset({"newInvoiceMessage"})
    (change,) = [w for w in bundle.warnings if "own namespace" in w.reason]
    assert "'tns:newInvoice'" in change.reason and "'newInvoice'" in change.reason


@pytest.mark.parametrize("ref, namespace", [("other:newInvoice", "Examples"), ("tns:newInvoice", "Somewhere")])
def test_a_prefix_of_another_namespace_still_names_nothing_here(ref, namespace):
    with pytest.raises(DiagramRejected) as caught:
        parse_diagrams([DiagramFile("m.bpmn", _file(MESSAGE_START.format(ref=ref),
                                                    '<message id="newInvoice" name="n"/>', namespace))])
    assert any("which its file does not define" in p.reason for p in caught.value.problems)


def test_an_undefined_message_stays_refused_as_camunda_refuses_it():
    with pytest.raises(DiagramRejected) as caught:
        parse_diagrams([DiagramFile("m.bpmn", _file(MESSAGE_START.format(ref="newInvoice")))])
    assert any("the message 'newInvoice'" in p.reason for p in caught.value.problems)


ERROR_CAUGHT = """
    <startEvent id="s"/>
    <subProcess id="sub">
      <startEvent id="ss"/>
      <endEvent id="boom"><errorEventDefinition errorRef="myError"/></endEvent>
      <sequenceFlow id="sf" sourceRef="ss" targetRef="boom"/>
    </subProcess>
    <boundaryEvent id="caught" attachedToRef="sub"><errorEventDefinition errorRef="myError"/></boundaryEvent>
    <boundaryEvent id="other" attachedToRef="sub"><errorEventDefinition errorRef="notThisOne"/></boundaryEvent>
    <endEvent id="normal"/>
    <endEvent id="handled"/>
    <endEvent id="wrong"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="sub"/>
    <sequenceFlow id="f2" sourceRef="sub" targetRef="normal"/>
    <sequenceFlow id="f3" sourceRef="caught" targetRef="handled"/>
    <sequenceFlow id="f4" sourceRef="other" targetRef="wrong"/>"""


def test_an_error_the_file_does_not_define_is_its_own_code_as_in_camunda():
    bundle = parse_diagrams([DiagramFile("e.bpmn", _file(ERROR_CAUGHT))])
    process = bundle.processes["p"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "completed" and outcome.end_events == ["handled"]
    said = sorted(w.reason for w in bundle.warnings if "as its error code" in w.reason)
    assert said == ["the error 'myError' is not defined in the file; as Camunda 7 does, the import takes 'myError' "
                    "as its error code",
                    "the error 'notThisOne' is not defined in the file; as Camunda 7 does, the import takes "
                    "'notThisOne' as its error code"]


def test_a_defined_error_keeps_its_own_code():
    """The end throws `myError`, defined with code E42; the boundary naming the undefined `E42` catches it."""
    body = ERROR_CAUGHT.replace('<boundaryEvent id="caught" attachedToRef="sub"><errorEventDefinition '
                                'errorRef="myError"/>', '<boundaryEvent id="caught" attachedToRef="sub">'
                                '<errorEventDefinition errorRef="E42"/>')
    bundle = parse_diagrams([DiagramFile("e.bpmn", _file(body, '<error id="myError" errorCode="E42"/>'))])
    process = bundle.processes["p"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "completed" and outcome.end_events == ["handled"]
    assert not any("'myError' is not defined" in w.reason for w in bundle.warnings)


def test_an_escalation_the_file_does_not_define_is_its_own_code_as_in_flowable():
    """Flowable's own tests throw `escalationRef="escalationTest"` with no <escalation>: it was refused as
    "which its file does not define"; Flowable takes the reference as the code."""
    body = (ERROR_CAUGHT.replace("errorEventDefinition errorRef=", "escalationEventDefinition escalationRef=")
            .replace("myError", "escalationTest"))
    bundle = parse_diagrams([DiagramFile("e.bpmn", _file(body))])
    process = bundle.processes["p"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "completed" and outcome.end_events == ["handled"]
    assert "the escalation 'escalationTest' is not defined in the file; as Flowable does, the import takes " \
           "'escalationTest' as its escalation code" in [w.reason for w in bundle.warnings]
