"""Diagrams drawn by other people with other tools: Loanflow imports what SpiffWorkflow can run.

The corpus lives beside the repository in `shared/corpus/` and is read in place. Its
`MANIFEST.tsv` has one row per file and says, among other things, whether SpiffWorkflow 3.2.0's
`SpiffBpmnParser` parses each BPMN file. Every `.bpmn` and `.dmn` file goes through the project's
import layer, `parse_diagrams`, and must come out the way the manifest says; nothing may raise
anything but `DiagramRejected`.

How the manifest's columns are read (DESIGN.md: "each parser alone, without the XSD validator, DMN
files of the same folder loaded first; call activities may fail for missing called processes"):

* `kind` -- `bpmn` and `dmn` are diagrams. `unparseable xml` (entity attacks, an empty file, IBM
  exports whose namespace URIs contain spaces) and `xml (svg)` (an SVG saved as `.dmn`) also carry
  a diagram's extension, so they go through the importer too and must be refused. The other kinds
  (forms, JSON, spiff-arena metadata) are not diagrams and are not imported.
* `SpiffBpmnParser` -- `ok`: every executable process of the file gave a spec, so the file must
  be accepted with exactly as many processes as `processes_exec_of_total` counts as executable
  (a `process` without `isExecutable` counts as executable, as in SpiffWorkflow). `err`: at
  least one executable process failed, so the file must be refused; when `first_error` quotes
  SpiffBpmnParser's own message, the refusal must carry that message. `noexec`: the file has no
  executable process, refused as such. An empty cell only occurs for non-BPMN kinds.
* `forced_executable` -- what the parsers said after forcing `isExecutable="true"` on a `noexec`
  file. Informational: Loanflow never runs a process its author marked non-executable, so a
  `noexec` file is refused whatever this column says.
* `call_activity_bundle` -- whether the file's process could be bundled with the processes it
  calls (`missing`: a called process is not in the folder). Per-file acceptance does not depend
  on called processes (they may be deployed later). It matters in one way: the `SpiffBpmnParser`
  column parsed only each top-level process, while `parse_diagrams` also builds the specs of the
  subprocesses drawn inside it (an instance cannot run without them), which the bundling did too.
  So for an `ok` file whose bundle says `SpiffBpmnParser=err`, a refusal is accepted *if every
  problem is about an element inside an embedded subprocess*; acceptance is fine too (the bundle
  may have failed on another file). In this corpus that is `spiff-arena/spiff_example/
  multiinstance.bpmn`: its "Fulfill Order" subprocess has a Camunda `decisionRef` business-rule
  task, which SpiffBpmnParser cannot use (the import layer reads it now: accepted).
* A file refused because a business-rule task names its decision only with `camunda:decisionRef`
  (SpiffWorkflow never reads it) is accepted now, calling that decision, the import's change said as
  a warning (`app/engine/camunda_decisions.py`).
* DMN rows -- `parses_with` is `BpmnDmnParser` (accepted, holding `dmn` decisions) or `none`
  (refused). `first_error`'s Python exceptions there (`IndexError`, `AttributeError`) must not leak
  through as the reason. SpiffWorkflow's reader takes the first decision of a file only; Loanflow's
  import layer splits a file into one document per decision (`app/engine/dmn_split.py`), so a file
  with several decisions is accepted with each of them. Every such file in this corpus has a decision
  that requires another (`requiredDecision`), which SpiffWorkflow cannot evaluate; Loanflow evaluates
  the requirements first (`app/engine/decision_logic.py`), so a file whose decisions can all be
  evaluated is accepted with each of them (`check_decision_graph` below; the ones whose tables write
  FEEL functions Loanflow does not translate stay refused, naming the entry); the others are refused
  for no decision or prefixed DMN elements. One difference from the manifest: a decision that is not a
  decision table is refused (SpiffWorkflow's reader accepts it and its engine fails with an
  IndexError when a process reaches it; its `diagram-interchange-*` files draw empty decisions) --
  `no_table_decision` below.

A second difference: a Camunda service task (`camunda:class`, `delegateExpression`, `expression`,
an external task's topic) that SpiffBpmnParser refused with "A Service Task must have an operator"
parses now, and the import layer's strict-check errors name the implementation, which an admin maps
to an operator (`app/engine/camunda_services.py`, the operator mapping table) --
`check_unmapped_service` below. So does a connector, a Camunda 8 job type, and a service task (a send
task without a message, a business-rule task without a decision) that names no implementation at
all, which an admin maps by its name; and a multi-instance marker drawn for Camunda
(`camunda:collection`, `zeebe:loopCharacteristics`), which the import writes in BPMN's form or, when
it cannot run, leaves the strict check an error naming the element (`app/engine/camunda_multi_instance.py`)
-- `said_by_the_service_or_multi_instance_import` below.

A third: BPMN's implicit flow (`app/engine/implicit_flow.py`). SpiffBpmnParser refused a process or
sub-process without a start event ("No start event found", "Exactly one start event is required in a
SubWorkflow Task; found 0"), an activity with several outgoing flows ("Multiple outgoing flows are not
supported") and an exclusive gateway's flow without a condition ("Non-default exclusive outgoing
sequence flow without condition"); the import layer draws what BPMN (or Camunda 7) means and says so,
so such a file may be accepted -- `check_implicit_flow` below -- and a pool without any flow element
(a black box in a collaboration) is left out as not executable, one warning each, so the file holds
that many processes fewer than the manifest counts.

A fourth: BPMN data stores and data associations (`app/engine/data_stores.py`). SpiffBpmnParser
refused a data store without an implementation registered under its name ("Data Store with name X
has no implementation", "Data Store name is missing from bpmn xml") and a data association it could
not resolve ("Cannot resolve dataOutputAssociation <Element ...>": a data store reference naming no
store, a process's data input or output); Loanflow keeps such a store's value itself and resolves
what BPMN allows, each store and repair said as a warning, so such a file may be accepted --
`check_data_store` below.

SpiffWorkflow's own warnings while parsing (18 sample-process-models files keep the message
payload on `bpmn:message`, deprecated in SpiffWorkflow 3) are warning findings in
`Bundle.warnings`; they never refuse a file, even with warnings turned into errors as here.

"DMN files of the same folder" is read as the DMN files in the BPMN file's folder *and its
subfolders*: SpiffWorkflow's own test data keeps `spiff/data/dmn/business_rules.dmn` beside
`spiff/data/business_rule_task.bpmn`, which the manifest records as parsed by SpiffBpmnParser.
Over this corpus the two readings differ for that one file only.

If the corpus folder is missing the tests skip, except under LOANFLOW_REQUIRE_SERVICES=1 (CI),
where they fail.
"""
from __future__ import annotations

import csv
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree

from app.engine.errors import DiagramProblem, DiagramRejected
from app.engine.parser import Bundle, DiagramFile, ParsedProcess, parse_diagrams
from app.engine.runner import ProcessEngine, StepOutcome

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
MANIFEST = CORPUS / "MANIFEST.tsv"
REQUIRE_SERVICES = os.environ.get("LOANFLOW_REQUIRE_SERVICES") == "1"
MAX_BYTES = 64 * 1024 * 1024  # far above any corpus file: size is not what is tested here
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
EMBEDDING = {"subProcess", "transaction", "adHocSubProcess"}
DIAGRAM_SUFFIXES = (".bpmn", ".dmn")
UNMAPPED_SERVICE = "A Service Task must have an operator"  # SpiffWorkflow's, for a Camunda service task
IMPLICIT_FLOW = ("No start event found", "Exactly one start event is required in a SubWorkflow Task; found 0",
                 "Multiple outgoing flows are not supported", "Non-default exclusive outgoing sequence flow without")
EMPTY_POOL = "has no flow elements"  # the import's warning for a process it leaves out
DATA_STORE = ("Data Store with name", "Data Store name is missing", "Cannot resolve dataOutputAssociation",
              "Cannot resolve dataInputAssociation")  # SpiffWorkflow's, for stores and associations
CAMUNDA_DECISION = "(camunda:decisionRef)"  # the import's warning for a decision named the Camunda 7 way
# A reason that is only the name of a Python exception says nothing to the person who drew it.
GENERIC_REASON = re.compile(r"^(IndexError|AttributeError|KeyError|TypeError|ValueError|XPathEvalError)\b")


def _load_manifest() -> list[dict[str, str]] | None:
    if not MANIFEST.is_file():
        return None
    with MANIFEST.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = _load_manifest()


def require_corpus() -> list[dict[str, str]]:
    if ROWS is None:
        message = (f"the diagram corpus is missing: expected {MANIFEST} (shared/corpus/ beside the "
                   "repository checkout)")
        if REQUIRE_SERVICES:
            pytest.fail(f"LOANFLOW_REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    return ROWS


def _diagram_params() -> list:
    if ROWS is None:
        return [pytest.param(None, id="corpus-missing")]
    return [pytest.param(row, id=row["local_path"]) for row in ROWS
            if row["local_path"].endswith(DIAGRAM_SUFFIXES)]


@cache
def _bytes(local_path: str) -> bytes:
    return (CORPUS / local_path).read_bytes()


@cache
def _dmn_paths() -> tuple[str, ...]:
    return tuple(r["local_path"] for r in require_corpus() if r["kind"] == "dmn")


def context_dmn_for(local_path: str) -> list[DiagramFile]:
    """The DMN files in the BPMN file's folder and below it (see the module docstring)."""
    folder = str(Path(local_path).parent) + "/"
    return [DiagramFile(p, _bytes(p)) for p in _dmn_paths() if p.startswith(folder)]


def expectation(row: dict[str, str]) -> str:
    """'accept', 'reject', or 'accept-or-reject-in-subprocess', from the manifest row."""
    kind = row["kind"]
    if kind == "bpmn":
        verdict = row["SpiffBpmnParser"]
        if verdict == "ok":
            return "accept-or-reject-in-subprocess" if "SpiffBpmnParser=err" in row["call_activity_bundle"] \
                else "accept"
        if verdict in ("err", "noexec"):
            return "reject"
        pytest.fail(f"MANIFEST.tsv: unknown SpiffBpmnParser value {verdict!r} for {row['local_path']}")
    if kind == "dmn":
        if row["parses_with"] == "BpmnDmnParser":
            return "reject" if no_table_decision(_bytes(row["local_path"])) else "accept"
        if row["parses_with"] == "none":
            return "reject"
        pytest.fail(f"MANIFEST.tsv: unknown parses_with value {row['parses_with']!r} for {row['local_path']}")
    return "reject"  # a diagram's extension on something that is not a BPMN or DMN document


def no_table_decision(content: bytes) -> bool:
    """Whether a DMN file has a decision without a decision table (see the module docstring)."""
    root = etree.fromstring(content)
    return any(etree.QName(d).localname == "decision" and not any(
        isinstance(c.tag, str) and etree.QName(c).localname == "decisionTable" for c in d)
        for d in root if isinstance(d.tag, str))


def spiff_message(row: dict[str, str]) -> str | None:
    """SpiffBpmnParser's own error message, when `first_error` quotes it."""
    match = re.match(r"SpiffBpmnParser: [^;]*; [^:]*: \w+: (.*)", row["first_error"])
    return match.group(1).strip() if match else None


def in_embedded_subprocess(content: bytes, element_id: str | None) -> bool:
    if not element_id:
        return False
    root = etree.fromstring(content)
    hits = root.xpath("//*[@id=$id]", id=element_id)
    return bool(hits) and any(etree.QName(a).localname in EMBEDDING and etree.QName(a).namespace == BPMN_NS
                              for a in hits[0].iterancestors())


def check_refusal(row: dict[str, str], problems: list[DiagramProblem]) -> None:
    path = row["local_path"]
    assert problems, f"{path}: DiagramRejected without problems"
    mine = [p for p in problems if p.file == path]
    assert mine, f"{path}: no problem names the file: {problems!r}"
    for problem in problems:
        assert problem.reason.strip(), f"{path}: empty reason in {problem!r}"
        assert not GENERIC_REASON.match(problem.reason), f"{path}: unspecific reason {problem.reason!r}"
    reasons = " | ".join(p.reason for p in mine)
    if row["kind"] == "bpmn" and row["SpiffBpmnParser"] == "noexec":
        assert "no executable process" in reasons, f"{path}: {reasons}"
    message = spiff_message(row) if row["kind"] == "bpmn" else None
    if message:
        assert any(message[:40] in p.reason or p.reason[:40] in message for p in mine), \
            f"{path}: manifest says {message!r}, the importer says {reasons!r}"
    if row["kind"] == "unparseable xml":
        assert re.search(r"malformed XML|DOCTYPE|empty", reasons), f"{path}: {reasons}"


def check_acceptance(row: dict[str, str], bundle: Bundle) -> None:
    path = row["local_path"]
    assert isinstance(bundle, Bundle)
    for finding in bundle.warnings:  # e.g. SpiffWorkflow's deprecated message extensions
        assert finding.severity == "warning" and finding.file == path and finding.reason.strip()
    if row["kind"] == "bpmn":
        executable = int(row["processes_exec_of_total"].split("/")[0])
        assert len(bundle.processes) == executable >= 1, \
            f"{path}: {sorted(bundle.processes)} but the manifest counts {row['processes_exec_of_total']}"
        assert all(p.file.filename == path for p in bundle.processes.values())
        assert bundle.decisions == {}  # context decisions are not the file's own
    else:
        assert len(bundle.decisions) == int(row["dmn"]) >= 1, f"{path}: {sorted(bundle.decisions)}"
        assert all(d.file.filename == path for d in bundle.decisions.values())
        assert bundle.processes == {}


@pytest.mark.parametrize("row", _diagram_params())
def test_corpus_file_is_imported_as_the_manifest_says(row):
    require_corpus()
    path = row["local_path"]
    expected = expectation(row)
    context = context_dmn_for(path) if row["kind"] != "dmn" else []
    try:
        bundle = parse_diagrams([DiagramFile(path, _bytes(path))], max_bytes=MAX_BYTES, context_dmn=context)
    except DiagramRejected as exc:
        check_refusal(row, exc.problems)
        if expected == "accept":
            pytest.fail(f"{path}: the manifest says SpiffWorkflow parses it, the importer refused: "
                        + "; ".join(f"{p.element_id}: {p.reason}" for p in exc.problems))
        if expected == "accept-or-reject-in-subprocess":
            outside = [p for p in exc.problems if not in_embedded_subprocess(_bytes(path), p.element_id)]
            assert not outside, f"{path}: refused for something outside its embedded subprocesses: {outside!r}"
    else:
        if expected == "reject" and (spiff_message(row) or "").startswith(UNMAPPED_SERVICE):
            check_unmapped_service(row, bundle)
            return
        if expected == "reject" and any(m in row["first_error"] for m in IMPLICIT_FLOW):
            check_implicit_flow(row, bundle)
            return
        if expected == "reject" and said_by_the_service_or_multi_instance_import(row, bundle):
            return
        if expected == "reject" and any(m in row["first_error"] for m in DATA_STORE):
            check_data_store(row, bundle)
            return
        if expected == "reject" and row["kind"] == "dmn" and b"requiredDecision" in _bytes(path):
            check_decision_graph(row, bundle)
            return
        if expected == "reject" and any(CAMUNDA_DECISION in w.reason for w in bundle.warnings):
            check_camunda_decision(row, bundle)
            return
        assert expected != "reject", (f"{path}: accepted ({sorted(bundle.processes) or sorted(bundle.decisions)}) "
                                      f"but the manifest says it fails: {row['first_error'] or row['kind']}")
        check_acceptance(row, bundle)


def check_unmapped_service(row: dict[str, str], bundle: Bundle) -> None:
    """A Camunda service task SpiffWorkflow refused for want of an operator parses now, and the strict
    check refuses it instead, naming the implementation an admin can map (see the module docstring)."""
    reasons = [p.reason for process in bundle.processes.values() for p in process.problems]
    assert any("mapped to no operator" in r or "runs no operator" in r or "names no topic" in r for r in reasons), \
        f"{row['local_path']}: accepted without naming its unmapped service implementation: {reasons!r}"


def check_decision_graph(row: dict[str, str], bundle: Bundle) -> None:
    """A file of decisions that require each other, refused by SpiffWorkflow, is accepted with every decision
    (their requirements are evaluated first, `app/engine/decision_logic.py`)."""
    path = row["local_path"]
    root = etree.fromstring(_bytes(path))
    drawn = {d.get("id") for d in root if isinstance(d.tag, str) and etree.QName(d).localname == "decision"}
    assert set(bundle.decisions) == drawn and len(drawn) == int(row["dmn"]), f"{path}: {sorted(bundle.decisions)}"
    assert bundle.processes == {}


def check_camunda_decision(row: dict[str, str], bundle: Bundle) -> None:
    """A business-rule task that names its decision with camunda:decisionRef, which SpiffWorkflow never
    reads, calls that decision now, the change said (app/engine/camunda_decisions.py)."""
    path = row["local_path"]
    said = [w for w in bundle.warnings if w.file == path and CAMUNDA_DECISION in w.reason]
    assert all(w.severity == "warning" and w.element_id for w in said), f"{path}: {said!r}"
    assert {d for p in bundle.processes.values() for d in p.decisions} >= {
        re.search(r"calls decision '([^']+)'", w.reason).group(1) for w in said}  # type: ignore[union-attr]
    assert len(bundle.processes) == int(row["processes_exec_of_total"].split("/")[0]) >= 1


def said_by_the_service_or_multi_instance_import(row: dict[str, str], bundle: Bundle) -> bool:
    """A file SpiffBpmnParser refused for a service task that names no operator in a form it reads (a
    connector, a Camunda 8 job, no implementation at all) or for a multi-instance marker drawn for
    Camunda may be accepted: the strict check still refuses it naming the element, or (a marker the
    manifest names as the failure) the import rewrote it, saying so (see the module docstring)."""
    errors = [p.reason for process in bundle.processes.values() for p in process.problems if p.severity == "error"]
    if any("mapped to no operator" in r or "runs no operator" in r or "the multi-instance cannot run" in r for r in errors):
        return True
    return "A multiinstance task must specify" in row["first_error"] and any(
        w.reason.startswith("multi-instance: ") for w in bundle.warnings)


def check_data_store(row: dict[str, str], bundle: Bundle) -> None:
    """A file SpiffBpmnParser refused for a data store or a data association is accepted with what the
    import made of them said, holding the processes the manifest counts (see the module docstring)."""
    path = row["local_path"]
    said = [w.reason for w in bundle.warnings if w.file == path and w.severity == "warning"]
    assert any(re.search(r"Loanflow's data store|the import copies|nothing is copied|through a data object reference",
                         r) for r in said), f"{path}: accepted without saying what the import made: {said!r}"
    check_acceptance(row, bundle)


def check_implicit_flow(row: dict[str, str], bundle: Bundle) -> None:
    """A file SpiffBpmnParser refused for BPMN's implicit flow is accepted with the import's changes said,
    its processes those the manifest counts less the empty pools left out (see the module docstring)."""
    path = row["local_path"]
    said = [w for w in bundle.warnings if w.file == path and w.severity == "warning"]
    assert any(re.search(r"the import (added|drew|gave it the condition True)|" + EMPTY_POOL, w.reason) for w in said), \
        f"{path}: accepted without saying what the import drew: {[w.reason for w in said]!r}"
    left_out = sum(1 for w in said if EMPTY_POOL in w.reason)
    executable = int(row["processes_exec_of_total"].split("/")[0])
    assert len(bundle.processes) == executable - left_out >= 1, \
        f"{path}: {sorted(bundle.processes)}, the manifest counts {row['processes_exec_of_total']}, {left_out} left out"


def test_manifest_lists_every_diagram_in_the_corpus():
    rows = require_corpus()
    listed = {r["local_path"] for r in rows}
    on_disk = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*")
               if p.is_file() and p.suffix in DIAGRAM_SUFFIXES}
    assert on_disk, f"no diagrams under {CORPUS}"
    assert on_disk <= listed, f"diagrams missing from MANIFEST.tsv: {sorted(on_disk - listed)[:10]}"
    assert all((CORPUS / p).is_file() for p in listed), "MANIFEST.tsv lists files that are not there"
    assert {r["kind"] for r in rows if r["local_path"].endswith(DIAGRAM_SUFFIXES)} >= {"bpmn", "dmn"}


# -- end-to-end runs of corpus models -----------------------------------------------------------

def _parse_folder(folder: str, names: list[str]) -> Bundle:
    base = CORPUS / folder
    return parse_diagrams([DiagramFile(n, (base / n).read_bytes()) for n in names], max_bytes=MAX_BYTES,
                          context_dmn=[DiagramFile(p.name, p.read_bytes()) for p in sorted(base.glob("*.dmn"))
                                       if p.name not in names])


def _subprocess_specs(bundle: Bundle, root: ParsedProcess) -> dict[str, Any]:
    """The specs an instance of `root` needs: its embedded subprocesses and what it calls, transitively."""
    specs: dict[str, Any] = dict(root.embedded)
    pending = list(root.calls)
    while pending:
        called = bundle.processes[pending.pop()]
        if called.process_id not in specs:
            specs[called.process_id] = called.spec
            specs.update(called.embedded)
            pending.extend(called.calls)
    return specs


def _form_schema(folder: str, process: ParsedProcess, outcome: StepOutcome) -> dict[str, Any]:
    (task,) = outcome.ready
    name = task.properties["formJsonSchemaFilename"]
    assert name in process.forms
    return json.loads((CORPUS / folder / name).read_text())


def _submit(engine: ProcessEngine, workflow, folder: str, process: ParsedProcess, outcome: StepOutcome,
            element_id: str, data: dict[str, Any]) -> StepOutcome:
    assert outcome.status == "waiting", outcome.error
    assert [t.element_id for t in outcome.ready] == [element_id]
    jsonschema.validate(data, _form_schema(folder, process, outcome))  # the form would accept it
    return engine.complete_user_task(workflow, outcome.ready[0].engine_task_id, data)


SUBMIT_INVOICE = "sample-process-models/misc/documentation/submit-invoice"
MONTHLY_SALARY = 10_000


@pytest.mark.parametrize(("invoice_amount", "approval", "end_event"), [
    pytest.param(MONTHLY_SALARY, None, "Event_0mf9je8", id="invoice-matches-salary"),
    pytest.param(MONTHLY_SALARY / 2, {"isInvoiceApproved": True, "approvalComment": "checked with the team"},
                 "Event_1dggzfv", id="invoice-needs-finance-review"),
])
def test_submit_invoice_runs_to_its_end_event(invoice_amount, approval, end_event):
    """spiff-arena's documented example: a form, service calls, an embedded subprocess with a
    script and a DMN decision, two gateways and a second form.

    `misc/test/submit-invoice/` holds an older copy whose "Match?" gateway has an unconditioned
    non-default flow (the manifest: `err`, refused by the corpus test above); the runnable model
    with its forms and decision is the one under `misc/documentation/submit-invoice/`.
    """
    require_corpus()
    bundle = _parse_folder(SUBMIT_INVOICE, ["submit-invoice1.bpmn"])
    process = bundle.processes["Proccess_submit_invoice_1"]
    assert process.decisions == ["Check_Amount_Documentation_Submit_Invoice"]
    assert process.operators == ["aws/AddDynamoItem", "bamboohr/GetPayRate"]
    assert all((CORPUS / SUBMIT_INVOICE / form).is_file() for form in process.forms)

    calls: list[tuple[str, dict[str, Any]]] = []
    handlers = {
        "aws/AddDynamoItem": lambda params: {"stored": params["table_name"]},
        "bamboohr/GetPayRate": lambda params: {"amount": str(MONTHLY_SALARY * 12)},
    }

    def call_service(operator: str, params: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
        calls.append((operator, params))
        return handlers[operator](params)

    engine = ProcessEngine(call_service=call_service)
    workflow = engine.new_workflow(process.spec, _subprocess_specs(bundle, process), {})
    outcome = engine.advance(workflow)
    invoice = {"contributorName": "Li Wei", "contributorId": 42, "invoiceId": 20261128,
               "invoiceAmount": invoice_amount, "invoiceCurrency": "US Dollar (USD)", "dueDate": "2026-12-31"}
    outcome = _submit(engine, workflow, SUBMIT_INVOICE, process, outcome, "Activity_0yes9h3", invoice)

    assert [op for op, _ in calls] == ["aws/AddDynamoItem", "bamboohr/GetPayRate"]
    assert calls[0][1] == {"table_name": "Invoice", "item_data": {
        "ContributorName": "Li Wei", "ContributorId": 42, "InvoiceId": 20261128,
        "InvoiceAmount": invoice_amount, "InvoiceCurrency": "US Dollar (USD)", "DueDate": "2026-12-31"}}
    if approval is not None:
        assert outcome.data["isMatch"] is False
        outcome = _submit(engine, workflow, SUBMIT_INVOICE, process, outcome, "Activity_1d3xl48", approval)

    assert outcome.status == "completed", outcome.error
    assert outcome.end_events == [end_event]
    assert outcome.data["annual_salary"] == MONTHLY_SALARY * 12
    assert outcome.data["isMatch"] is (approval is None)
    assert outcome.data["invoiceAmount"] == invoice_amount


USER_GUIDE = "sample-process-models/misc/documentation/user-guide-basics"


@pytest.mark.parametrize(("last_name", "telephone", "manual_task", "which"), [
    pytest.param("Norris", "17138686003", "Activity_0s0ak1j", "Chuck's Personal Number", id="personal"),
    pytest.param("Norris", "8005425277", "Activity_1aggwmx", "Chuck's Fan Club Number", id="fan-club"),
    pytest.param("Norris", "2125550100", "Activity_0uxorq8", "Some Other Chuck Norris", id="other-norris"),
    pytest.param("Berry", "2125550100", "Activity_1ewbhqq", "Some Other Chuck", id="other-chuck"),
])
def test_user_guide_basics_routes_by_its_decision_table(last_name, telephone, manual_task, which):
    """A form, a script that formats the number, a DMN decision, nested gateways, manual tasks."""
    require_corpus()
    bundle = _parse_folder(USER_GUIDE, ["user-guide-basics.bpmn"])
    process = bundle.processes["Proccess_rlm9uj3"]
    assert process.decisions == ["Analyze_Telephone_Number"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, _subprocess_specs(bundle, process), {})
    outcome = _submit(engine, workflow, USER_GUIDE, process, engine.advance(workflow), "Activity_0v7nz5r",
                      {"firstName": "Chuck", "lastName": last_name, "telephone": telephone})

    assert outcome.status == "waiting", outcome.error
    assert [t.element_id for t in outcome.ready] == [manual_task]
    assert outcome.ready[0].properties.get("kind") == "ManualTask"
    assert outcome.data["whichNumber"] == which
    digits = telephone[-10:]
    assert outcome.data["telephone_all"] == f"1 ({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    outcome = engine.complete_user_task(workflow, outcome.ready[0].engine_task_id, {})
    assert outcome.status == "completed", outcome.error
    assert outcome.end_events == ["Event_0c62aiv"]


def test_nested_call_activities_run_across_files():
    """spiff-arena's nested call activities: four files, three levels, an embedded subprocess."""
    require_corpus()
    folder = "spiff-arena/call_activity_nested"
    names = sorted(p.name for p in (CORPUS / folder).glob("*.bpmn"))
    bundle = _parse_folder(folder, names)
    assert set(bundle.processes) == {"Level1", "Level2", "Level2b", "Level3"}
    root = bundle.processes["Level1"]
    subprocess_specs = _subprocess_specs(bundle, root)
    assert set(subprocess_specs) == {"Level2", "Level2b", "Level3", "level_2b_subprocess"}
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(root.spec, subprocess_specs, {}))
    assert outcome.status == "completed", outcome.error
    assert outcome.end_events == ["Event_18dla68"]
    # Level 3 sets a = 3; Level 2b, called last, sets a = 1 and (in its subprocess) z = 1.
    assert outcome.data == {"a": 1, "z": 1}
