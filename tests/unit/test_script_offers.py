"""Issue 17, scripts written for SpiffArena: `timedelta`, `time.time()` (also after `import time`),
`datetime.utcnow()`, `get_localtime` and `sanitize_for_md` mean what they mean there, in every way the
engine runs a script; `time.sleep` stays refused; the data's own value of a name wins; SpiffArena's
server functions are refused at the strict check naming the function and what to do instead."""
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
    ("import time\ntime.sleep(1)", r"time.sleep is not allowed"),
    ("from time import sleep\nsleep(1)", r"time.sleep is not allowed"),
    ("import os", r"import of module 'os' is not allowed in diagram scripts \(allowed: datetime, decimal, json, "
                  r"math, re, time\)"),
    ("from time import monotonic", r"no attribute 'monotonic'"),
    ("modules = datetime.sys.modules", r"access to module 'sys' is not allowed"),
    ("clock = time.monotonic()", r"no attribute 'monotonic'"),
])
def test_what_is_not_offered_stays_refused(mode: str, script: str, message: str) -> None:
    with pytest.raises((SandboxViolation, AttributeError), match=message):
        SandboxEnvironment(isolation=mode).execute(script, {})


@pytest.mark.parametrize("mode", MODES)
def test_import_time_gives_the_offered_stand_in(mode: str) -> None:
    before = time.time()
    context: dict = {}
    SandboxEnvironment(isolation=mode).execute(
        "import time\nstamp = time.time()\nfrom time import time_ns\nnanos = time_ns()\ndel time", context)
    assert before <= context["stamp"] <= time.time()
    assert context["nanos"] >= int(before * 1e9)
    assert set(context) == {"stamp", "nanos"}


CST = datetime.timezone(datetime.timedelta(hours=8), "CST")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("call", "expected"), [
    # A naive datetime is UTC, the engine's clock, whatever the server's zone.
    ("get_localtime(when, 'Asia/Shanghai')", datetime.datetime(2026, 12, 4, 16, 0, tzinfo=CST)),
    ("get_localtime(datetime=when, timezone='Asia/Shanghai')", datetime.datetime(2026, 12, 4, 16, 0, tzinfo=CST)),
    # SpiffArena's default zone, with the offset of that day (winter: EST, UTC-5).
    ("get_localtime(when)", datetime.datetime(2026, 12, 4, 3, 0, tzinfo=datetime.timezone(
        datetime.timedelta(hours=-5), "EST"))),
    # Summer in New York: the offset is the moment's, not the zone's first one.
    ("get_localtime(datetime.datetime(2026, 7, 1, 12, 0), 'America/New_York')",
     datetime.datetime(2026, 7, 1, 8, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-4), "EDT"))),
    ("get_localtime(datetime.datetime(2026, 12, 4, 9, 0, tzinfo=datetime.timezone.utc), 'Asia/Shanghai')"
     ".strftime('%Y-%m-%d %H:%M %Z')", "2026-12-04 17:00 CST"),
])
def test_get_localtime_converts_as_spiffarena_does(mode: str, call: str, expected: object) -> None:
    result = SandboxEnvironment(isolation=mode).evaluate(call, {"when": datetime.datetime(2026, 12, 4, 8, 0)})
    assert result == expected
    if isinstance(expected, datetime.datetime):
        assert result.utcoffset() == expected.utcoffset() and result.tzname() == expected.tzname()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("call", "message"), [
    ("get_localtime(timestamp=when)", r"get_localtime takes the datetime to convert and a time zone name: .*; it "
                                      r"has no argument timestamp"),
    ("get_localtime()", r"get_localtime takes the datetime to convert"),
    ("get_localtime('2026-12-04T08:00', 'Asia/Shanghai')", r"get_localtime converts a datetime, not str: parse a "
                                                            r"text first"),
    ("get_localtime(when, 'Mars/Olympus')", r"'Mars/Olympus' is not a time zone name"),
    ("get_localtime(when, '../../../etc/passwd')", r"is not a time zone name"),
    ("get_localtime(when, '/etc/localtime')", r"is not a time zone name"),
    ("sanitize_for_md(3)", r"sanitize_for_md escapes a text, not int"),
])
def test_a_wrong_call_of_an_offered_function_says_what_is_wrong(mode: str, call: str, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        SandboxEnvironment(isolation=mode).evaluate(call, {"when": datetime.datetime(2026, 12, 4, 8, 0)})


@pytest.mark.parametrize("mode", MODES)
def test_sanitize_for_md_escapes_the_table_separator(mode: str) -> None:
    context = {"name": "A | B || C"}
    SandboxEnvironment(isolation=mode).execute("cell = sanitize_for_md(name)", context)
    assert context["cell"] == "A \\| B \\|\\| C"
    assert SandboxEnvironment(isolation=mode).evaluate("sanitize_for_md('无竖线')", {}) == "无竖线"


@pytest.mark.parametrize("mode", MODES)
def test_the_datas_own_get_localtime_wins(mode: str) -> None:
    assert SandboxEnvironment(isolation=mode).evaluate("get_localtime", {"get_localtime": "noon"}) == "noon"


def test_a_converted_time_is_stored_and_read_back_with_its_offset() -> None:
    bundle = parse_diagrams([DiagramFile("s.bpmn", script_process(
        "local = get_localtime(datetime.datetime(2026, 12, 4, 8, 0), 'Asia/Shanghai')\n"
        "label = local.strftime('%H:%M %Z')"))])
    assert lint_bundle(bundle, (), ()) == []
    process = bundle.processes["scripted"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    outcome = engine.advance(workflow)
    assert outcome.status == "completed", outcome.error
    assert outcome.data["label"] == "16:00 CST"
    restored = engine.restore(outcome.state, process.spec, process.embedded)
    assert restored.data["local"] == datetime.datetime(2026, 12, 4, 16, 0, tzinfo=CST)


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
