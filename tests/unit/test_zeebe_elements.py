"""Issue 17: Camunda 8's `zeebe:` elements read as what they mean, or said; never dropped in silence.

Each test failed before: a call activity's process in `zeebe:calledElement` was SpiffWorkflow's "No
calledElement attribute"; a script task's `zeebe:script` was "the script task has no script"; a task's
`zeebe:assignmentDefinition`, schedule and priority were read by nothing; mappings on a start, end or boundary
event were refused; a job's outputs and headers were refused or dropped; a message's `zeebe:subscription`
and any other `zeebe:` element were dropped without a word; a DMN file with an XML comment among a table's
children was SpiffWorkflow's AttributeError."""
from __future__ import annotations

from app.engine.camunda_services import Operator
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from tests.unit.test_camunda_services import JOB, _then_end, camunda, errors, parse, run

_CALL = """
    <bpmn:callActivity id="work" name="Score"><bpmn:extensionElements>
      <zeebe:calledElement processId="scoring" propagateAllChildVariables="true"/></bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>"""
_SCORING = """<bpmn:process id="scoring" isExecutable="true">
    <bpmn:startEvent id="s_start"/>
    <bpmn:scriptTask id="s_work"><bpmn:script>score = amount * 2</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="s_end"/>
    <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="s_work"/>
    <bpmn:sequenceFlow id="s2" sourceRef="s_work" targetRef="s_end"/>
  </bpmn:process>
</bpmn:definitions>"""


def called(replace: tuple[str, str] = ("", "")) -> bytes:
    """A process whose call activity names its process in zeebe:calledElement, and the process it calls."""
    return camunda(_CALL.replace(*replace) if replace[0] else _CALL).replace(b"</bpmn:definitions>",
                                                                              _SCORING.encode())


def _run_called(bundle, data):
    process = bundle.processes["p"]
    engine = ProcessEngine()
    subprocesses = {pid: p.spec for pid, p in bundle.processes.items() if pid != "p"}
    workflow = engine.new_workflow(process.spec, {**process.embedded, **subprocesses}, data)
    return engine.advance(workflow)


def test_a_call_activity_calls_the_process_its_zeebe_called_element_names():
    bundle = parse(called())
    assert errors(bundle) == []
    (said,) = [w.reason for w in bundle.warnings if w.element_id == "work"]
    assert said.startswith("zeebe:calledElement: the call activity calls the process 'scoring'")
    outcome = _run_called(bundle, {"amount": 4})
    assert outcome.status == "completed" and outcome.data["score"] == 8


_WAITING_SCORING = """<bpmn:process id="scoring" isExecutable="true">
    <bpmn:startEvent id="s_start"/>
    <bpmn:scriptTask id="s_work"><bpmn:script>saw = [name for name in ("amount", "kept") if is_defined(name)]
score = amount * 2
amount = 99
note = "inner"</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="s_check"/>
    <bpmn:endEvent id="s_end"/>
    <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="s_work"/>
    <bpmn:sequenceFlow id="s2" sourceRef="s_work" targetRef="s_check"/>
    <bpmn:sequenceFlow id="s3" sourceRef="s_check" targetRef="s_end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _called_back(propagate: str, io: str) -> dict:
    """What the calling instance holds after a call whose process sets score, changes amount and adds note,
    waiting on a task of the called process in between (its state stored and read back, as between steps)."""
    call = _CALL.replace('propagateAllChildVariables="true"', propagate).replace(
        "</bpmn:extensionElements>", io + "</bpmn:extensionElements>")
    if not propagate:  # drawn for Camunda 7: the process in the attribute, no zeebe: element
        call = call.replace('<bpmn:callActivity id="work"', '<bpmn:callActivity id="work" calledElement="scoring"').replace(
            '<zeebe:calledElement processId="scoring" />', "")
    bundle = parse(camunda(call).replace(b"</bpmn:definitions>", _WAITING_SCORING.encode()))
    assert errors(bundle) == []
    process, engine = bundle.processes["p"], ProcessEngine()
    subprocesses = {pid: p.spec for pid, p in bundle.processes.items() if pid != "p"}
    workflow = engine.new_workflow(process.spec, {**process.embedded, **subprocesses}, {"amount": 4, "kept": 1})
    (check,) = engine.advance(workflow).ready
    workflow = engine.restore(engine.serializer.dump_state(workflow), process.spec,
                              {**process.embedded, **subprocesses})
    outcome = engine.complete_user_task(workflow, check.engine_task_id, {"checked": True})
    assert outcome.status == "completed", outcome.error
    return outcome.data


def test_a_call_that_keeps_only_its_outputs_takes_back_only_them():
    """`propagateAllChildVariables="false"`: said "not followed" before, and the called process's score, its
    changed amount and its note all came back."""
    output = '<zeebe:ioMapping><zeebe:output source="=score" target="result"/></zeebe:ioMapping>'
    assert _called_back('propagateAllChildVariables="false"', output) == {"amount": 4, "kept": 1, "result": 8}
    assert _called_back('propagateAllChildVariables="false"', "") == {"amount": 4, "kept": 1}  # nothing comes back
    everything = _called_back('propagateAllChildVariables="true"', output)
    assert everything["result"] == 8 and everything["amount"] == 99 and everything["note"] == "inner"
    bundle = parse(called(('propagateAllChildVariables="true"', 'propagateAllChildVariables="false"')))
    assert any(w.reason.endswith('propagateAllChildVariables="false": only its outputs come back (nothing)')
               for w in bundle.warnings)


def test_a_camunda_8_call_that_passes_only_its_inputs_starts_the_called_process_with_them():
    """`propagateAllParentVariables="false"` was dropped in silence: the called process saw all of the instance's data."""
    inputs = '<zeebe:ioMapping><zeebe:input source="=amount" target="amount"/></zeebe:ioMapping>'
    back = _called_back('propagateAllParentVariables="false"', inputs)
    assert back["saw"] == ["amount"] and back["score"] == 8
    assert _called_back('propagateAllChildVariables="true"', inputs)["saw"] == ["amount", "kept"]
    both = _called_back('propagateAllParentVariables="false" propagateAllChildVariables="false"',
                        inputs.replace("</zeebe:ioMapping>", '<zeebe:output source="=saw" target="saw"/></zeebe:ioMapping>'))
    assert both == {"amount": 4, "kept": 1, "saw": ["amount"]}


def test_a_called_process_named_by_a_feel_string_is_that_process_and_one_chosen_at_run_time_is_refused():
    literal = parse(called(('processId="scoring"', 'processId="=&quot;scoring&quot;"')))
    assert errors(literal) == [] and _run_called(literal, {"amount": 1}).data["score"] == 2
    try:
        parse(called(('processId="scoring"', 'processId="=which"')))
    except Exception as exc:  # noqa: BLE001 - DiagramRejected, checked by what it says
        (problem,) = exc.problems
        assert problem.element_id == "work" and "chooses the process it calls at run time" in problem.reason
    else:
        raise AssertionError("a process chosen at run time was accepted")


def test_a_zeebe_script_sets_its_result_variable_from_its_feel():
    body = _then_end("""<bpmn:scriptTask id="work"><bpmn:extensionElements>
      <zeebe:script expression='=if amount &gt; 1000 then "high" else "low"' resultVariable="risk"/>
      </bpmn:extensionElements></bpmn:scriptTask>""")
    bundle = parse(camunda(body))
    assert errors(bundle) == []
    assert run(bundle, {"amount": 5000})[0].data["risk"] == "high"


def test_feel_now_and_today_read_the_engines_clock_as_its_timers_do():
    """FEEL's now() was the sandbox's system clock: under a clock moved ahead (tests, `processes compat`) a
    script computing a deadline and the timer waiting for it disagreed."""
    from datetime import UTC, date, datetime, timedelta

    body = _then_end("""<bpmn:scriptTask id="work"><bpmn:extensionElements>
      <zeebe:script expression='={at: now(), day: today(), soon: now() + duration("PT1H"), late: [now()][1] &lt; now()}'
                    resultVariable="clock"/>
      </bpmn:extensionElements></bpmn:scriptTask>""")
    bundle = parse(camunda(body))
    assert errors(bundle) == []
    moment = datetime(2031, 2, 3, 4, 5, tzinfo=UTC)
    process = bundle.processes["p"]
    engine = ProcessEngine(clock=lambda: moment)
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.data["clock"] == {"at": moment.isoformat(), "day": date(2031, 2, 3).isoformat(),
                                     "soon": (moment + timedelta(hours=1)).isoformat(), "late": False}


def test_a_zeebe_script_that_cannot_run_or_keeps_its_value_nowhere_is_refused_naming_the_task():
    for script, named in [("expression='=get value(m, \"k\")' resultVariable=\"at\"",
                           "zeebe:script '=get value(m, \"k\")' cannot run"),
                          ('expression="=1 + 1" resultVariable="not a name"', "which is no variable name"),
                          ('resultVariable="x"', "zeebe:script has no expression")]:
        body = _then_end(f'<bpmn:scriptTask id="work"><bpmn:extensionElements><zeebe:script {script}/>'
                         '</bpmn:extensionElements></bpmn:scriptTask>')
        try:
            parse(camunda(body))
        except Exception as exc:  # noqa: BLE001 - DiagramRejected
            assert [(p.element_id, named in p.reason) for p in exc.problems] == [("work", True)]
        else:
            raise AssertionError(f"{script} was accepted")


def test_a_user_task_s_zeebe_assignment_schedule_and_priority_reach_its_properties():
    body = _then_end("""<bpmn:userTask id="work" name="Review"><bpmn:extensionElements>
      <zeebe:userTask/>
      <zeebe:assignmentDefinition assignee="=approver" candidateGroups="first_reviewer"/>
      <zeebe:taskSchedule dueDate="2026-12-31T18:00:00+08:00"/>
      <zeebe:priorityDefinition priority="65"/>
      <zeebe:properties><zeebe:property name="owner" value="ops"/></zeebe:properties>
      </bpmn:extensionElements></bpmn:userTask>""")
    bundle = parse(camunda(body))
    properties = bundle.processes["p"].spec.task_specs["work"].extensions["properties"]
    assert properties["lane"] == "first_reviewer" and properties["assigneeExpression"] == "approver"
    assert properties["dueAtExpression"] == "'2026-12-31T18:00:00+08:00'" and properties["priority"] == "2"
    said = [w.reason for w in bundle.warnings if w.element_id == "work"]
    assert any(s.startswith("camunda:assignee '=approver' is FEEL") for s in said)
    assert not any("zeebe:userTask" in s or "zeebe:properties" in s for s in said)  # no meaning here: dropped


def test_a_zeebe_element_no_module_reads_is_said_naming_it():
    body = _then_end("""<bpmn:userTask id="work"><bpmn:extensionElements>
      <zeebe:linkedResources><zeebe:linkedResource resourceId="guide" linkName="help"/></zeebe:linkedResources>
      </bpmn:extensionElements></bpmn:userTask>""")
    said = [w.reason for w in parse(camunda(body)).warnings if w.element_id == "work"]
    assert "zeebe:linkedResources on the user task is not read: Loanflow does not know it, and runs the user task " \
           "without it" in said


def test_a_job_s_headers_are_its_operator_s_parameters_and_an_input_of_the_same_name_wins():
    body = JOB.replace("</bpmn:extensionElements>", """<zeebe:taskHeaders>
      <zeebe:header key="channel" value="sms"/><zeebe:header key="template" value="fixed"/></zeebe:taskHeaders>
      <zeebe:ioMapping><zeebe:input source="=kind" target="template"/></zeebe:ioMapping>
      </bpmn:extensionElements>""")
    bundle = parse(camunda(body), {("job", "credit-score"): Operator("risk.assess")})
    assert errors(bundle, ["risk.assess"]) == []
    _outcome, calls = run(bundle, {"kind": "loan"})
    assert calls == [("risk.assess", {"channel": "sms", "template": "loan"})]


def test_camunda_8_mappings_on_start_end_and_boundary_events_are_steps_of_the_path():
    body = """
    <bpmn:serviceTask id="work" name="Charge"><bpmn:extensionElements>
      <zeebe:taskDefinition type="charge"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:boundaryEvent id="declined" attachedToRef="work"><bpmn:extensionElements><zeebe:ioMapping>
      <zeebe:output source="=reason" target="declineReason"/></zeebe:ioMapping></bpmn:extensionElements>
      <bpmn:errorEventDefinition errorRef="E"/></bpmn:boundaryEvent>
    <bpmn:endEvent id="end"><bpmn:extensionElements><zeebe:ioMapping>
      <zeebe:output source="=true" target="charged"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:endEvent>
    <bpmn:endEvent id="end_declined"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="declined" targetRef="end_declined"/>"""
    content = camunda(body).replace(b'<bpmn:startEvent id="start"/>', b"""<bpmn:startEvent id="start">
      <bpmn:extensionElements><zeebe:ioMapping><zeebe:output source="=orderId" target="order"/>
      </zeebe:ioMapping></bpmn:extensionElements></bpmn:startEvent>""").replace(
        b'<bpmn:process id="p"', b'<bpmn:error id="E" errorCode="DECLINED"/><bpmn:process id="p"')
    bundle = parse(content, {("job", "charge"): Operator("pay.charge")})  # before: refused, each of the three
    assert errors(bundle, ["pay.charge"]) == []
    outcome, _ = run(bundle, {"orderId": 7})
    assert outcome.status == "completed" and outcome.data["order"] == 7 and outcome.data["charged"] is True


def test_inputs_on_a_start_event_are_refused_naming_it():
    content = camunda(_then_end('<bpmn:task id="work"/>')).replace(
        b'<bpmn:startEvent id="start"/>', b"""<bpmn:startEvent id="start"><bpmn:extensionElements><zeebe:ioMapping>
      <zeebe:input source="=1" target="x"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:startEvent>""")
    (problem,) = errors(parse(content))
    assert problem.element_id == "start" and "a start event has no inputs" in problem.reason


def test_a_dmn_file_with_comments_among_its_table_parses():
    dmn = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="t">
  <decision id="tier" name="Tier">
    <decisionTable id="t" hitPolicy="FIRST">
      <!-- inputs -->
      <input id="i"><inputExpression id="ie" typeRef="number"><text>score</text></inputExpression></input>
      <!-- outputs -->
      <output id="o" name="tier" typeRef="string"/>
      <rule id="r1"><!-- the best --><inputEntry id="e1"><text>&gt;= 700</text></inputEntry>
        <outputEntry id="x1"><text>"A"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""
    bundle = parse_diagrams([DiagramFile("tier.dmn", dmn)])  # before: AttributeError on the comment's tag
    assert list(bundle.decisions) == ["tier"]


def test_a_script_task_a_job_worker_runs_is_mapped_as_a_job():
    body = _then_end("""<bpmn:scriptTask id="work" name="Generate the application id"><bpmn:extensionElements>
      <zeebe:taskDefinition type="generate-application-id"/></bpmn:extensionElements></bpmn:scriptTask>""")
    (problem,) = errors(parse(camunda(body)))  # before: "the script task has no script"
    assert problem.element_id == "work" and "map-operator job 'generate-application-id' OPERATOR" in problem.reason
    bundle = parse(camunda(body), {("job", "generate-application-id"): Operator("ids.next")})
    assert errors(bundle, ["ids.next"]) == []
    assert run(bundle)[1] == [("ids.next", {})]


def test_a_message_s_payload_is_the_instance_s_data_where_its_event_names_no_variable():
    body = _then_end("""<bpmn:intermediateCatchEvent id="work"><bpmn:messageEventDefinition messageRef="M"/>
      </bpmn:intermediateCatchEvent>""")
    content = camunda(body).replace(b'<bpmn:process id="p"', b'<bpmn:message id="M" name="paid"/><bpmn:process id="p"')
    bundle = parse(content)
    process = bundle.processes["p"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, {"loan": "L-1"})
    assert engine.advance(workflow).messages == ["paid"]
    outcome = engine.catch_message(workflow, "paid", {"amount": "500.00"})  # before: the payload was dropped
    assert outcome.status == "completed" and outcome.data == {"loan": "L-1", "amount": "500.00"}


def test_a_waiting_event_is_given_the_key_its_message_s_subscription_says():
    body = _then_end("""<bpmn:receiveTask id="work" messageRef="M"/>""")
    content = camunda(body).replace(b'<bpmn:process id="p"', b"""<bpmn:message id="M" name="paid">
      <bpmn:extensionElements><zeebe:subscription correlationKey="=order.id"/></bpmn:extensionElements>
      </bpmn:message><bpmn:process id="p\"""")
    process = parse(content).processes["p"]
    engine = ProcessEngine()
    for order, key in ((42, "42"), ("A-7", "A-7")):
        workflow = engine.new_workflow(process.spec, process.embedded, {"order": {"id": order}})
        outcome = engine.advance(workflow)
        assert outcome.message_keys == {"paid": key}
    for wrong, said in (([1], "a key is a text or a whole number"), (1.5, "a key is a text or a whole number"),
                        ("k" * 129, "129 characters long here: a key has at most 128")):
        workflow = engine.new_workflow(process.spec, process.embedded, {"order": {"id": wrong}})
        outcome = engine.advance(workflow)
        assert outcome.status == "error" and said in outcome.error["message"]
