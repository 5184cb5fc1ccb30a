"""Issue 17, scripts written for SpiffArena: `timedelta`, `time.time()` and `datetime.utcnow()` mean
what they mean there, in every way the engine runs a script; `time.sleep` and `import time` stay
refused; the data's own value of a name wins; SpiffArena's server functions are refused at the strict
check naming the function and what to do instead."""
from __future__ import annotations

import datetime
import time
from xml.sax.saxutils import escape

import pytest

from app.engine import script_offers
from app.engine.dmn_lint import lint_decision_file
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from app.engine.sandbox import SandboxEnvironment
from app.engine.scripting import SandboxViolation

MODES = ["off", "auto", "always"]  # in process, as the engine runs them, in a sandbox process


@pytest.mark.parametrize("mode", MODES)
def test_spiffarena_time_names_work(mode: str) -> None:
    before = time.time()
    context: dict = {}
    SandboxEnvironment(isolation=mode).execute(
        "stamp = time.time()\nlater = (datetime.utcnow() + timedelta(days=1)).date().isoformat()\n"
        "epoch = datetime.utcfromtimestamp(0).year\nparsed = datetime.fromisoformat('2026-12-04T10:00').hour\n"
        "today = datetime.date(2026, 12, 4).isoformat()", context)
    assert before <= context["stamp"] <= time.time()
    assert context["later"] == (datetime.datetime.utcnow() + datetime.timedelta(days=1)).date().isoformat()
    assert (context["epoch"], context["parsed"], context["today"]) == (1970, 10, "2026-12-04")
    assert set(context) == {"stamp", "later", "epoch", "parsed", "today"}  # no module or class left in the data


@pytest.mark.parametrize("mode", MODES)
def test_a_timedelta_expression_gives_a_timedelta(mode: str) -> None:
    assert SandboxEnvironment(isolation=mode).evaluate("timedelta(seconds=30)", {}) == datetime.timedelta(seconds=30)


@pytest.mark.parametrize("mode", MODES)
def test_a_script_may_delete_time_as_spiffarena_scripts_do(mode: str) -> None:
    context: dict = {}
    SandboxEnvironment(isolation=mode).execute("stamp = time.time()\ntopic = f'topic_{stamp}'\ndel time", context)
    assert context["topic"].startswith("topic_")


@pytest.mark.parametrize("mode", MODES)
def test_the_datas_own_value_of_an_offered_name_wins_and_stays(mode: str) -> None:
    context = {"time": "10:30", "timedelta": 3}
    SandboxEnvironment(isolation=mode).execute("label = 'at ' + time\nlater = timedelta + 1", context)
    assert context == {"time": "10:30", "timedelta": 3, "label": "at 10:30", "later": 4}
    assert SandboxEnvironment(isolation=mode).evaluate("time", {"time": "10:30"}) == "10:30"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("script", "message"), [
    ("time.sleep(3600)", r"time.sleep is not allowed in diagram scripts: .* wait with a timer event"),
    ("nap = getattr(time, 'sleep')\nnap(3600)", r"time.sleep is not allowed"),
    ("import time\nstamp = time.time()", r"import of module 'time' is not allowed in diagram scripts \(allowed: "
                                         r"datetime, decimal, json, math, re\): without the import, `time.time\(\)`"),
    ("from time import time", r"import of module 'time' is not allowed"),
    ("modules = datetime.sys.modules", r"access to module 'sys' is not allowed"),
    ("clock = time.monotonic()", r"no attribute 'monotonic'"),
])
def test_what_is_not_offered_stays_refused(mode: str, script: str, message: str) -> None:
    with pytest.raises((SandboxViolation, AttributeError), match=message):
        SandboxEnvironment(isolation=mode).execute(script, {})


def test_offered_names_do_not_reach_the_real_time_module() -> None:
    assert script_offers.TIME is not time
    assert script_offers.TIME.sleep is not time.sleep
    assert set(vars(script_offers.TIME)) - {"__name__", "__doc__", "__package__", "__loader__", "__spec__"} == {
        "time", "time_ns", "sleep"}


def script_process(script: str, element: str = "work", tag: str = "bpmn:script") -> bytes:
    body = (f'<bpmn:scriptTask id="{element}"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>'
            f'<{tag}>{escape(script)}</{tag}></bpmn:scriptTask>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="scripted" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>{body}
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="{element}"/>
    <bpmn:sequenceFlow id="f1" sourceRef="{element}" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_a_spiffarena_script_runs_to_its_end() -> None:
    bundle = parse_diagrams([DiagramFile("s.bpmn", script_process(
        "timestamp = time.time()\ntopic = f'conversation_{timestamp}'\ndel time\n"
        "deadline = (datetime.now() + timedelta(days=2)).isoformat()"))])
    assert lint_bundle(bundle, (), ()) == []
    process = bundle.processes["scripted"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "completed", outcome.error
    assert outcome.data["topic"].startswith("conversation_")
    assert "time" not in outcome.data and "timedelta" not in outcome.data


@pytest.mark.parametrize(("script", "said"), [
    ("d = get_env()", "get_env(), which is a SpiffArena server function Loanflow does not provide: a script runs "
                      "the same in every environment"),
    ("key = get_secret('API_KEY')", "get_secret(), which is SpiffArena's way to hand a script a secret, and "
                                    "scripts never see secrets in Loanflow"),
    ("me = get_current_user()['username']", "get_current_user(), which is a SpiffArena server function"),
    ("url = get_url_for_task_with_bpmn_identifier('t', public=False)", "get_url_for_task_with_bpmn_identifier()"),
    ("time.sleep(0.1)\na = 1", "time.sleep(), which is refused in Loanflow's scripts: a script that waits holds a "
                               "worker; wait with a timer event"),
    ("text = open('/etc/passwd').read()", "open(), which is refused in Loanflow's scripts: a script never reads or "
                                          "writes files"),
])
def test_a_spiffarena_server_function_is_refused_at_the_strict_check(script: str, said: str) -> None:
    problems = lint_bundle(parse_diagrams([DiagramFile("s.bpmn", script_process(script))]), (), ())
    assert [(p.element_id, p.severity) for p in problems] == [("work", "error")]
    assert problems[0].reason.startswith(f"the script calls {said}")
    assert "which this instance has no value for" not in problems[0].reason


def test_a_function_of_the_scripts_own_is_not_taken_for_spiffarenas() -> None:
    script = "def get_env():\n    return 'test'\nd = get_env()"
    assert script_offers.calls_not_provided(script, "exec") == []
    assert lint_bundle(parse_diagrams([DiagramFile("s.bpmn", script_process(script))]), (), ()) == []


def test_each_function_is_named_once_in_the_order_called() -> None:
    found = script_offers.calls_not_provided("a = get_env()\nb = get_secret('x')\nc = get_env()", "exec")
    assert [f.split("(")[0] for f in found] == ["get_env", "get_secret"]
    assert script_offers.calls_not_provided("x.get_env()", "eval") == []  # a method of the data's, not the function


def test_a_decision_input_that_calls_a_spiffarena_function_is_refused_naming_it() -> None:
    def table(expression: str) -> bytes:
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="http://t">
  <decision id="timeout" name="Timeout">
    <decisionTable id="table">
      <input id="env"><inputExpression id="env_expr" typeRef="string"><text>{expression}</text></inputExpression></input>
      <output id="seconds" name="seconds" typeRef="integer"/>
      <rule id="staging"><inputEntry id="is_staging"><text>"staging"</text></inputEntry>
        <outputEntry id="sixty"><text>60</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>""".encode()

    problems = lint_decision_file("hot.dmn", table("get_env()"))
    assert [p.element_id for p in problems] == ["env_expr"]
    assert problems[0].reason.startswith("input expression 'get_env()' calls get_env(), which is a SpiffArena server "
                                         "function Loanflow does not provide")
    assert lint_decision_file("hot.dmn", table("environment")) == []
