"""The analyst's modeler (`/processes/<id>/edit`): the diagram to start from (the newest version's file as
deployed, or a minimal one for a new process), what its properties panel offers (forms, registered
operators, deployed processes, lane roles), the strict check of a drawing with each problem tied to the
element the canvas marks, the deploy of the next version, and a test instance on the newest version.
Who may is `definitions.deploy` (the access policy); every deploy runs `deployment`'s one check."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from lxml import etree
from sqlalchemy import select

from app.engine.errors import DiagramProblem, DiagramRejected
from app.engine.parser import process_names
from app.engine.xml import read_xml
from app.extensions import db
from app.models import Deployment, FormVersion, ProcessVersion
from app.services import context
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid, NotFound
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.identity.grants import ROLE_NAMES
from app.services.workflow import catalogue, deployment, instances, labels
from app.services.workflow.diagram_reasons import in_language
from app.services.workflow.runtime import runtime
from app.services.workflow.version_diff import SYSTEM_LANE

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SYSTEM_LANE_NAME = "system"  # the lane of the platform's automatic steps (no role works it)
PROCESS_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
UI_SCHEMA_SUFFIX = "-uischema.json"
MAX_NAME = 200  # characters of a name or a business key


@dataclass(frozen=True)
class Draft:
    """What the modeler opens: the process, the newest deployed version (None: not deployed yet) and the
    diagram to start from."""

    process_id: str
    name: str
    name_language: str | None  # as the catalogue's: None when only the id names it
    latest: int | None
    source: str
    opened_from: str | None = None  # the file it was opened from (drawn elsewhere), when not a deployed version


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    lang: str | None = None  # the label's language when it is not the reader's (a name written only in English)
    code: bool = False  # the label is the id itself (nothing names it)


@dataclass(frozen=True)
class EditorOptions:
    """What the properties panel offers to choose from."""

    forms: list[str]  # JSON Schema forms (form files that exist: the folder's and the deployed ones)
    ui_forms: list[str]  # their UI schemas
    operators: list[str]  # the service operators registered in the runtime
    processes: list[Choice]  # deployed processes, for a call activity
    decisions: list[Choice]  # deployed decision tables, for a business rule task
    roles: list[Choice]  # what a lane may stand for

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Problem:
    """One finding of the check, tied to the element the canvas marks (None: the whole diagram)."""

    element_id: str | None
    reason: str
    severity: str  # error | warning
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DeployOutcome:
    """A deploy: the version the process is at (None: refused) and the problems the check found."""

    version: int | None
    status: str  # new | unchanged | refused
    problems: list[Problem]


@dataclass(frozen=True)
class TestInstance:
    instance_id: int
    version: int
    status: str
    error: str | None


def may_edit(actor: Principal) -> bool:
    """Whether pages offer the modeler (its links on the catalogue)."""
    return policy.allowed(actor, "definitions.deploy")


def open_draft(actor: Principal, process_id: str, language: str) -> Draft:
    """The newest version of a deployed process, to edit (404 for an unknown id or a decision)."""
    policy.require(actor, "definitions.deploy")
    entry = catalogue.process_entry(actor, process_id, language)
    if entry.kind != "process":
        raise NotFound(catalogue.NO_SUCH_PROCESS)
    latest = entry.versions[0].version
    _filename, source = catalogue.version_source(actor, process_id, latest)
    return Draft(process_id, entry.name, entry.name_language, latest, source.decode("utf-8", errors="replace"))


def new_draft(actor: Principal, process_id: str, name_en: str, name_zh: str) -> Draft:
    """A minimal valid diagram (a start, an end, the names in both languages) for a process id not yet
    used; `Invalid` with the fields to correct otherwise."""
    policy.require(actor, "definitions.deploy")
    process_id, name_en, name_zh = process_id.strip(), " ".join(name_en.split()), " ".join(name_zh.split())
    fields: dict[str, list[Any]] = {}
    if not PROCESS_ID.fullmatch(process_id):
        fields["process_id"] = [_l("Letters, digits and _ only, starting with a letter or _, at most 64.")]
    elif process_id in _used_ids():
        fields["process_id"] = [_l("A process or decision with this id exists already: edit it instead.")]
    for key, value in (("name_en", name_en), ("name_zh", name_zh)):
        if not value:
            fields[key] = [_l("Give the name in both languages.")]
        elif len(value) > MAX_NAME:
            fields[key] = [_l("At most %(n)s characters.", n=MAX_NAME)]
    if fields:
        raise Invalid(_l("The new process cannot be made as given."), fields=fields)
    language = context.language()
    name = name_zh if language == "zh" else name_en
    return Draft(process_id, name, language, None, minimal_diagram(process_id, name_en, name_zh))


def open_file(actor: Principal, filename: str, content: bytes, language: str) -> Draft:
    """A diagram file drawn elsewhere (Camunda Modeler, another tool), opened in the modeler to be checked and
    deployed as the process it holds: a new process, or the next version of the one of its id. Nothing is
    written; a file that cannot be opened is `Invalid`, saying why on the field `file`."""
    policy.require(actor, "definitions.deploy")

    def refused(reason: Any) -> Invalid:
        return Invalid(_l("The file cannot be opened in the modeler."), fields={"file": [reason]})

    if not filename and not content:
        raise refused(_l("Choose a diagram file (.bpmn)."))
    try:
        root = read_xml(content, filename or "file", context.config("MAX_DIAGRAM_BYTES"))
    except DiagramRejected as exc:
        raise refused(in_language(exc.problems[0].reason)) from exc
    found = list(root.iter(f"{{{BPMN_NS}}}process"))
    if len(found) != 1:
        raise refused(_l("The file holds no process: a decision file is deployed from the command line or the API, "
                         "then edited in the decision editor.") if not found else
                      _l("The file holds %(n)s processes (%(ids)s); the modeler edits one at a time: deploy the file "
                         "from the command line (processes deploy) or the API.", n=len(found),
                         ids=", ".join(p.get("id") or "-" for p in found)))
    process = found[0]
    process_id = process.get("id") or ""
    if not PROCESS_ID.fullmatch(process_id):
        raise refused(_l("The process id %(id)s is not one the console edits (letters, digits and _ only, starting "
                         "with a letter or _, at most 64): rename the process in the file, or deploy it from the "
                         "command line.", id=repr(process_id)))
    deployed = {e.process_id: e for e in deployment.list_processes()}.get(process_id)
    if deployed is not None and deployed.kind != "process":
        raise refused(_l("A decision has the id %(id)s: rename the process in the file.", id=repr(process_id)))
    names = process_names(process, process.get("name"))
    name = labels.process_title(names, process_id, language)
    try:
        source = content.decode("utf-8-sig")
    except UnicodeDecodeError:  # another encoding its declaration names: the tree as text, which the modeler reads
        source = etree.tostring(root, encoding="unicode")
    return Draft(process_id, name, language if names.get(language) == name else "en" if names.get("en") == name
                 else None, deployed.version if deployed is not None else None, source,
                 Path(filename or "file").name[:MAX_NAME])


def _used_ids() -> set[str]:
    return {row.process_id for row in deployment.list_processes()}


def minimal_diagram(process_id: str, name_en: str, name_zh: str) -> str:
    """A process that starts and ends, drawn, named in English and Chinese."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN_NS}"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_{process_id}" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="{process_id}" name={quoteattr(name_en)} isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="name@zh" value={quoteattr(name_zh)}/></spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start" name="Start">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="name@zh" value="开始"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:outgoing>f_start_end</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:endEvent id="end" name="End">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="name@zh" value="结束"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f_start_end</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f_start_end" sourceRef="start" targetRef="end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_{process_id}">
    <bpmndi:BPMNPlane id="plane_{process_id}" bpmnElement="{process_id}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36"/><bpmndi:BPMNLabel><dc:Bounds x="178" y="203" width="40" height="14"/></bpmndi:BPMNLabel></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="400" y="160" width="36" height="36"/><bpmndi:BPMNLabel><dc:Bounds x="400" y="203" width="36" height="14"/></bpmndi:BPMNLabel></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f_start_end_di" bpmnElement="f_start_end"><di:waypoint x="216" y="178"/><di:waypoint x="400" y="178"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def editor_options(actor: Principal, language: str) -> EditorOptions:
    """The forms, operators, processes and lane roles the properties panel offers."""
    policy.require(actor, "definitions.deploy")
    folder = Path(context.config("FORMS_DIR"))
    names = {p.name for p in folder.glob("*.json") if p.is_file()} if folder.is_dir() else set()
    names |= set(db.session.scalars(select(FormVersion.filename).distinct()))
    entries = catalogue.catalogue(actor, language)
    named = {kind: [Choice(e.process_id, e.name, e.name_language if e.name_language not in (None, language) else None,
                           e.name_language is None) for e in entries if e.kind == kind]
             for kind in ("process", "decision")}
    processes, decisions = named["process"], named["decision"]
    roles = sorted((Choice(code, context.gettext(label)) for code, label in ROLE_NAMES.items()),
                   key=lambda c: c.label)
    return EditorOptions(
        forms=sorted(n for n in names if not n.endswith(UI_SCHEMA_SUFFIX)),
        ui_forms=sorted(n for n in names if n.endswith(UI_SCHEMA_SUFFIX)),
        operators=runtime().handlers.operators(), processes=processes, decisions=decisions,
        roles=[Choice(SYSTEM_LANE_NAME, str(SYSTEM_LANE)), *roles])


def check(actor: Principal, process_id: str, source: bytes) -> list[Problem]:
    """The check every deploy runs (`processes validate`'s, with forms as they run) on a drawing, plus:
    the file's process is the one this page edits. Errors first."""
    policy.require(actor, "definitions.deploy")
    return _check(process_id, source)


def _check(process_id: str, source: bytes) -> list[Problem]:
    found = deployment.check_diagrams([_file_for(process_id, source)], forms_from="deployed")
    process_ids = _processes(source)
    problems = [_problem(p) for p in found]
    if process_ids is not None and process_ids != {process_id}:  # one process, the page's: a deploy makes no other
        problems.insert(0, Problem(None, context.gettext(
            "The diagram's process is %(found)s, but this page deploys %(expected)s: give the process the id "
            "%(expected)s.", found=", ".join(sorted(process_ids)) or "-", expected=process_id), "error"))
    return sorted(problems, key=lambda p: p.severity != "error")


def _file_for(process_id: str, source: bytes) -> deployment.DiagramFile:
    """The file a drawing is deployed as: the newest version's file name, else `<id>.bpmn`."""
    previous = db.session.scalar(
        select(Deployment.filename).join(ProcessVersion, ProcessVersion.deployment_id == Deployment.id)
        .where(ProcessVersion.kind == "process", ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc()).limit(1))
    return deployment.DiagramFile(previous or f"{process_id}.bpmn", source)


def _processes(source: bytes) -> set[str] | None:
    """The ids of the file's processes (None: the file does not read; the check says why)."""
    try:
        root = read_xml(source, "drawing", context.config("MAX_DIAGRAM_BYTES"))
    except DiagramRejected:
        return None
    return {p.get("id", "") for p in root.iter(f"{{{BPMN_NS}}}process")}


def _problem(found: DiagramProblem) -> Problem:
    """A problem of the check for the page: a condition's names the sequence flow it is on (`lint`)."""
    return Problem(found.element_id, in_language(found.reason), found.severity, found.line)


def deploy(actor: Principal, process_id: str, source: bytes) -> DeployOutcome:
    """Deploy a drawing as the process's next version, if the check finds no error (then nothing changes);
    the file's process must be the page's. An unchanged drawing keeps the version it is."""
    policy.require(actor, "definitions.deploy")
    problems = _check(process_id, source)
    if any(p.severity == "error" for p in problems):
        return DeployOutcome(None, "refused", problems)
    file = _file_for(process_id, source)
    results = deployment.deploy_and_commit([file], actor.id, forms_from="deployed")
    mine = next(r for r in results if r.kind == "process" and r.process_id == process_id)
    return DeployOutcome(mine.version, mine.status, problems)


def start_test_instance(actor: Principal, process_id: str, business_key: str) -> TestInstance:
    """Start an instance of the process's newest version to try it, under a business key the analyst
    types (messages reach it by that key). Whoever may deploy a process may try it: the same action
    (`definitions.deploy`) guards both, the instance records who started it."""
    policy.require(actor, "definitions.deploy")
    business_key = business_key.strip()
    if not business_key or len(business_key) > MAX_NAME:
        raise Invalid(_l("Type a business key for the test instance."),
                      fields={"business_key": [_l("Type a business key for the test instance.")]})
    if process_id not in {e.process_id for e in deployment.list_processes() if e.kind == "process"}:
        raise NotFound(catalogue.NO_SUCH_PROCESS)
    try:
        started = instances.start(process_id, actor, business_key, access_checked=True)
    except Invalid as exc:
        if exc.code != "start_data_invalid":
            raise
        raise Invalid(_l("The process has a start form: start the test instance on its start page, which asks for "
                         "its fields."), fields=exc.fields, code=exc.code) from None
    error = started.get("error")
    return TestInstance(started["id"], started["version"], started["status"],
                        str(error.get("message")) if isinstance(error, dict) else (str(error) if error else None))


__all__ = ["Choice", "DeployOutcome", "Draft", "EditorOptions", "Problem", "TestInstance", "check", "deploy",
           "editor_options", "may_edit", "minimal_diagram", "new_draft", "open_draft",
           "start_test_instance"]
