"""Strict checks for the project's own diagrams (`processes validate`).

Beyond parsing: every user task's form exists, every service operator is registered, every
script, condition and timer compiles in the sandbox (constant timers must also parse), and a
cycle with no user task or catch event on it — an unbounded loop — is warned about.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from app.engine import fanout, retry_policy, script_offers, timer_starts, translate, unset_reads
from app.engine.camunda_user_tasks import FORM_KEY_ATTRIBUTE
from app.engine.durations import check_timer_value, due_after
from app.engine.errors import DiagramProblem, DiagramRejected
from app.engine.parser import FORM_PROPERTY, UI_FORM_PROPERTY, Bundle, ParsedProcess
from app.engine.runner import TASK_EXPRESSIONS
from app.engine.said import Said, parts, said
from app.engine.sandbox import SandboxEnvironment
from app.engine.scripting import SandboxViolation, compile_expression, compile_script
from app.engine.xml import BPMN_NS, read_xml


def lint_bundle(bundle: Bundle, operators: Iterable[str], forms: Iterable[str]) -> list[DiagramProblem]:
    known_ops, known_forms = set(operators), set(forms)
    problems: list[DiagramProblem] = []
    for process in bundle.processes.values():
        problems += process.problems
        drawn = _drawn(process.file.content)  # the file as drawn, before the import changed it
        flows = _flow_ids(drawn)  # once a process: its sub-processes share it
        for spec in (process.spec, *process.embedded.values()):
            problems += _lint_spec(process, spec, known_ops, known_forms, flows)
            problems += _laid_out(process, spec)
        problems += unset_reads.problems(process.file.filename, drawn, process.process_id,
                                         [process.spec, *process.embedded.values()], bundle.forms)
    return problems


def _laid_out(process: ParsedProcess, spec) -> list[DiagramProblem]:  # noqa: ANN001
    """SpiffWorkflow lays out the paths ahead of a (sub)process when it starts; a parallel split that
    sends a path back to before itself, with no join on the way (each pass adds a path), makes it
    recurse without end. Found here, by laying it out, rather than at the instance's start."""
    try:
        BpmnWorkflow(spec, process.embedded)
    except RecursionError:
        splits = sorted(getattr(ts, "bpmn_id", None) or ts.name for ts in spec.task_specs.values()
                        if isinstance(ts, ParallelGateway) and len(ts.outputs) > 1 and _comes_back(ts))
        named = [said("the flows leaving %(element)s (all taken: a parallel split)",
                      element=s.removeprefix("ImplicitSplit_"))
                 if s.startswith("ImplicitSplit_") else said("the parallel split %(element)s", element=s)
                 for s in splits]
        return [DiagramProblem(
            process.file.filename, splits[0].removeprefix("ImplicitSplit_") if splits else spec.name,
            said("%(where)s sends a path back to before itself with no join on the way: each pass would add "
                 "another path without end, which SpiffWorkflow cannot lay out; join the paths before looping "
                 "back, or loop with an exclusive gateway",
                 where=parts(named) if named else said("a parallel split")))]
    except Exception:  # noqa: BLE001 - what else fails to build is said at the instance's start
        return []
    return []


def _comes_back(gateway) -> bool:  # noqa: ANN001
    """Whether a path from the gateway returns to it without passing a parallel gateway that joins."""
    seen, stack = set(), list(gateway.outputs)
    while stack:
        ts = stack.pop()
        if ts is gateway:
            return True
        if id(ts) in seen or (isinstance(ts, ParallelGateway) and len(ts.inputs) > 1):
            continue
        seen.add(id(ts))
        stack.extend(ts.outputs)
    return False


def _named_file(key: str, form: str) -> str:
    """The file a form key names, when it names a kind of form file the forms folder reads (`task-form.form`
    in `camunda-forms:app:task-form.form`), else the JSON Schema the key stands for."""
    last = key.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return last if last.endswith((".form", ".html", ".json")) else form


def _lint_spec(process: ParsedProcess, spec, operators: set[str], forms: set[str],  # noqa: ANN001
               flows: dict[tuple[str, str], str]) -> list[DiagramProblem]:
    file = process.file.filename
    problems: list[DiagramProblem] = []

    def error(element: str, reason: str) -> None:
        problems.append(DiagramProblem(file, element, reason))

    for ts in spec.task_specs.values():
        element = getattr(ts, "bpmn_id", None) or ts.name
        props = (getattr(ts, "extensions", None) or {}).get("properties", {})
        for key in (FORM_PROPERTY, UI_FORM_PROPERTY):
            if props.get(key) and props[key] not in forms:
                if props.get("formKey") and isinstance(ts, StartEvent):
                    problems.append(DiagramProblem(file, element, said(
                        "start form file %(form)r (%(named)s %(key)r) does not exist in forms/: an instance starts "
                        "with the data its caller gives, unchecked, and the console offers no start page; put "
                        "%(file)s there to check it", form=props[key],
                        named=props.get(FORM_KEY_ATTRIBUTE) or "camunda:formKey", key=props["formKey"],
                        file=_named_file(props["formKey"], props[key])), severity="warning"))
                elif props.get("formKey"):
                    error(element, said("form file %(form)r (%(named)s %(key)r) does not exist in forms/: put "
                                        "%(file)s there (a Camunda Forms file .form, an embedded HTML form .html or a "
                                        "JSON Schema .json of that name is read)",
                                        form=props[key], named=props.get(FORM_KEY_ATTRIBUTE) or "camunda:formKey",
                                        key=props["formKey"], file=_named_file(props["formKey"], props[key])))
                else:
                    error(element, said("form file %(form)r does not exist in forms/", form=props[key]))
        op = getattr(ts, "operation_name", None)
        if op is not None and op not in operators:
            error(element, said("service operator %(operator)r is not registered in handlers/", operator=op))
        if op is not None:
            for why in retry_policy.problems(ts):
                error(element, said("retry: %(why)s", why=why))
        for label, source in (("script", getattr(ts, "script", None) if isinstance(ts, ScriptEngineTask) else None),
                              ("pre-script", getattr(ts, "prescript", None)),
                              ("post-script", getattr(ts, "postscript", None))):
            if source:
                _check(lambda s=source: compile_script(s), element, label, error)
                _not_provided(source, "exec", element, label, error)
        for expression in _service_parameters(ts):
            _check(lambda e=expression: compile_expression(e), element, "parameter", error)
            _not_provided(expression, "eval", element, "parameter", error)
        for key in TASK_EXPRESSIONS:
            if props.get(key):
                _check(lambda e=props[key]: compile_expression(e), element, key, error)
                _not_provided(props[key], "eval", element, key, error)
        if props.get("dueIn"):
            try:
                due_after(props["dueIn"], datetime.now(UTC))
            except ValueError as exc:
                error(element, said("dueIn: %(why)s", why=_said_of(exc)))
        if isinstance(ts, MultiChoice):
            for condition, target in ts.cond_task_specs:
                condition_source = getattr(condition, "args", [None])[0] if condition is not None else None
                if isinstance(condition_source, str) and not translate.refused("condition", condition_source):
                    flow = _flow(flows, element, spec.task_specs.get(target), target)
                    _check(lambda e=condition_source: compile_expression(e), flow, "condition", error)
                    _not_provided(condition_source, "eval", flow, "condition", error)
        definition = getattr(ts, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and not translate.refused(_timer_kind(definition),
                                                                                  definition.expression):
            _check_timer(definition.expression, element, error, _timer_kind(definition))
        if isinstance(ts, CallActivity) and ts.spec == process.process_id:
            error(element, said("the call activity calls its own process %(process)r: an instance never runs itself "
                                "again (it would stop with 'called process not found'); call another process",
                                process=process.process_id))
        too_wide = fanout.problems(ts, _literal)
        if too_wide:
            error(element, too_wide)
    problems += _unbounded_cycles(file, spec)
    problems += timer_starts.problems(file, spec, datetime.now(UTC))
    return problems


def _drawn(content: bytes) -> etree._Element | None:
    """The file as drawn (the import changes its own copy), None if it cannot be read."""
    try:
        return read_xml(content, "flows")
    except DiagramRejected:
        return None


def _flow_ids(root: etree._Element | None) -> dict[tuple[str, str], str]:
    """The file's sequence flows by (source, target), as drawn (before the import added its gateways)."""
    if root is None:
        return {}
    return {(f.get("sourceRef", ""), f.get("targetRef", "")): f.get("id", "")
            for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow") if f.get("id")}


def _flow(flows: dict[tuple[str, str], str], source: str, target_spec, target: str) -> str:  # noqa: ANN001
    """The sequence flow a condition is on, by its id, as the analyst drew it; else `source->target`.
    The names SpiffWorkflow and the import give what they add (`ImplicitSplit_<node>` for a split the
    import drew after a node, `<activity>.BoundaryEventSplit` before an activity with boundary events)
    stand for the node drawn."""
    drawn = source.removeprefix("ImplicitSplit_")
    to = getattr(target_spec, "bpmn_id", None) or target.removesuffix(".BoundaryEventSplit")
    return flows.get((drawn, to)) or flows.get((source, to)) or f"{drawn}->{to}"


def _timer_kind(definition: TimerEventDefinition) -> str:
    if isinstance(definition, TimeDateEventDefinition):
        return "timeDate"
    return "timeCycle" if isinstance(definition, CycleTimerEventDefinition) else "timeDuration"


def _service_parameters(ts) -> list[str]:  # noqa: ANN001
    params = getattr(ts, "operation_params", None) or {}
    return [p["value"] for p in params.values() if isinstance(p, dict) and isinstance(p.get("value"), str)]


# what a part of a task is called in the check's sentences
_PART = {"script": said("script"), "pre-script": said("pre-script"), "post-script": said("post-script"),
         "parameter": said("parameter"), "condition": said("condition"), "dueAtExpression": said("dueAtExpression"),
         "priorityExpression": said("priorityExpression")}


def _said_of(exc: BaseException) -> str:
    """What an exception says: its first argument when that is said (so it is read in the reader's
    language), else its text."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Said) else str(exc)


def _check(compile_it, element: str, label: str, error) -> None:  # noqa: ANN001
    try:
        compile_it()
    except (SandboxViolation, SyntaxError) as exc:
        error(element, said("%(part)s does not compile: %(why)s", part=_PART.get(label, label), why=_said_of(exc)))


def _not_provided(source: str, mode: str, element: str, label: str, error) -> None:  # noqa: ANN001
    """A call of a SpiffArena server function Loanflow does not have fails every time it runs:
    refused before deploy, naming the function and what to do instead (`script_offers`)."""
    for offered in script_offers.calls_not_provided(source, mode):
        error(element, said("the %(part)s calls %(call)s", part=_PART.get(label, label), call=offered))


def _literal(expression: str):  # noqa: ANN202
    """The value of an expression that needs no task data (in the sandbox), else None."""
    try:
        return SandboxEnvironment().evaluate(expression, {})
    except Exception:  # noqa: BLE001 - depends on data, or fails: checked when it runs
        return None


# What a timer expression may give besides an ISO 8601 text, by the timer's kind (SpiffArena's
# diagrams write `timedelta(seconds=30)`).
_TIMER_VALUES = {"timeDuration": (timedelta, "a timedelta"), "timeDate": (date, "a datetime")}


def _check_timer(expression: str, element: str, error, kind: str) -> None:  # noqa: ANN001
    try:
        compile_expression(expression)
    except (SandboxViolation, SyntaxError) as exc:
        error(element, said("timer expression does not compile: %(why)s", why=_said_of(exc)))
        return
    try:  # in the sandbox, as at run time: a timer expression can loop like any other
        value = SandboxEnvironment().evaluate(expression, {})
    except NameError:
        return  # depends on task data: checked when it runs
    except Exception as exc:  # noqa: BLE001
        error(element, said("timer expression fails: %(error)s: %(why)s", error=type(exc).__name__, why=_said_of(exc)))
        return
    other, other_name = _TIMER_VALUES.get(kind, (str, ""))
    if not isinstance(value, str | other):
        if other_name:
            error(element, said("timer expression gives %(kind)s, not an ISO 8601 string or %(other)s (write \"PT48H\" "
                                "with quotes)", kind=type(value).__name__, other=other_name))
        else:
            error(element, said("timer expression gives %(kind)s, not an ISO 8601 string (write \"PT48H\" with "
                                "quotes)", kind=type(value).__name__))
        return
    try:
        check_timer_value(value, datetime.now(UTC))
    except ValueError as exc:
        error(element, said("timer value %(value)r is not ISO 8601 or out of range: %(why)s", value=value,
                            why=_said_of(exc)))


def _waits(ts) -> bool:  # noqa: ANN001
    return bool(getattr(ts, "manual", False)) or isinstance(ts, CatchingEvent)


def _unbounded_cycles(file: str, spec) -> list[DiagramProblem]:  # noqa: ANN001
    """Strongly connected components of the flow graph that contain no waiting element."""
    graph = {name: [o.name for o in ts.outputs if o is not None] for name, ts in spec.task_specs.items()}
    index, low, stack, on_stack, components = {}, {}, [], set(), []
    counter = [0]

    def visit(root: str) -> None:  # iterative Tarjan, so deep graphs do not hit the recursion limit
        work = [(root, iter(graph.get(root, [])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, []))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    component.append(item)
                    if item == node:
                        break
                if len(component) > 1 or node in graph.get(node, []):
                    components.append(component)

    for name in graph:
        if name not in index:
            visit(name)
    warnings = []
    for component in components:
        if not any(_waits(spec.task_specs[n]) for n in component):
            ids = sorted(getattr(spec.task_specs[n], "bpmn_id", None) or n for n in component)
            warnings.append(DiagramProblem(
                file, ids[0], said("loop through %(ids)s has no user task or catch event: it may run without bound",
                                   ids=", ".join(ids)), severity="warning"))
    return warnings
