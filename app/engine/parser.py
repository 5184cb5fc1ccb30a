"""Turns diagram files into parsed process specs, over the hardened XML reader.

The import layer every diagram goes through (uploads, `processes/`, the corpus). Findings that do
not stop a diagram from running are warnings; anything that stops it is a `DiagramRejected` with
the file, element id and reason.
"""
from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity as CallActivityMixin
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask as SubWorkflowTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.process import SpiffProcessParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from app.engine import (
    boundary_data,
    bpmn_import,
    call_variables,
    camunda_user_tasks,
    caught_errors,
    compensation,
    data_stores,
    decision_logic,
    decision_results,
    dmn_split,
    external_tasks,
    implicit_flow,
    runtime_errors,
)
from app.engine.camunda_services import OperatorMap
from app.engine.camunda_user_tasks import GroupMap
from app.engine.errors import DiagramProblem, DiagramRejected
from app.engine.fanout import install_fan_out_limits
from app.engine.said import foreign, in_its_words, said
from app.engine.timer_import import set_aside as set_timers_without_time_aside
from app.engine.timers import install_clock
from app.engine.xml import BPMN_NS, DEFAULT_MAX_BYTES, diagram_kind, drop_comments, read_xml

FORM_PROPERTY = "formJsonSchemaFilename"
UI_FORM_PROPERTY = "formUiSchemaFilename"


@dataclass(frozen=True)
class DiagramFile:
    filename: str
    content: bytes

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class ParsedProcess:
    process_id: str
    name: str | None
    file: DiagramFile
    spec: object  # BpmnProcessSpec
    calls: list[str]
    decisions: list[str]
    forms: list[str]
    operators: list[str]
    embedded: dict[str, object] = field(default_factory=dict)  # embedded subprocess specs by id
    names: dict[str, str] = field(default_factory=dict)  # by language: `name`, and `name@<lang>` properties
    problems: list[DiagramProblem] = field(default_factory=list)  # the import layer's errors for the strict check


@dataclass
class ParsedDecision:
    decision_id: str
    name: str | None
    file: DiagramFile
    names: dict[str, str] = field(default_factory=dict)  # by language: `name`, and `name@<lang>` properties


@dataclass
class Bundle:
    processes: dict[str, ParsedProcess] = field(default_factory=dict)
    decisions: dict[str, ParsedDecision] = field(default_factory=dict)
    warnings: list[DiagramProblem] = field(default_factory=list)
    forms: dict[str, dict] = field(default_factory=dict)  # forms the import generated (camunda:formData), by name


# SpiffWorkflow wraps what fails inside its task parsers as the exception's repr ("KeyError('type')")
_WRAPPED = re.compile(r"^(?P<kind>\w+(?:Error|Exception))\((?P<args>.*)\)$", re.S)

# SpiffWorkflow's own fixed sentences (its parsers' refusals and warnings), said in its very words so that
# the reader reads them in their language; any other text it writes stays as it is
_SPIFF_SENTENCES = [
    foreign('No "calledElement" attribute for Call Activity.'),
    foreign("A loopMaximum or loopCondition must be specified for Loop Tasks"),
    foreign('No DMN Diagram available with id "%(decision)s", Available DMN ids are: %(ids)s'),
    foreign("spiffworkflow:messagePayload and spiffworkflow:messageVariable have been moved to the bpmn:messageDefinition element"),
    foreign("Cancel Events may only be used with transactions"),
    foreign("No start event found"),
    foreign("Correlation is missing correlation property retrieval expressions: %(correlation)s"),
    foreign("Exactly one start event is required in a SubWorkflow Task; found %(count)s."),
    foreign("A SubWorkflow Must contain an End event"),
    foreign("Duplicate process ID: %(process)s"),
    foreign("Process %(process)s is not executable."),
    foreign("The process '%(process)s' was not found. Did you mean one of the following: %(ids)s?"),
    foreign("Non-default exclusive outgoing sequence flow without condition"),
    foreign("Conditional event definition with missing condition"),
    foreign("Unknown Time Specification"),
    foreign("Time Specification Error. %(why)s"),
    foreign("Invalid Script Task.  No Script Provided. %(why)s"),
    foreign("Cannot resolve dataInputAssociation %(name)s"),
    foreign("Cannot resolve dataOutputAssociation %(name)s"),
    foreign("A Service Task must have an operator"),
    foreign("There is no support implemented for this task type."),
    foreign("No decisions found"),
    foreign("Multiple decision tables are not current supported."),
    foreign("Message identifier is missing from bpmn xml"),
    foreign("Signal identifier is missing from bpmn xml"),
    foreign("Error identifier is missing from bpmn xml"),
    foreign("Escalation identifier is missing from bpmn xml"),
    foreign("Correlation identifier is missing from bpmn xml"),
    foreign("Message identifier is missing from correlation property: %(correlation)s"),
    foreign("Could not find messageRef from message event definition: %(definition)s"),
    foreign("Expected a Message node"),
    foreign("Expected a Signal node"),
    foreign("Expected an Error node"),
    foreign("Expected an error node"),
    foreign("Expected an Escalation node"),
    foreign("Sequential ordering for ad hoc subprocesses not supported"),
    foreign("Ad hoc subprocesses may not contain start or end events"),
]


def _spiff_said(message: str) -> str:
    """A sentence of SpiffWorkflow's own, said (its English kept to the byte); any other text as it is."""
    return in_its_words(message, _SPIFF_SENTENCES)


def _unwrapped(message: str) -> str:
    """SpiffWorkflow's repr of an exception inside its parser, said as what the element lacks."""
    found = _WRAPPED.match(message.strip())
    if found is None:
        return _spiff_said(message)
    kind, raw = found["kind"], found["args"].strip()
    if kind == "RecursionError":  # its parser follows a path by recursion, an element deeper for each step
        return said("the path through this element is too long for SpiffWorkflow's parser, which reads a path "
                    "step by step (about 500 steps); split it into sub-processes or call activities")
    # the repr's one pair of quotes (a quote inside the message, `... base 10: 'many'`, is the message's)
    args = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" else raw
    lacks: str
    if kind == "KeyError":
        lacks = said("it (or an element inside it) lacks the attribute %(attribute)r, which SpiffWorkflow needs",
                     attribute=args)
    elif kind == "AssertionError" and args.startswith("Expected 1 result. Received 0"):
        lacks = said("an element SpiffWorkflow needs inside it is missing")
    elif kind == "AssertionError" and args.startswith("Expected 1 result."):
        lacks = said("an element that may appear once inside it appears more than once")
    else:
        lacks = runtime_errors.said_of(f"{kind}: {args}")  # Python's sentence, in the reader's words if it is known
    return said("SpiffWorkflow could not read the element: %(lacks)s; complete it in the modeler", lacks=lacks)


def _problem(exc: Exception, filename: str, element_id: str | None = None) -> DiagramProblem:
    if isinstance(exc, ValidationException):
        line = exc.line_number if isinstance(exc.line_number, int) else None
        message = str(exc.args[0]) if exc.args else str(exc)
        return DiagramProblem(exc.file_name or filename, exc.id or element_id, _unwrapped(message), line)
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    if isinstance(exc, SpiffWorkflowException):
        element_id = getattr(getattr(exc, "task_spec", None), "name", None) or element_id
        return DiagramProblem(filename, element_id,
                              said("%(kind)s: %(detail)s", kind=type(exc).__name__, detail=_spiff_said(message)))
    # not SpiffWorkflow's own refusal: its reader failed on something the diagram holds
    return DiagramProblem(filename, element_id, _unwrapped(f"{type(exc).__name__}({message!r})"))


class _ProcessParser(SpiffProcessParser):
    """SpiffWorkflow's process parser, which looks up a flow node by its id in an index of every element that
    has one, the last of a name winning — extension elements and an element's own children too: a form field
    or an enum value with a task's id (Activiti's designer names a task's form property after the task), or a
    multi-instance's item named as its task (`elementVariable="employee"` on the task `employee`), took the
    task's place, and the file was refused with "There is no support implemented for this task type". Here
    only BPMN's own elements are indexed, and the first of a name wins (an element comes before what it
    holds; two flow elements with one id are refused before, `references`)."""

    def _index_process_nodes(self) -> None:
        super()._index_process_nodes()
        nodes: dict[str, Any] = {}
        for node in self.node.iterfind(".//*[@id]"):
            if etree.QName(node).namespace == BPMN_NS:
                nodes.setdefault(node.get("id"), node)
        self.nodes_by_id = nodes


class _Parser(SpiffBpmnParser):
    """SpiffWorkflow's parser, whose business-rule tasks run Camunda 7's decision logic (`decision_logic`)."""

    PROCESS_PARSER_CLASS = _ProcessParser

    def get_engine(self, decision_ref: str, node) -> decision_logic.DecisionTableEngine:  # noqa: ANN001 - an lxml element
        return decision_logic.engine_for(self, decision_ref, node)


def _dmn_shape_problem(parser: SpiffBpmnParser, root, filename: str) -> DiagramProblem | None:  # noqa: ANN001
    """What SpiffWorkflow's DMN reader cannot use, said plainly (it fails with IndexError or worse).

    It reads the decisions under the namespace it binds to the prefix `dmn` (the document's default
    namespace, else a literal `dmn:` prefix); several decisions in a file are split by the import
    layer (`dmn_split`), one document per decision.
    """
    namespace = etree.QName(root).namespace
    bound = {**parser.namespaces, **{k: v for k, v in root.nsmap.items() if k is not None}}
    bound_dmn = root.nsmap.get(None, bound.get("dmn"))
    if bound_dmn != namespace:
        prefix = root.prefix or ""
        return DiagramProblem(filename, None, said("DMN elements use the prefix '%(prefix)s:'; SpiffWorkflow reads DMN "
                                                   "only in the default namespace or under the prefix 'dmn:'",
                                                   prefix=prefix))
    decisions = root.findall(f"{{{namespace}}}decision")
    if not decisions:
        return DiagramProblem(filename, None, said("DMN file holds no decision"))
    return None


@contextmanager
def _findings(into: list[DiagramProblem], filename: str, element_id: str | None = None) -> Iterator[None]:
    """SpiffWorkflow's warnings while parsing (deprecated extensions, say) become warning findings.

    They must never decide whether a diagram is accepted: under `-W error` (the test suite) they
    would otherwise be raised, caught below as parser failures and refuse a diagram that runs.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        finding = DiagramProblem(filename, element_id, said("%(kind)s: %(detail)s", kind=w.category.__name__,
                                                            detail=_spiff_said(str(w.message))), None, "warning")
        if finding not in into:
            into.append(finding)


def _is_call(task_spec) -> bool:  # noqa: ANN001
    return isinstance(task_spec, CallActivityMixin)


def _embedded(parser: SpiffBpmnParser, spec, found: dict) -> dict:  # noqa: ANN001
    """Specs of the subprocesses drawn inside `spec` (not call activities), recursively."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, SubWorkflowTaskMixin) and not _is_call(task_spec) and task_spec.spec not in found:
            found[task_spec.spec] = parser.get_spec(task_spec.spec)
            _embedded(parser, found[task_spec.spec], found)
    return found


def process_names(node, name: str | None) -> dict[str, str]:  # noqa: ANN001 - an lxml element
    """The process's name by language: its `name` attribute (English) and `name@<lang>` properties."""
    names = {"en": name} if name else {}
    for prop in node.xpath("./*[local-name()='extensionElements']/*[local-name()='properties']"
                           "/*[local-name()='property']"):
        key, value = prop.get("name") or "", prop.get("value") or ""
        if key.startswith("name@") and value.strip():
            names[key[len("name@"):]] = value.strip()
    return names


def set_user_task_property(process: ParsedProcess, name: str,
                           value_of: Callable[[dict[str, str]], str | None]) -> None:
    """Write property `name` on each user task of the process (embedded subprocesses' included) as
    `value_of(its properties)` gives it; None takes the property away."""
    specs: list[Any] = [process.spec, *process.embedded.values()]
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, UserTaskMixin):
                properties = task_spec.extensions.setdefault("properties", {})
                value = value_of(dict(properties))
                if value is None:
                    properties.pop(name, None)
                else:
                    properties[name] = value


def user_tasks(process: ParsedProcess) -> list[tuple[str, str | None, dict[str, str]]]:
    """The process's user tasks (embedded subprocesses' included): element id, name, properties."""
    found = []
    specs: list[Any] = [process.spec, *process.embedded.values()]
    for task_spec in (ts for spec in specs for ts in spec.task_specs.values()):
        if isinstance(task_spec, UserTaskMixin):
            props = dict((getattr(task_spec, "extensions", None) or {}).get("properties", {}))
            found.append((task_spec.bpmn_id, task_spec.bpmn_name, props))
    return sorted(found, key=lambda t: t[0])


def _describe(specs: list) -> tuple[list[str], list[str], list[str], list[str]]:
    """Called processes, decisions, form files and service operators the specs use."""
    calls: set[str] = set()
    decisions: set[str] = set()
    forms: set[str] = set()
    operators: set[str] = set()
    for task_spec in (ts for spec in specs for ts in spec.task_specs.values()):
        ext = getattr(task_spec, "extensions", None) or {}
        if _is_call(task_spec):
            calls.add(task_spec.spec)
        if ext.get("calledDecisionId"):
            decisions.add(ext["calledDecisionId"])
        if isinstance(task_spec, UserTaskMixin | StartEvent):  # a start event's form checks the start data
            props = ext.get("properties", {})
            forms.update(v for k, v in props.items() if k in (FORM_PROPERTY, UI_FORM_PROPERTY) and v)
        if isinstance(task_spec, ServiceTask):
            operators.add(task_spec.operation_name)
    return sorted(calls), sorted(decisions), sorted(forms), sorted(operators)


def parse_diagrams(files: list[DiagramFile], max_bytes: int = DEFAULT_MAX_BYTES,
                   context_dmn: Sequence[DiagramFile] = (),
                   operator_map: OperatorMap | None = None, group_map: GroupMap | None = None) -> Bundle:
    """Parse `files` together; `context_dmn` are already-deployed decisions the BPMN may use;
    `operator_map` maps Camunda service implementations to operators, `group_map` Camunda groups to
    roles (the admin's mapping tables).

    Raises `DiagramRejected` naming every file that cannot be used; returns the parsed bundle.
    """
    parser = _Parser()
    data_stores.register(parser)  # every data store drawn without an implementation is Loanflow's
    problems: list[DiagramProblem] = []
    roots = []
    for f in files:
        try:
            root = read_xml(f.content, f.filename, max_bytes)
            roots.append((f, diagram_kind(root, f.filename), root))
        except DiagramRejected as exc:
            problems.extend(exc.problems)
    if problems:
        raise DiagramRejected(problems)

    bundle = Bundle()
    own_dmn = {f.filename for f, kind, _ in roots if kind == "dmn"}
    context = [c for c in context_dmn if c.filename not in own_dmn]
    dmn_sources = [(c, read_xml(c.content, c.filename, max_bytes)) for c in context]
    dmn_sources += [(f, root) for f, kind, root in roots if kind == "dmn"]
    for f, root in dmn_sources:  # decisions first: business-rule tasks look them up while parsing
        drop_comments(root)  # SpiffWorkflow's DMN parser reads a comment among a table's children as an element
        before = set(parser.dmn_parsers)
        own = f.filename in own_dmn
        shape = _dmn_shape_problem(parser, root, f.filename) if own else None
        if shape is not None:
            problems.append(shape)
            continue
        prepared = dmn_split.prepare(root, f.filename)  # ids where the file has none; what the import reads
        bundle.warnings += [p for p in prepared if p.severity != "error"] if own else []
        if own and any(p.severity == "error" for p in prepared):  # an entry that cannot run, said with its cause
            problems += [p for p in prepared if p.severity == "error"]
            continue
        documents, refused = dmn_split.split(root, f.filename)  # one document per decision
        if own and refused:
            problems += refused
            continue
        try:
            for _decision_id, document in documents:
                parser.add_dmn_xml(document, filename=f.filename)
            if own:  # SpiffWorkflow reads the table lazily: find its faults now
                for decision_id in set(parser.dmn_parsers) - before:
                    parser.dmn_parsers[decision_id].parse()
        except Exception as exc:  # noqa: BLE001 - every parser failure becomes a reason
            problems.append(_problem(exc, f.filename))
            continue
        if own:
            for decision_id in set(parser.dmn_parsers) - before:
                dp = parser.dmn_parsers[decision_id]
                drawn = root.xpath("//*[local-name()='decision'][@id=$id]", id=decision_id)
                bundle.decisions[decision_id] = ParsedDecision(
                    decision_id, dp.get_name(), f, process_names(drawn[0], dp.get_name()) if drawn else {})
            if not set(parser.dmn_parsers) - before:
                problems.append(DiagramProblem(f.filename, None, said("DMN file holds no decision")))

    bpmn = [(f, root) for f, kind, root in roots if kind == "bpmn"]
    no_time: list[DiagramProblem] = []  # timers without a time: refused after what SpiffWorkflow finds
    for f, root in bpmn:
        drop_comments(root)  # no meaning; SpiffWorkflow's task parsers fail on a comment among a task's children
        no_time += set_timers_without_time_aside(root, f.filename)
        refusals, changes = bpmn_import.prepare(root, f.filename, operator_map, group_map)
        problems += refusals
        bundle.warnings += changes
        bundle.forms.update(camunda_user_tasks.generated_forms(root))
        if refusals:
            continue
        try:
            with _findings(bundle.warnings, f.filename):
                parser.add_bpmn_xml(root, filename=f.filename)
        except Exception as exc:  # noqa: BLE001
            problems.append(_problem(exc, f.filename))
    if problems:
        raise DiagramRejected(problems + no_time)

    for f, _root in bpmn:
        process_ids = [pid for pid, pp in parser.process_parsers.items()
                       if pp.filename == f.filename and pp.process_executable
                       and etree.QName(pp.node).localname == "process"]
        if not process_ids:
            problems.append(DiagramProblem(f.filename, None, said("no executable process in this file "
                                                                  "(no process, or isExecutable=\"false\" on every one)")))
        for pid in process_ids:
            try:
                with _findings(bundle.warnings, f.filename, pid):
                    spec = parser.get_spec(pid)
                    embedded = _embedded(parser, spec, {})
            except Exception as exc:  # noqa: BLE001
                problems.append(_problem(exc, f.filename, pid))
                continue
            for each in (spec, *embedded.values()):
                data_stores.attach_copies(each, parser.process_parsers[pid].node)  # associations the import made copies
                install_clock(each)
                caught_errors.install(each, parser.process_parsers[each.name].node)  # caught code and message
                boundary_data.install(each)  # a sub-process's boundary events see its data
                call_variables.install(each)  # a call passing only what Camunda passes, in and back
                install_fan_out_limits(each)
                decision_results.install(each)  # a decision's result kept in one variable (Camunda 7 and 8)
                external_tasks.install(each)  # a task an external worker does: its variables are the process's
                implicit_flow.install(each, parser.process_parsers[each.name].node)
                compensation.install(each, parser.process_parsers[each.name].node)  # the import's questions
            calls, decisions, forms, operators = _describe([spec, *embedded.values()])
            name = parser.process_parsers[pid].get_name()
            node = parser.process_parsers[pid].node
            bundle.processes[pid] = ParsedProcess(pid, name, f, spec, calls, decisions, forms, operators, embedded,
                                                  process_names(node, name), bpmn_import.process_problems(node, f.filename))
    problems += no_time
    if problems:
        raise DiagramRejected(problems)
    return bundle

