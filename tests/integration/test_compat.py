"""`flask --app wsgi processes compat DIR` (issue 17): a folder of diagrams parsed, checked, deployed and
driven to an end on a throwaway database, with a table, the summary line, false completions and tracebacks.

The fixture folder (tests/fixtures/compat, copied to a temporary folder) holds one process that runs to
its end through a user task with a form, a service task, a timer and a message; one whose script fails;
two refused by the strict check (a Groovy script, in a `.bpmn20.xml` in a subfolder; a form that is
not a JSON Schema); a process without any end event, which ends at the end event the import draws
after its last element (BPMN's implicit end); one whose branch stops at a task before its end event,
which ends there too (it was a false completion until the import drew that end: a test puts the old
import back and checks the run reports it). The corpus is not
run here: docs/compatibility.md records its figures.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.engine import implicit_flow
from app.engine.xml import BPMN_NS
from app.extensions import db
from app.models import Deployment, ProcessInstance
from app.services.workflow import compat_answers, instances

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "compat"
COLUMNS = ("file", "process", "parsed", "imported", "lint", "deployed", "ran", "reason")
EXPLODES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="compat_explodes" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f0</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "diagrams"
    shutil.copytree(FIXTURES, target)
    return target


def _table(output: str) -> dict[str, dict[str, str]]:
    lines = output.splitlines()
    start = lines.index("\t".join(COLUMNS))
    rows = {}
    for line in lines[start + 1:]:
        cells = line.split("\t")
        if len(cells) != len(COLUMNS):
            break
        rows[cells[1]] = dict(zip(COLUMNS, cells, strict=True))
    return rows


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_table_and_the_summary_say_what_ran_and_why_the_others_did_not(app, runner, folder, tmp_path):
    result = runner.invoke(args=["processes", "compat", str(folder), "--json", str(tmp_path / "rows.json")])
    assert result.exit_code == 0, result.output
    rows = _table(result.output)
    assert set(rows) == {"compat_runs", "compat_script_error", "compat_groovy", "compat_no_end", "compat_dynamic_choices",
                         "compat_dead_end"}

    runs = rows["compat_runs"]  # a form, a service answered by the fake, a timer fast-forwarded, a message
    assert runs["file"] == "runs_to_end.bpmn"
    assert (runs["parsed"], runs["lint"], runs["deployed"], runs["ran"], runs["reason"]) == ("yes", "yes", "yes", "yes", "")

    failed = rows["compat_script_error"]
    assert (failed["deployed"], failed["ran"]) == ("yes", "no")
    assert failed["reason"].startswith("incident at add: The script at add reads never_set, which this instance has "
                                       "no value for")  # the incident's reason, not the exception's text

    refused = rows["compat_groovy"]  # found under a subfolder, as a .bpmn20.xml
    assert refused["file"] == "more/groovy.bpmn20.xml"
    assert (refused["parsed"], refused["lint"], refused["deployed"], refused["ran"]) == ("yes", "no", "no", "no")
    assert refused["reason"].startswith("greet: the script is written in groovy")

    # a form that is JSON but no JSON Schema passed the check, then every submission was refused
    broken = rows["compat_dynamic_choices"]
    assert (broken["parsed"], broken["lint"], broken["deployed"], broken["ran"]) == ("yes", "no", "no", "no")
    assert broken["reason"].startswith("pick: its form 'dynamic-choices.json' is not a valid JSON Schema")

    # a process without any end event ended `completed` having reached none; it ends now at the end event the
    # import draws after its last element (BPMN's implicit end), and the import says so
    no_end = rows["compat_no_end"]
    assert (no_end["parsed"], no_end["lint"], no_end["deployed"], no_end["ran"]) == ("yes", "yes", "yes", "yes")
    assert "ImplicitEnd_note" in no_end["imported"]

    # a branch that stops at a task where the process has end events ends there (as Camunda 7 ends it), at
    # the end event the import draws and names; before, it ended `completed` with none in its history
    stopped = rows["compat_dead_end"]
    assert (stopped["ran"], stopped["reason"]) == ("yes", "")
    assert "ImplicitEnd_note" in stopped["imported"]

    # why the three others did not run, by group, and the ceiling that leaves (`compat_why`)
    tail = result.output.splitlines()[-9:]
    assert tail == [
        "false completions: 0", "tracebacks: 0", "disagreements: 0",
        "not run, the diagram does not say what to run: 1",  # the form that is no JSON Schema
        "not run, refused by rule (safety, or a language Loanflow does not run): 1",  # Groovy
        "not run, needs what only the outside world gives (start data, a service's answer, a payload): 1",
        "cannot run as written: 2; ceiling 4 of 6 (66.7%)",
        "runnable with what the folder holds: 3; ran 3 of them (100.0%)",
        "ran 3 of 6 executable processes"]
    written = json.loads((tmp_path / "rows.json").read_text())
    assert written["summary"] == "ran 3 of 6 executable processes"
    assert written["disagreements"] == 0
    assert (written["ceiling"], written["runnable_here"]) == (4, 3)
    assert written["not_run"] == {"unsaid": 1, "refused": 1, "outside": 1}
    assert {r["process_id"]: r["why"] for r in written["rows"]} == {
        "compat_runs": "", "compat_script_error": "outside", "compat_groovy": "refused", "compat_no_end": "",
        "compat_dynamic_choices": "unsaid", "compat_dead_end": ""}
    assert {r["process_id"]: r["ran"] for r in written["rows"]} == {
        "compat_runs": True, "compat_script_error": False, "compat_groovy": False, "compat_no_end": True,
        "compat_dynamic_choices": False, "compat_dead_end": True}
    assert [r["process_id"] for r in written["rows"] if r["false_completion"]] == []
    assert [r["end_events"] for r in written["rows"] if r["process_id"] == "compat_dead_end"] == [["ImplicitEnd_note"]]
    # through the form's answers, the service, the timer and the message, not the gateway's default flow
    assert [r["end_events"] for r in written["rows"] if r["process_id"] == "compat_runs"] == [["end_done"]]
    assert [r["end_events"] for r in written["rows"] if r["process_id"] == "compat_no_end"] == [["ImplicitEnd_note"]]

    with app.app_context():  # everything happened on the throwaway database
        assert _count(Deployment) == 0
        assert _count(ProcessInstance) == 0


def test_a_form_with_a_condition_on_its_answers_gets_data_the_form_accepts():
    """Without the form's data (the enum's first choice, the minimum amount) the gateway would take its
    default flow to `end_declined`: the run's table cannot tell, so the data is checked here."""
    schema = json.loads((FIXTURES / "compat-request.json").read_text())
    data = compat_answers.form_data(schema)
    assert data == {"decision": "approve", "amount": 10, "note": "xxx"}
    assert compat_answers.form_data(None) == {}
    # a field required but described only in the UI schema still gets a value
    assert compat_answers.form_data({"type": "object", "required": ["firstName"], "properties": {}}) == {"firstName": "x"}


def test_an_unexpected_exception_is_counted_and_the_run_goes_on(app, runner, folder, monkeypatch):
    (folder / "explodes.bpmn").write_text(EXPLODES, encoding="utf-8")
    real_start = instances.start

    def start(process_id, *args, **kwargs):
        if process_id == "compat_explodes":
            raise RuntimeError("the engine fell over")
        return real_start(process_id, *args, **kwargs)

    monkeypatch.setattr(instances, "start", start)
    result = runner.invoke(args=["processes", "compat", str(folder)])
    assert result.exit_code == 0, result.output
    rows = _table(result.output)
    assert rows["compat_explodes"]["ran"] == "no"
    assert rows["compat_explodes"]["reason"] == "TRACEBACK RuntimeError in the run: the engine fell over"
    assert rows["compat_runs"]["ran"] == "yes"  # the files after it still ran
    lines = result.output.splitlines()
    assert lines[-1] == "ran 3 of 7 executable processes"
    assert lines[lines.index("tracebacks: 1") - 1:lines.index("tracebacks: 1") + 2] == [
        "false completions: 0", "tracebacks: 1", "disagreements: 0"]
    # the traceback is Loanflow's own: it counts against its figure
    assert "not run, Loanflow's own defect (an unexpected exception, a false completion): 1" in lines
    assert "runnable with what the folder holds: 4; ran 3 of them (75.0%)" in lines


def test_a_completion_that_reached_no_end_event_is_reported_false_and_counted_against_loanflow(
        runner, folder, tmp_path, monkeypatch):
    """The import as it was before it ended such a path at an end event of its own: the branch that stops
    at `note` ended the instance `completed` with no end event in its history. The run must say so."""
    real = implicit_flow._implicit_ends

    def as_before(scope, filename, taken):
        return [] if scope.find(f"{{{BPMN_NS}}}endEvent") is not None else real(scope, filename, taken)

    monkeypatch.setattr(implicit_flow, "_implicit_ends", as_before)
    result = runner.invoke(args=["processes", "compat", str(folder), "--json", str(tmp_path / "rows.json")])
    assert result.exit_code == 0, result.output
    stopped = _table(result.output)["compat_dead_end"]
    assert (stopped["ran"], stopped["reason"]) == (
        "no", "FALSE COMPLETION: completed without reaching an end event (the process has end events: none was "
              "reached)")
    lines = result.output.splitlines()
    assert "false completions: 1" in lines
    assert "not run, Loanflow's own defect (an unexpected exception, a false completion): 1" in lines
    written = json.loads((tmp_path / "rows.json").read_text())
    assert [r["process_id"] for r in written["rows"] if r["false_completion"]] == ["compat_dead_end"]
