"""Strict checks for the project's own diagrams (`processes validate`).

Beyond parsing: every user task's form exists, every service operator is registered, every
script, condition and timer compiles in the sandbox (constant timers must also parse), and a
cycle with no user task or catch event on it — an unbounded loop — is warned about.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from app.engine import fanout, script_offers, translate
from app.engine.durations import check_timer_value, due_after
from app.engine.errors import DiagramProblem
from app.engine.parser import FORM_PROPERTY, UI_FORM_PROPERTY, Bundle, ParsedProcess
from app.engine.runner import TASK_EXPRESSIONS
from app.engine.sandbox import SandboxEnvironment
from app.engine.scripting import SandboxViolation, compile_expression, compile_script


def lint_bundle(bundle: Bundle, operators: Iterable[str], forms: Iterable[str]) -> list[DiagramProblem]:
    known_ops, known_forms = set(operators), set(forms)
    problems: list[DiagramProblem] = []
    for process in bundle.processes.values():
        problems += process.problems
        for spec in (process.spec, *process.embedded.values()):
            problems += _lint_spec(process, spec, known_ops, known_forms)
            problems += _laid_out(process, spec)
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
        named = [f"the flows leaving {s.removeprefix('ImplicitSplit_')} (all taken: a parallel split)"
                 if s.startswith("ImplicitSplit_") else f"the parallel split {s}" for s in splits]
        where = ", ".join(named) if named else "a parallel split"
        return [DiagramProblem(
            process.file.filename, splits[0].removeprefix("ImplicitSplit_") if splits else spec.name,
            f"{where} sends a path back to before itself with no join on the way: each pass would add another "
            "path without end, which SpiffWorkflow cannot lay out; join the paths before looping back, or loop "
            "with an exclusive gateway")]
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


def _lint_spec(process: ParsedProcess, spec, operators: set[str], forms: set[str]) -> list[DiagramProblem]:  # noqa: ANN001
    file = process.file.filename
    problems: list[DiagramProblem] = []

    def error(element: str, reason: str) -> None:
        problems.append(DiagramProblem(file, element, reason))

    for ts in spec.task_specs.values():
        element = getattr(ts, "bpmn_id", None) or ts.name
        props = (getattr(ts, "extensions", None) or {}).get("properties", {})
        for key in (FORM_PROPERTY, UI_FORM_PROPERTY):
            if props.get(key) and props[key] not in forms:
                key_said = f" (camunda:formKey {props['formKey']!r})" if props.get("formKey") else ""
                error(element, f"form file {props[key]!r}{key_said} does not exist in forms/")
        op = getattr(ts, "operation_name", None)
        if op is not None and op not in operators:
            error(element, f"service operator {op!r} is not registered in handlers/")
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
                error(element, f"dueIn: {exc}")
        if isinstance(ts, MultiChoice):
            for condition, target in ts.cond_task_specs:
                condition_source = getattr(condition, "args", [None])[0] if condition is not None else None
                if isinstance(condition_source, str) and not translate.refused("condition", condition_source):
                    _check(lambda e=condition_source: compile_expression(e), f"{element}->{target}", "condition",
                           error)
                    _not_provided(condition_source, "eval", f"{element}->{target}", "condition", error)
        definition = getattr(ts, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and not translate.refused(_timer_kind(definition),
                                                                                  definition.expression):
            _check_timer(definition.expression, element, error, _timer_kind(definition))
        if isinstance(ts, CallActivity) and ts.spec == process.process_id:
            error(element, f"the call activity calls its own process {process.process_id!r}: an instance never "
                  "runs itself again (it would stop with 'called process not found'); call another process")
        too_wide = fanout.problems(ts, _literal)
        if too_wide:
            error(element, too_wide)
    problems += _unbounded_cycles(file, spec)
    return problems


def _timer_kind(definition: TimerEventDefinition) -> str:
    if isinstance(definition, TimeDateEventDefinition):
        return "timeDate"
    return "timeCycle" if isinstance(definition, CycleTimerEventDefinition) else "timeDuration"


def _service_parameters(ts) -> list[str]:  # noqa: ANN001
    params = getattr(ts, "operation_params", None) or {}
    return [p["value"] for p in params.values() if isinstance(p, dict) and isinstance(p.get("value"), str)]


def _check(compile_it, element: str, label: str, error) -> None:  # noqa: ANN001
    try:
        compile_it()
    except (SandboxViolation, SyntaxError) as exc:
        error(element, f"{label} does not compile: {exc}")


def _not_provided(source: str, mode: str, element: str, label: str, error) -> None:  # noqa: ANN001
    """A call of a SpiffArena server function Loanflow does not have fails every time it runs:
    refused before deploy, naming the function and what to do instead (`script_offers`)."""
    for said in script_offers.calls_not_provided(source, mode):
        error(element, f"the {label} calls {said}")


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
        error(element, f"timer expression does not compile: {exc}")
        return
    try:  # in the sandbox, as at run time: a timer expression can loop like any other
        value = SandboxEnvironment().evaluate(expression, {})
    except NameError:
        return  # depends on task data: checked when it runs
    except Exception as exc:  # noqa: BLE001
        error(element, f"timer expression fails: {type(exc).__name__}: {exc}")
        return
    other, other_name = _TIMER_VALUES.get(kind, (str, ""))
    if not isinstance(value, str | other):
        instead = f" or {other_name}" if other_name else ""
        error(element, f"timer expression gives {type(value).__name__}, not an ISO 8601 string{instead} "
                       f"(write \"PT48H\" with quotes)")
        return
    try:
        check_timer_value(value, datetime.now(UTC))
    except ValueError as exc:
        error(element, f"timer value {value!r} is not ISO 8601 or out of range: {exc}")


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
                file, ids[0], f"loop through {', '.join(ids)} has no user task or catch event: "
                              "it may run without bound", severity="warning"))
    return warnings
