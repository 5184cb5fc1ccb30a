"""Issue 17: Camunda service implementations and camunda:inputOutput in the import layer.

Before this, every service task drawn for Camunda (`camunda:class`, `delegateExpression`,
`expression`, an external task's topic) was refused by SpiffWorkflow's parser ("A Service Task
must have an operator") with nothing an admin could do, and `camunda:inputOutput` was ignored: the
task ran without the inputs it was drawn with and its outputs were never set."""
from __future__ import annotations

from typing import Any

import pytest

from app.engine.camunda_services import Operator
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def camunda(body: str, process_id: str = "p") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs" targetNamespace="http://camunda.org/examples">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"/>{body}
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def _then_end(element: str) -> str:
    return f"""{element}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>"""


CLASS_TASK = _then_end('<bpmn:serviceTask id="work" name="Score" camunda:class="com.acme.ScoreDelegate"/>')


def parse(content: bytes, mapping: dict | None = None):
    return parse_diagrams([DiagramFile("c.bpmn", content)], operator_map=mapping)


def errors(bundle, operators: list[str] = ()) -> list:
    return [p for p in lint_bundle(bundle, operators, []) if p.severity == "error"]


def run(bundle, data: dict | None = None, answer: dict | None = None) -> tuple[Any, list]:
    calls: list = []

    def call(operator: str, params: dict, context: dict) -> dict:
        calls.append((operator, params))
        return answer or {"score": 700}

    process = bundle.processes["p"]
    engine = ProcessEngine(call_service=call)
    workflow = engine.new_workflow(process.spec, process.embedded, data or {})
    return engine.advance(workflow), calls


def test_an_unmapped_class_parses_and_the_strict_check_names_it_and_where_to_map_it():
    bundle = parse(camunda(CLASS_TASK))  # before: DiagramRejected, "A Service Task must have an operator"
    (problem,) = errors(bundle)
    assert problem.element_id == "work"
    assert "com.acme.ScoreDelegate" in problem.reason and "mapped to no operator" in problem.reason
    assert "map-operator class" in problem.reason and "Operator mappings" in problem.reason


@pytest.mark.parametrize("attributes, key", [
    ('camunda:class="com.acme.ScoreDelegate"', ("class", "com.acme.ScoreDelegate")),
    ('camunda:delegateExpression="${scoreDelegate}"', ("delegateExpression", "${scoreDelegate}")),
    ('camunda:expression="${scorer.score(execution)}" camunda:resultVariable="score"',
     ("expression", "${scorer.score(execution)}")),
    ('camunda:type="external" camunda:topic="score"', ("topic", "score")),
])
def test_a_mapped_implementation_calls_its_operator_and_the_change_is_said(attributes, key):
    content = camunda(_then_end(f'<bpmn:serviceTask id="work" {attributes}/>'))
    bundle = parse(content, {key: Operator("risk.assess", {"amount": "amount * 2"})})
    assert errors(bundle, ["risk.assess"]) == []
    (warning,) = [w for w in bundle.warnings if w.element_id == "work"]
    assert "-> operator 'risk.assess'" in warning.reason and key[1] in warning.reason
    outcome, calls = run(bundle, {"amount": 5})
    assert outcome.status == "completed"
    assert calls == [("risk.assess", {"amount": 10})]
    if "resultVariable" in attributes:
        assert outcome.data["score"] == {"score": 700}


def test_a_mapping_of_another_value_does_not_map_this_one():
    bundle = parse(camunda(CLASS_TASK), {("class", "com.acme.Other"): Operator("risk.assess")})
    assert [p.element_id for p in errors(bundle, ["risk.assess"])] == ["work"]


def test_an_external_task_without_a_topic_is_an_error_naming_it():
    bundle = parse(camunda(_then_end('<bpmn:serviceTask id="work" camunda:type="external"/>')))
    (problem,) = errors(bundle)
    assert problem.element_id == "work" and "names no topic" in problem.reason


def test_a_send_task_and_a_message_end_event_with_a_class_call_their_operator():
    body = """
    <bpmn:sendTask id="work" camunda:class="com.acme.Notify"/>
    <bpmn:endEvent id="done"><bpmn:messageEventDefinition camunda:expression="${mailer.send()}"/></bpmn:endEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="done"/>"""
    mapping = {("class", "com.acme.Notify"): Operator("notify.send"),
               ("expression", "${mailer.send()}"): Operator("notify.mail")}
    bundle = parse(camunda(body), mapping)
    assert errors(bundle, ["notify.send", "notify.mail"]) == []
    outcome, calls = run(bundle)
    assert [c[0] for c in calls] == ["notify.send", "notify.mail"]
    assert outcome.status == "completed" and outcome.end_events == ["done_end"]


def test_an_unmapped_message_end_event_is_an_error_naming_it():
    body = """
    <bpmn:task id="work"/>
    <bpmn:endEvent id="done"><bpmn:messageEventDefinition camunda:class="com.acme.Notify"/></bpmn:endEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="done"/>"""
    (problem,) = errors(parse(camunda(body)))
    assert problem.element_id == "done" and "com.acme.Notify" in problem.reason


INPUT_OUTPUT = _then_end("""
    <bpmn:serviceTask id="work" camunda:class="com.acme.ScoreDelegate">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="greeting">Hello ${customer.name}!</camunda:inputParameter>
          <camunda:inputParameter name="limit">${amount * 2}</camunda:inputParameter>
          <camunda:inputParameter name="plain">approved</camunda:inputParameter>
          <camunda:inputParameter name="nothing"/>
          <camunda:inputParameter name="channels">
            <camunda:list><camunda:value>sms</camunda:value><camunda:value>${preferred}</camunda:value></camunda:list>
          </camunda:inputParameter>
          <camunda:inputParameter name="headers">
            <camunda:map><camunda:entry key="to">${customer.email}</camunda:entry></camunda:map>
          </camunda:inputParameter>
          <camunda:outputParameter name="decided">${limit > 5}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:serviceTask>""")


def test_input_and_output_parameters_are_set_before_and_after_the_task():
    mapping = {("class", "com.acme.ScoreDelegate"): Operator("risk.assess", {"limit": "limit"})}
    bundle = parse(camunda(INPUT_OUTPUT), mapping)
    assert errors(bundle, ["risk.assess"]) == []
    assert any("camunda:inputOutput" in w.reason for w in bundle.warnings)
    data = {"customer": {"name": "Li", "email": "li@example.com"}, "amount": 4, "preferred": "mail"}
    outcome, calls = run(bundle, data)
    assert calls == [("risk.assess", {"limit": 8})]  # the input was set before the operator ran
    assert outcome.status == "completed"
    got = outcome.data
    assert got["greeting"] == "Hello Li!" and got["plain"] == "approved" and got["nothing"] is None
    assert got["channels"] == ["sms", "mail"] and got["headers"] == {"to": "li@example.com"}
    assert got["decided"] is True


def test_a_script_task_s_inputs_and_outputs_are_set_around_its_script():
    body = _then_end("""<bpmn:scriptTask id="work"><bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="base">${amount + 1}</camunda:inputParameter>
      <camunda:outputParameter name="doubled">${total * 2}</camunda:outputParameter>
      </camunda:inputOutput></bpmn:extensionElements><bpmn:script>total = base * 10</bpmn:script></bpmn:scriptTask>""")
    outcome, _ = run(parse(camunda(body)), {"amount": 1})  # before: the mappings were never run (no pre-script there)
    assert outcome.data["base"] == 2 and outcome.data["doubled"] == 40


@pytest.mark.parametrize("parameter, says", [
    ('<camunda:inputParameter name="x"><camunda:script scriptFormat="groovy">1</camunda:script>'
     '</camunda:inputParameter>', "groovy script"),
    ('<camunda:inputParameter name="x">${bean.doIt()}</camunda:inputParameter>', "'${bean.doIt()}'"),
    ('<camunda:outputParameter name="my-var">1</camunda:outputParameter>', "not a variable name"),
    ('<camunda:inputParameter name="x">${\'\'.getClass()}</camunda:inputParameter>', "getClass"),
])
def test_a_mapping_that_cannot_be_translated_is_an_error_naming_the_task(parameter, says):
    body = _then_end(f"""<bpmn:userTask id="work"><bpmn:extensionElements>
      <camunda:inputOutput>{parameter}</camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>""")
    (problem,) = errors(parse(camunda(body)))
    assert problem.element_id == "work" and "camunda:inputOutput cannot run" in problem.reason
    assert says in problem.reason


def test_a_connector_s_own_parameters_are_not_the_task_s():
    body = _then_end("""<bpmn:task id="work"><bpmn:extensionElements>
      <camunda:connector><camunda:inputOutput>
        <camunda:inputParameter name="url">http://example.com</camunda:inputParameter>
      </camunda:inputOutput><camunda:connectorId>http-connector</camunda:connectorId></camunda:connector>
      </bpmn:extensionElements></bpmn:task>""")
    bundle = parse(camunda(body))
    outcome, _ = run(bundle)
    assert "url" not in outcome.data


def test_a_process_without_camunda_is_unchanged():
    content = camunda(_then_end('<bpmn:task id="work"/>'))
    bundle = parse(content, {("class", "x"): Operator("risk.assess")})
    assert bundle.warnings == [] and errors(bundle) == []



def test_the_activiti_namespace_camunda_7_once_wrote_is_read_the_same():
    content = camunda(CLASS_TASK).replace(CAMUNDA.encode(), b"http://activiti.org/bpmn")
    assert [p.element_id for p in errors(parse(content))] == ["work"]  # before: refused at parse
    bundle = parse(content, {("class", "com.acme.ScoreDelegate"): Operator("risk.assess")})
    assert errors(bundle, ["risk.assess"]) == []
    assert run(bundle)[1] == [("risk.assess", {})]


# -- connectors, Camunda 8 jobs, service tasks that name no implementation ---------------------
CONNECTOR = _then_end("""<bpmn:serviceTask id="work" name="Check holiday"><bpmn:extensionElements>
      <camunda:connector>
        <camunda:inputOutput>
          <camunda:inputParameter name="url">https://example.com/holidays?year=${year}</camunda:inputParameter>
          <camunda:inputParameter name="method">GET</camunda:inputParameter>
        </camunda:inputOutput>
        <camunda:connectorId>http-connector</camunda:connectorId>
      </camunda:connector></bpmn:extensionElements></bpmn:serviceTask>""")


def test_a_mapped_connector_calls_its_operator_with_the_connector_s_inputs_as_parameters():
    bundle = parse(camunda(CONNECTOR), {("connector", "http-connector"): Operator("risk.assess", {"method": "'POST'"})})
    assert errors(bundle, ["risk.assess"]) == []
    (warning,) = [w for w in bundle.warnings if w.element_id == "work"]
    assert "camunda:connector 'http-connector' -> operator 'risk.assess'" in warning.reason
    assert "url, method" in warning.reason
    outcome, calls = run(bundle, {"year": 2014})
    assert outcome.status == "completed"
    # the connector's inputs, the admin's parameters over them
    assert calls == [("risk.assess", {"url": "https://example.com/holidays?year=2014", "method": "POST"})]


def test_an_unmapped_connector_is_an_error_naming_it_and_the_command_that_maps_it():
    (problem,) = errors(parse(camunda(CONNECTOR)))  # before: DiagramRejected, "A Service Task must have an operator"
    assert problem.element_id == "work"
    assert "camunda:connector 'http-connector' is mapped to no operator" in problem.reason
    assert "map-operator connector 'http-connector' OPERATOR" in problem.reason


def test_a_connector_s_output_parameters_are_refused_naming_the_task():
    body = CONNECTOR.replace("</camunda:inputOutput>",
                             '<camunda:outputParameter name="isHoliday">${response}</camunda:outputParameter>'
                             "</camunda:inputOutput>")
    bundle = parse(camunda(body), {("connector", "http-connector"): Operator("risk.assess")})
    (problem,) = errors(bundle, ["risk.assess"])
    assert problem.element_id == "work" and "'isHoliday' reads the connector's response" in problem.reason


JOB = _then_end("""<bpmn:serviceTask id="work" name="Get credit score"><bpmn:extensionElements>
      <zeebe:taskDefinition type="credit-score" retries="3"/></bpmn:extensionElements></bpmn:serviceTask>""")


def test_a_camunda_8_job_type_is_mapped_like_the_others():
    (problem,) = errors(parse(camunda(JOB)))
    assert problem.element_id == "work" and "zeebe:taskDefinition type 'credit-score'" in problem.reason
    assert "map-operator job 'credit-score' OPERATOR" in problem.reason
    bundle = parse(camunda(JOB), {("job", "credit-score"): Operator("risk.assess")})
    assert errors(bundle, ["risk.assess"]) == []
    outcome, calls = run(bundle)
    assert outcome.status == "completed" and calls == [("risk.assess", {})]


def test_a_job_s_zeebe_inputs_are_its_operator_s_parameters_nested_by_their_dots():
    body = JOB.replace("</bpmn:extensionElements>", """<zeebe:ioMapping>
      <zeebe:input source="demo@example.com" target="from.email"/>
      <zeebe:input source="= applicant.name" target="to.name"/>
      <zeebe:input source="= amount * 2" target="limit"/></zeebe:ioMapping></bpmn:extensionElements>""")
    bundle = parse(camunda(body), {("job", "credit-score"): Operator("risk.assess")})
    assert errors(bundle, ["risk.assess"]) == []
    (warning,) = [w for w in bundle.warnings if w.element_id == "work"]
    assert "the zeebe:ioMapping inputs and zeebe:taskHeaders are its parameters: from, to, limit" in warning.reason
    outcome, calls = run(bundle, {"applicant": {"name": "Li"}, "amount": 4})
    assert calls == [("risk.assess", {"from": {"email": "demo@example.com"}, "to": {"name": "Li"}, "limit": 8})]
    assert "from" not in outcome.data  # the job's inputs are the operator's, not the instance's data


def test_a_job_s_zeebe_outputs_are_set_from_its_operator_s_result_and_only_they_are_kept():
    body = JOB.replace("</bpmn:extensionElements>", """<zeebe:ioMapping>
      <zeebe:output source="=body.score" target="score"/>
      <zeebe:output source="=grade + suffix" target="decision.grade"/></zeebe:ioMapping></bpmn:extensionElements>""")
    # before: refused ("reads the job's result, which no Loanflow operator gives")
    bundle = parse(camunda(body), {("job", "credit-score"): Operator("risk.assess")})
    assert errors(bundle, ["risk.assess"]) == []
    (warning,) = [w for w in bundle.warnings if w.element_id == "work"]
    assert "its zeebe:output mappings are set from the operator's result" in warning.reason
    outcome, _ = run(bundle, {"suffix": "+", "grade": "unused"}, answer={"body": {"score": 712}, "grade": "A",
                                                                         "raw": "kept by no output"})
    assert outcome.status == "completed"
    # read from the result first (grade), from the instance's data when the result lacks it (suffix)
    assert outcome.data["score"] == 712 and outcome.data["decision"] == {"grade": "A+"}
    assert "raw" not in outcome.data and not any(k.startswith("jobResult") for k in outcome.data)


def test_a_job_s_zeebe_output_reading_what_neither_holds_stops_the_instance_naming_it():
    body = JOB.replace("</bpmn:extensionElements>", '<zeebe:ioMapping><zeebe:output source="=riskLevel" '
                       'target="riskLevel"/></zeebe:ioMapping></bpmn:extensionElements>')
    bundle = parse(camunda(body), {("job", "credit-score"): Operator("risk.assess")})
    outcome, _ = run(bundle, answer={"other": 1})
    assert outcome.status == "error" and "riskLevel" in str(outcome.error)


def test_a_zeebe_io_mapping_on_a_user_task_sets_its_inputs_and_outputs():
    body = _then_end("""<bpmn:scriptTask id="work"><bpmn:extensionElements><zeebe:ioMapping>
      <zeebe:input source="= applicant.age + 1" target="age"/>
      <zeebe:input source="static text" target="note.text"/>
      <zeebe:output source="= age * 2" target="result.doubled"/></zeebe:ioMapping></bpmn:extensionElements>
      <bpmn:script>seen = age</bpmn:script></bpmn:scriptTask>""")
    bundle = parse(camunda(body))  # before: ignored, the task ran without its inputs and set no outputs
    assert errors(bundle) == []
    assert any(w.reason.startswith("zeebe:ioMapping -> inputs set before it runs") for w in bundle.warnings)
    data = run(bundle, {"applicant": {"age": 40}})[0].data
    assert data["seen"] == 41 and data["note"] == {"text": "static text"} and data["result"] == {"doubled": 82}


def test_a_zeebe_io_mapping_that_cannot_be_translated_is_an_error_naming_the_element():
    body = _then_end("""<bpmn:userTask id="work"><bpmn:extensionElements><zeebe:ioMapping>
      <zeebe:input source='= get value(m, &quot;k&quot;)' target="total"/></zeebe:ioMapping>
      </bpmn:extensionElements></bpmn:userTask>""")
    (problem,) = errors(parse(camunda(body)))
    assert problem.element_id == "work" and problem.reason.startswith("zeebe:ioMapping cannot run: the zeebe:input")


def test_a_message_end_event_with_a_job_type_calls_its_operator_then_ends():
    body = """
    <bpmn:scriptTask id="work"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="done" name="Customer told"><bpmn:extensionElements>
      <zeebe:taskDefinition type="inform-customer"/></bpmn:extensionElements>
      <bpmn:messageEventDefinition/></bpmn:endEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="done"/>"""
    bundle = parse(camunda(body), {("job", "inform-customer"): Operator("notify.send")})
    assert errors(bundle, ["notify.send"]) == []
    outcome, calls = run(bundle)
    assert calls == [("notify.send", {})] and outcome.end_events == ["done_end"]


@pytest.mark.parametrize("element, value", [
    ('<bpmn:serviceTask id="work" name="Get credit\n   score"/>', "Get credit score"),  # whitespace collapsed
    ('<bpmn:serviceTask id="work"/>', "work"),  # unnamed: its id
    ('<bpmn:sendTask id="work" name="Send offer"/>', "Send offer"),  # no message: it would send nothing
    ('<bpmn:businessRuleTask id="work" name="Select platforms"/>', "Select platforms"),  # no decision
])
def test_a_task_that_names_no_implementation_is_mapped_by_its_name(element, value):
    (problem,) = errors(parse(camunda(_then_end(element))))  # before: refused at parse, or run as doing nothing
    assert problem.element_id == "work" and "which names no implementation" in problem.reason
    assert f"map-operator task '{value}' OPERATOR" in problem.reason
    assert "properties panel, Service operator" in problem.reason  # the analyst's own fix first
    bundle = parse(camunda(_then_end(element)), {("task", value): Operator("risk.score", {"who": "applicant"})})
    assert errors(bundle, ["risk.score"]) == []
    (warning,) = [w for w in bundle.warnings if w.element_id == "work"]
    assert "-> operator 'risk.score'" in warning.reason
    outcome, calls = run(bundle, {"applicant": "Li"})
    assert outcome.status == "completed" and calls == [("risk.score", {"who": "Li"})]


def test_a_name_with_a_quote_is_quoted_for_the_shell_in_the_command():
    element = '<bpmn:serviceTask id="work" name="Check customer&apos;s score"/>'
    (problem,) = errors(parse(camunda(_then_end(element))))
    assert "map-operator task 'Check customer'\"'\"'s score' OPERATOR" in problem.reason


@pytest.mark.parametrize("element", [
    """<bpmn:serviceTask id="work"><bpmn:extensionElements>
         <spiffworkflow:serviceTaskOperator id="risk.assess"/></bpmn:extensionElements></bpmn:serviceTask>""",
    '<bpmn:sendTask id="work" messageRef="m"/>',
])
def test_what_already_names_its_work_is_not_an_implementation_to_map(element):
    content = camunda(_then_end(element)).replace(b"<bpmn:process", b'<bpmn:message id="m" name="offer"/><bpmn:process')
    bundle = parse(content)
    assert bundle.warnings == [] and errors(bundle, ["risk.assess"]) == []


# -- dotted inputOutput names -------------------------------------------------------------------
def _dotted(parameter: str) -> bytes:
    return camunda(_then_end(f"""<bpmn:scriptTask id="work"><bpmn:extensionElements><camunda:inputOutput>
      {parameter}</camunda:inputOutput></bpmn:extensionElements><bpmn:script>seen = Fact</bpmn:script>
      </bpmn:scriptTask>"""))


def test_a_dotted_input_name_sets_the_key_of_a_map_and_says_so():
    bundle = parse(_dotted('<camunda:inputParameter name="Fact.type">cat</camunda:inputParameter>'))
    assert errors(bundle) == []  # before: "'Fact.type' is not a variable name Loanflow can set"
    (warning,) = [w for w in bundle.warnings if w.element_id == "work"]
    assert "the key 'type' of the map Fact" in warning.reason
    assert run(bundle, {"Fact": {"source": "api"}})[0].data["seen"] == {"source": "api", "type": "cat"}
    assert run(bundle)[0].data["seen"] == {"type": "cat"}  # the map made when missing


def test_a_dotted_name_several_keys_deep_makes_each_map_on_the_way():
    bundle = parse(_dotted('<camunda:inputParameter name="Fact.source.kind">${1 + 1}</camunda:inputParameter>'))
    assert run(bundle, {"Fact": {"n": 1}})[0].data["seen"] == {"n": 1, "source": {"kind": 2}}


def test_a_dotted_name_through_something_that_is_not_a_map_stops_the_task_with_a_reason():
    bundle = parse(_dotted('<camunda:inputParameter name="Fact.type">cat</camunda:inputParameter>'))
    outcome, _ = run(bundle, {"Fact": "a string"})
    assert outcome.status == "error" and outcome.error is not None
    assert "'Fact.type' sets a key inside Fact, which holds something other than a map" in str(outcome.error)


def test_an_input_mapping_that_fails_at_run_time_is_an_incident_with_a_reason_naming_the_task():
    body = _then_end("""<bpmn:userTask id="work"><bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="limit">${amount * 2}</camunda:inputParameter>
      </camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>""")
    outcome, _ = run(parse(camunda(body)), {"amount": None})  # before: only "TypeError: unsupported operand ..."
    said = outcome.error["reason"]
    assert said["code"] == "empty_value" and said["params"]["element"] == "work"


def test_an_intermediate_event_s_mapping_is_drawn_as_steps_before_and_after_it():
    """Camunda runs an intermediate event's camunda:inputOutput around it; SpiffWorkflow runs no script on an event.
    It was refused ("input/output mappings on the intermediate throw event are not supported"), or, in Camunda's
    engine tests (which write Camunda's prefix on Activiti's namespace), silently dropped."""
    body = _then_end("""
    <bpmn:intermediateThrowEvent id="work" name="Noted"><bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="greeting">Hello ${name}</camunda:inputParameter>
      <camunda:outputParameter name="shout">${greeting.toUpperCase()}</camunda:outputParameter>
    </camunda:inputOutput></bpmn:extensionElements></bpmn:intermediateThrowEvent>""")
    bundle = parse(camunda(body))
    assert errors(bundle) == []
    (said,) = [w.reason for w in bundle.warnings if w.element_id == "work"]
    assert said.startswith("camunda:inputOutput -> steps of the path: inputs set before it: greeting = ")
    outcome, _ = run(bundle, {"name": "Anna"})
    assert outcome.status == "completed" and outcome.data["shout"] == "HELLO ANNA"  # the output read the input
    assert outcome.data["greeting"] == "Hello Anna"  # inputs stay in the data, as a task's do here


def test_an_input_mapping_on_an_event_an_event_based_gateway_waits_for_is_refused():
    body = """
    <bpmn:eventBasedGateway id="work"/>
    <bpmn:intermediateCatchEvent id="tick"><bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="x">1</camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="tock"><bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="tick"/>
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="tock"/>
    <bpmn:sequenceFlow id="f4" sourceRef="tick" targetRef="end"/>
    <bpmn:sequenceFlow id="f5" sourceRef="tock" targetRef="end"/>"""
    (problem,) = errors(parse(camunda(body)))
    assert problem.element_id == "tick" and "between the event-based gateway and the event" in problem.reason
