"""`processes compat DIR`: every diagram of a folder through Loanflow's own layer, then driven to an end.

For each BPMN file of the folder (recursively; `deployment.is_diagram_name`) this parses and imports
it (`parse_diagrams`, with the DMN files of its folder and below as context), runs the strict check
(`check_diagrams`), deploys it with what it needs (the DMN files of its folder and below whose
decisions it names, the BPMN files of its folder that define the processes it calls), and drives each
executable process: `instances.start`, then, step by step, ready user tasks completed with data made
from their forms (`tasks.complete_task`), timers fast-forwarded (the clock moved to the instance's
`due_at`, then `waking.wake_instance`), awaited messages delivered with the instance's business key
(`messages.deliver_message`) and signals sent (`signals.send_signal`) — until the instance completes,
fails, or makes no progress. Service tasks are answered by a fake operator that returns `{}`.

It must run on a throwaway database (the command line makes one): every BPMN file starts from empty
workflow tables, so process and decision ids that repeat across the folder's files never meet.
Nothing here is a test of the diagrams' meaning: "ran" means an end event was reached, as the engine
recorded it. An instance that completes without an end event in its history is a *false completion*;
an exception other than the platform's refusals (`ServiceError`, `DiagramRejected`) is a *traceback*:
both are counted, and neither stops the run.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select

from app.engine import camunda_services
from app.engine.errors import DiagramProblem, DiagramRejected
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import SIGNAL_PREFIX
from app.engine.xml import read_xml
from app.extensions import db
from app.models import HumanTask, InstanceEvent, InstanceWait, ProcessInstance
from app.models.task import OPEN_TASK_STATES
from app.services import context
from app.services.errors import ServiceError
from app.services.identity.directory import Principal, ensure_platform_admin, principal_for
from app.services.workflow import deployment, instances, messages, operator_mappings, signals, tasks, waking
from app.services.workflow.forms import forms_by_id
from app.services.workflow.operators import HandlerContext, HandlerRegistry
from app.services.workflow.runtime import runtime

MAX_STEPS = 60  # actions on one instance before it is called a loop
REASON_CHARS = 200
# Kept between files: who acts (the platform admin), the reference data of the empty database and
# the operator mappings the run made.
KEPT_TABLES = frozenset({"organisations", "org_kinds", "users", "user_roles", "api_tokens", "user_tokens",
                         "user_sessions", "audit_log", "sign_in_throttles", "gl_accounts", "loan_products",
                         "product_accounts", "channels", "operator_mappings"})
# The operator every Camunda service implementation of the folder is mapped to in the throwaway run
# (as an admin would map each to a real one): the measurement says what runs once they are mapped.
CAMUNDA_STAND_IN = "compat.camunda_service"
_DMN_NS = re.compile(rb"<([\w-]+:)?decision\b[^>]*\bid=\"([^\"]+)\"")


class SettableClock:
    """The throwaway application's clock: the run moves it forward to fire timers, never back."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.current

    def move_to(self, moment: datetime) -> None:
        self.current = max(self.current, moment)


@dataclass
class Row:
    file: str
    process_id: str  # "-": the file holds no executable process (or is a decision file)
    kind: str = "process"  # process | decision
    parsed: bool = False
    imported: str = "-"  # "<n> change(s): first change" or "-"
    lint_ok: bool = False
    deployed: bool = False
    ran: bool = False
    reason: str = ""
    false_completion: bool = False
    traceback: str = ""  # the type and text of an unexpected exception
    end_events: list[str] = field(default_factory=list)  # the end events its instance reached

    @property
    def executable(self) -> bool:
        return self.kind == "process" and self.process_id != "-"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    @property
    def executable(self) -> list[Row]:
        return [r for r in self.rows if r.executable]

    @property
    def ran(self) -> int:
        return sum(1 for r in self.executable if r.ran)

    @property
    def false_completions(self) -> int:
        return sum(1 for r in self.rows if r.false_completion)

    @property
    def tracebacks(self) -> int:
        return sum(1 for r in self.rows if r.traceback)

    def summary(self) -> str:
        return f"ran {self.ran} of {len(self.executable)} executable processes"

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.rows]


class _FakeOperators(HandlerRegistry):
    """Every operator the diagrams name, each answering `{}`: the compat run's stand-in for real services."""

    def __init__(self, operators: set[str]) -> None:
        super().__init__()
        for operator in sorted(operators):
            self.register(operator)(_answer_nothing)


def _answer_nothing(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return {}


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 1] + "…"


def _problem_text(problem: DiagramProblem) -> str:
    where = f"{problem.element_id}: " if problem.element_id else ""
    return _short(f"{where}{problem.reason}")


def _unexpected(row: Row, stage: str, exc: Exception) -> None:
    db.session.rollback()
    row.traceback = _short(f"{type(exc).__name__} in {stage}: {exc}")
    row.reason = row.reason or f"unexpected {type(exc).__name__} in {stage}"


class _Folder:
    """What a BPMN file may need from around it: the DMN files of its folder and below, the BPMN files
    of its folder by the process ids they define (read once per folder)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dmn: dict[Path, tuple[str, ...]] = {}
        self._process_files: dict[Path, dict[str, Path]] = {}

    def decision_ids(self, path: Path) -> tuple[str, ...]:
        if path not in self._dmn:
            self._dmn[path] = tuple(m.group(2).decode("utf-8", "replace") for m in _DMN_NS.finditer(path.read_bytes()))
        return self._dmn[path]

    def dmn_under(self, folder: Path, all_dmn: list[Path]) -> list[Path]:
        return [p for p in all_dmn if folder in p.parents]

    def processes_in(self, folder: Path, all_bpmn: list[Path]) -> dict[str, Path]:
        if folder not in self._process_files:
            found: dict[str, Path] = {}
            for path in (p for p in all_bpmn if p.parent == folder):
                for pid, _executable in executable_processes(path.read_bytes()):
                    found.setdefault(pid, path)
            self._process_files[folder] = found
        return self._process_files[folder]


def executable_processes(content: bytes) -> list[tuple[str, bool]]:
    """(process id, executable) of each `<process>` of a BPMN document, read without SpiffWorkflow
    (the rows of a file that does not parse); [] when it is not XML."""
    try:
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError:
        return []
    found = []
    for node in root.iter("{*}process"):
        found.append((node.get("id") or "-", node.get("isExecutable", "true") == "true"))
    return found


def processes_with_end_events(content: bytes) -> set[str]:
    """The ids of the `<process>`es that hold an end event (their embedded subprocesses' count too)."""
    try:
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return set()
    return {node.get("id") or "-" for node in root.iter("{*}process") if next(node.iter("{*}endEvent"), None) is not None}


def _sample(schema: Any, depth: int = 0) -> Any:
    """A value a JSON Schema accepts, as a person filling in the form with the first choices would give."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            choice = schema[key][0]
            return choice.get("const", _sample(choice, depth + 1)) if isinstance(choice, dict) else None
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            if isinstance(part, dict):
                merged.update(part)
        return _sample(merged, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        found = {name: value for name, prop in properties.items()
                 if (value := _sample(prop, depth + 1)) is not None or name in schema.get("required", [])}
        # a field required but never described (its widget lives in the UI schema): any text
        found.update({name: "x" for name in schema.get("required", []) if name not in properties})
        return found
    if kind == "array":
        return [_sample(schema.get("items") or {}, depth + 1) for _ in range(int(schema.get("minItems") or 0))]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = max(1, low + (1 if "exclusiveMinimum" in schema else 0)) if isinstance(low, int | float) else 1
        high = schema.get("maximum")
        if isinstance(high, int | float) and value > high:
            value = high
        return int(value) if kind == "integer" else value
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return date(2026, 1, 5).isoformat()
        if fmt == "date-time":
            return datetime(2026, 1, 5, 9, 0, tzinfo=UTC).isoformat()
        if fmt == "email":
            return "someone@example.com"
        return "x" * max(1, int(schema.get("minLength") or 1))
    return None


def form_data(schema: dict[str, Any] | None) -> dict[str, Any]:
    """Data for a user task from its form's JSON Schema; {} without a form."""
    value = _sample(schema) if schema else {}
    return value if isinstance(value, dict) else {}


def _reset_workflow_tables() -> None:
    for table in reversed(db.metadata.sorted_tables):
        if table.name not in KEPT_TABLES:
            db.session.execute(table.delete())
    db.session.commit()
    runtime().clear_caches()


class CompatRun:
    """One run over a folder in the current (throwaway) application; `use_forms(folder)` points its
    forms folder at the diagram's own folder (the command line owns the application's settings)."""

    def __init__(self, root: Path, clock: SettableClock, use_forms: Callable[[Path], None]) -> None:
        self.root = root
        self.clock = clock
        self.use_forms = use_forms
        self.folder = _Folder(root)
        paths = [p for p in sorted(root.rglob("*")) if p.is_file() and deployment.is_diagram_name(p.name)]
        self.dmn = [p for p in paths if p.name.lower().endswith((".dmn", ".dmn11.xml"))]
        self.bpmn = [p for p in paths if p not in set(self.dmn)]
        self._business_keys = 0

    def run(self, progress: Callable[[Row], None] | None = None) -> Report:
        report = Report()
        ensure_platform_admin()
        db.session.commit()
        self._map_camunda_implementations()
        for path in self.bpmn:
            for row in self._bpmn_file(path):
                report.rows.append(row)
                if progress:
                    progress(row)
        for path in self.dmn:
            row = self._dmn_file(path)
            report.rows.append(row)
            if progress:
                progress(row)
        return report

    def _map_camunda_implementations(self) -> None:
        """Every Camunda service implementation the folder's diagrams name, mapped to the stand-in."""
        found: dict[tuple[str, str], None] = {}
        for path in self.bpmn:
            try:
                root = read_xml(path.read_bytes(), path.name, context.config("MAX_DIAGRAM_BYTES"))
            except DiagramRejected:
                continue  # the file's own row says why
            found.update(dict.fromkeys(camunda_services.implementations(root)))
        runtime().handlers = _FakeOperators({CAMUNDA_STAND_IN})
        for kind, value in found:
            if value and len(value) <= operator_mappings.MAX_VALUE:
                operator_mappings.set_mapping(kind, value, CAMUNDA_STAND_IN)
        db.session.commit()

    # -- one file ------------------------------------------------------------------------------
    def _name(self, path: Path, base: Path) -> str:
        return path.relative_to(base).as_posix()

    def _dmn_file(self, path: Path) -> Row:
        row = Row(path.relative_to(self.root).as_posix(), "-", kind="decision")
        try:
            _reset_workflow_tables()
            self.use_forms(path.parent)
            files = [DiagramFile(path.name, path.read_bytes())]
            try:
                parse_diagrams(files, context.config("MAX_DIAGRAM_BYTES"))
                row.parsed = True
            except DiagramRejected as exc:
                row.reason = _problem_text(exc.problems[0])
                return row
            errors = [p for p in deployment.check_diagrams(files) if p.severity == "error"]
            row.lint_ok = not errors
            if errors:
                row.reason = _problem_text(errors[0])
                return row
            deployment.deploy_and_commit(files)
            row.deployed = True
        except ServiceError as exc:
            row.reason = _short(exc.message)
        except Exception as exc:  # noqa: BLE001 - counted and reported, never fatal
            _unexpected(row, "the decision file", exc)
        return row

    def _bpmn_file(self, path: Path) -> list[Row]:
        display = path.relative_to(self.root).as_posix()
        folder = path.parent
        content = path.read_bytes()
        declared = [pid for pid, executable in executable_processes(content) if executable]
        rows = {pid: Row(display, pid) for pid in declared}
        try:
            self._file_through(path, folder, content, rows)
        except Exception as exc:  # noqa: BLE001 - counted and reported, never fatal
            if not rows:
                rows["-"] = Row(display, "-")
            for row in rows.values():
                if not row.reason:
                    _unexpected(row, "the import", exc)
        if not rows:
            rows["-"] = Row(display, "-", reason="no executable process in this file")
        return list(rows.values())

    def _file_through(self, path: Path, folder: Path, content: bytes, rows: dict[str, Row]) -> None:
        _reset_workflow_tables()
        self.use_forms(folder)
        limit = context.config("MAX_DIAGRAM_BYTES")
        own = DiagramFile(path.name, content)
        dmn = [(p, self.folder.decision_ids(p)) for p in self.folder.dmn_under(folder, self.dmn)]
        # the decisions the file names (a broken table it never uses must not refuse it)
        context_dmn = [DiagramFile(self._name(p, folder), p.read_bytes()) for p, ids in dmn
                       if any(i.encode() in content for i in ids)]
        # parse and import: the file alone, with the folder's decisions as context
        try:
            bundle = parse_diagrams([own], limit, context_dmn=context_dmn, operator_map=operator_mappings.for_import())
        except DiagramRejected as exc:
            mine = [p for p in exc.problems if p.file == own.filename] or exc.problems
            if not rows:
                rows["-"] = Row(self._name(path, self.root), "-")
            for row in rows.values():
                row.reason = _problem_text(mine[0])
            return
        for pid in bundle.processes:  # SpiffWorkflow's view of which processes run wins over the XML's
            rows.setdefault(pid, Row(self._name(path, self.root), pid))
        for pid in [p for p in rows if p not in bundle.processes]:
            del rows[pid]
        changes = [w for w in bundle.warnings if w.file == own.filename]
        for row in rows.values():
            row.parsed = True
            row.imported = f"{len(changes)}: {_problem_text(changes[0])}" if changes else "0"
        # what it needs: the processes it calls (the folder's BPMN files), the decisions it names
        files = [own, *self._called_files(bundle, folder, path)]
        sources = b"".join(f.content for f in files)
        needed = [(p, ids) for p, ids in dmn if any(i.encode() in sources for i in ids)]
        runtime().handlers = _FakeOperators(self._operators(files, context_dmn, bundle))
        for dmn_path, _ids in needed:  # deployed first: the process's check and deploy read them as deployed
            try:
                deployment.deploy_and_commit([DiagramFile(self._name(dmn_path, folder), dmn_path.read_bytes())])
            except ServiceError:
                pass  # a decision that does not deploy: the process that uses it says so at its check
        by_process = self._check(files)
        for pid, row in rows.items():
            errors = by_process.get(pid, []) + by_process.get("", [])
            row.lint_ok = not errors
            if errors:
                row.reason = _problem_text(errors[0])
        if not all(r.lint_ok for r in rows.values()):
            # the deploy refuses the file as a whole: the processes that passed say why they did not deploy
            first = next(r.reason for r in rows.values() if not r.lint_ok)
            for row in rows.values():
                if row.lint_ok:
                    row.reason = _short(f"not deployed: another process of the file is refused ({first})")
            return
        try:
            deployment.deploy_and_commit(files)
        except ServiceError as exc:
            detail = next((m for ms in exc.fields.values() for m in ms), "")
            for row in rows.values():
                row.reason = _short(f"{exc.message}: {detail}" if detail else exc.message)
            return
        for row in rows.values():
            row.deployed = True
        ending = processes_with_end_events(content)
        for pid, row in rows.items():
            try:
                self._drive(pid, row, pid in ending)
            except Exception as exc:  # noqa: BLE001 - counted and reported, never fatal
                _unexpected(row, "the run", exc)

    def _called_files(self, bundle: Any, folder: Path, path: Path) -> list[DiagramFile]:
        """The BPMN files of the folder that define the processes the file calls, transitively."""
        index = self.folder.processes_in(folder, self.bpmn)
        pending = [c for p in bundle.processes.values() for c in p.calls]
        chosen: dict[Path, DiagramFile] = {}
        seen: set[str] = set(bundle.processes)
        limit = context.config("MAX_DIAGRAM_BYTES")
        while pending:
            called = pending.pop()
            if called in seen:
                continue
            seen.add(called)
            where = index.get(called)
            if where is None or where == path or where in chosen:
                continue
            chosen[where] = DiagramFile(where.name, where.read_bytes())
            try:
                more = parse_diagrams([chosen[where]], limit, operator_map=operator_mappings.for_import())
            except DiagramRejected:
                continue  # the check of the whole set says what is wrong with it
            pending += [c for p in more.processes.values() for c in p.calls]
        return list(chosen.values())

    @staticmethod
    def _operators(files: list[DiagramFile], context_dmn: list[DiagramFile], bundle: Any) -> set[str]:
        found = {op for p in bundle.processes.values() for op in p.operators}
        try:
            whole = parse_diagrams(files, context.config("MAX_DIAGRAM_BYTES"), context_dmn=context_dmn,
                                   operator_map=operator_mappings.for_import())
        except DiagramRejected:
            return found
        return found | {op for p in whole.processes.values() for op in p.operators}

    @staticmethod
    def _check(files: list[DiagramFile]) -> dict[str, list[DiagramProblem]]:
        """The strict check's errors by process id of the file ("" for those it cannot place)."""
        errors = [p for p in deployment.check_diagrams(files) if p.severity == "error"]
        by_process: dict[str, list[DiagramProblem]] = {}
        if not errors:
            return by_process
        own = files[0].filename
        processes = {pid for pid, _ in executable_processes(files[0].content)}
        for problem in errors:
            key = problem.element_id if problem.element_id in processes else ""
            if problem.file != own and key == "":
                problem = DiagramProblem(problem.file, problem.element_id,
                                         f"in {problem.file}: {problem.reason}", problem.line)
            by_process.setdefault(key, []).append(problem)
        return by_process

    # -- one instance ------------------------------------------------------------------------------
    def _drive(self, process_id: str, row: Row, has_end_event: bool) -> None:
        admin = principal_for("admin")
        self._business_keys += 1
        key = f"compat-{self._business_keys}"
        try:
            instance_id = instances.start(process_id, admin, business_key=key)["id"]
        except ServiceError as exc:
            db.session.rollback()
            row.reason = _short(f"did not start: {exc.message}")
            return
        for _ in range(MAX_STEPS):
            db.session.remove()
            instance = db.session.get(ProcessInstance, instance_id)
            assert instance is not None
            if instance.status != "waiting":
                self._ended(instance, row, has_end_event)
                return
            try:
                moved = self._act(instance, admin, row)
            except ServiceError as exc:
                db.session.rollback()
                row.reason = row.reason or _short(exc.message)
                return
            if not moved:
                return
        row.reason = f"no end event after {MAX_STEPS} steps (a loop, or a timer cycle that never ends?)"

    def _ended(self, instance: ProcessInstance, row: Row, has_end_event: bool) -> None:
        if instance.status == "completed":
            ends = db.session.scalars(select(InstanceEvent.details).where(
                InstanceEvent.instance_id == instance.id, InstanceEvent.kind == "completed")).all()
            row.end_events = [e for d in ends for e in (d or {}).get("end_events", [])]
            if row.end_events:
                row.ran = True
                row.reason = ""
            else:
                row.false_completion = True
                row.reason = "FALSE COMPLETION: completed without reaching an end event " + (
                    "(the process has end events: none was reached)" if has_end_event
                    else "(the process has none: it stops after its last element)")
        elif instance.status == "error":
            error = instance.error or {}
            where = f" at {error['element_id']}" if error.get("element_id") else ""
            said = (error.get("reason") or {}).get("text") or error.get("message", "")  # the actionable reason
            row.reason = _short(f"incident{where}: {said}")
        else:
            row.reason = f"instance is {instance.status}"

    def _act(self, instance: ProcessInstance, admin: Principal, row: Row) -> bool:
        """One action that should move a waiting instance; False (with the reason) when none can."""
        task = db.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.state.in_(OPEN_TASK_STATES)).order_by(HumanTask.id)).first()
        if task is not None:
            schema = forms_by_id([task.form_id]).get(task.form_id) if task.form_id else None
            task_id = task.id
            db.session.rollback()
            try:
                tasks.complete_task(task_id, form_data(schema), admin)
            except ServiceError as exc:
                row.reason = _short(f"user task {task.element_id}: {exc.message} "
                                    + "; ".join(m for ms in exc.fields.values() for m in ms))
                return False
            return True
        names = list(instance.waiting_for or [])
        key, due_at = instance.business_key or "", instance.due_at
        for name in names:
            if name.startswith(SIGNAL_PREFIX):
                signal = name[len(SIGNAL_PREFIX):]
                db.session.rollback()
                if signals.send_signal(admin, signal, {}).delivered_to:
                    return True
                row.reason = _short(f"signal {signal!r} was sent and no catch event took it")
                return False
        for name in names:
            db.session.rollback()
            try:
                messages.deliver_message(name, key, {})
            except ServiceError:
                row.reason = _short(f"message {name!r} was not taken by the catch event waiting for it "
                                    "(a correlation the payload cannot meet?)")
                return False
            return True
        if due_at is not None:
            self.clock.move_to(due_at)
            db.session.rollback()
            if waking.wake_instance(instance.id):
                return True
            row.reason = _short(f"a timer was due at {due_at.isoformat()} and the instance did not wake")
            return False
        waits = db.session.scalars(select(InstanceWait.element_id).where(
            InstanceWait.instance_id == instance.id)).all()
        row.reason = _short("waits with nothing that can move it" + (f" at {', '.join(waits)}" if waits else ""))
        return False
