"""`processes compat DIR`: every diagram of a folder through Loanflow's own layer, then driven to an end.

For each BPMN file of the folder (recursively; `deployment.is_diagram_name`) this parses and imports
it (`parse_diagrams`, with the decisions it names as context), runs the strict check
(`check_diagrams`: what `processes validate` says), deploys it with what it needs (the decisions it
names and the processes it calls, looked up nearest first across the folder, and the other ends of its
conversations, the files beside it that wait for a message it sends or send one it waits for:
`compat_index`), checks that the deploy's verdict is the validate's (`disagreements`), and drives each
executable process (`compat_driver`): user tasks completed with data from their forms, timers
fast-forwarded, messages sent by the processes that send them (passed on by the outbox) or else
delivered with their correlation values, signals sent — until the instance completes, fails, or makes
no progress. Service tasks are answered by a fake operator that returns `{}`.

It must run on a throwaway database (the command line makes one): every BPMN file starts from empty
workflow tables, so process and decision ids that repeat across the folder's files never meet.
Nothing here is a test of the diagrams' meaning: "ran" means an end event was reached, as the engine
recorded it. An instance that completes without an end event in its history is a *false completion*;
an exception other than the platform's refusals (`ServiceError`, `DiagramRejected`) is a *traceback*:
both are counted, and neither stops the run. The rows and the summary are `compat_report`'s.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.engine import camunda_services, camunda_user_tasks, vendor_namespaces, zeebe_elements
from app.engine.errors import DiagramProblem, DiagramRejected
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.xml import read_xml
from app.extensions import db
from app.services import context
from app.services.errors import ServiceError
from app.services.identity.directory import ensure_platform_admin, principal_for
from app.services.identity.grants import PLATFORM_ADMIN
from app.services.workflow import deployment, group_mappings, import_tables, operator_mappings
from app.services.workflow.compat_driver import InstanceDriver, SettableClock
from app.services.workflow.compat_index import (
    DiagramIndex,
    compared_strings,
    executable_processes,
    message_ends,
    processes_with_end_events,
)
from app.services.workflow.compat_needs import Needs
from app.services.workflow.compat_report import Report, Row, one_line, problem_text, unexpected
from app.services.workflow.operators import HandlerContext, HandlerRegistry
from app.services.workflow.runtime import runtime

__all__ = ["CompatRun", "Report", "Row", "SettableClock"]

# Kept between files: who acts (the platform admin), the reference data of the empty database and
# the operator and group mappings the run made.
KEPT_TABLES = frozenset({"organisations", "org_kinds", "users", "user_roles", "api_tokens", "user_tokens",
                         "user_sessions", "audit_log", "sign_in_throttles", "gl_accounts", "loan_products",
                         "product_accounts", "channels", "operator_mappings", "group_mappings"})
# The operator every Camunda service implementation of the folder is mapped to in the throwaway run
# (as an admin would map each to a real one): the measurement says what runs once they are mapped.
CAMUNDA_STAND_IN = "compat.camunda_service"
# The role every Camunda group of the folder that is no role is mapped to, likewise (as an admin would map
# each of the organisation's groups to a role): the driven run works every user task as the platform admin.
GROUP_STAND_IN = PLATFORM_ADMIN


class _FakeOperators(HandlerRegistry):
    """Every operator the diagrams name, each answering `{}`: the compat run's stand-in for real services."""

    def __init__(self, operators: set[str]) -> None:
        super().__init__()
        for operator in sorted(operators):
            self.register(operator)(_answer_nothing)


def _answer_nothing(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return {}


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
        paths = [p for p in sorted(root.rglob("*")) if p.is_file() and deployment.is_diagram_name(p.name)]
        self.dmn = [p for p in paths if p.name.lower().endswith((".dmn", ".dmn11.xml"))]
        self.bpmn = [p for p in paths if p not in set(self.dmn)]
        self.index = DiagramIndex(root, self.bpmn, self.dmn)
        self._business_keys = 0

    def run(self, progress: Callable[[Row], None] | None = None) -> Report:
        report = Report()
        ensure_platform_admin()
        db.session.commit()
        self._map_camunda_implementations()
        self.needs = Needs(self.index)
        try:
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
        finally:
            self.needs.close()
        return report

    def _map_camunda_implementations(self) -> None:
        """Every Camunda service implementation the folder's diagrams name, mapped to the stand-in
        operator; every group they offer tasks to that is no role, to the stand-in role."""
        found: dict[tuple[str, str], None] = {}
        groups: set[str] = set()
        for path in self.bpmn:
            try:
                root = read_xml(path.read_bytes(), path.name, context.config("MAX_DIAGRAM_BYTES"))
            except DiagramRejected:
                continue  # the file's own row says why
            vendor_namespaces.as_camunda(root)  # as the import reads it
            zeebe_elements.as_camunda(root)
            found.update(dict.fromkeys(camunda_services.implementations(root)))
            groups.update(camunda_user_tasks.candidate_groups(root))
        runtime().handlers = _FakeOperators({CAMUNDA_STAND_IN})
        for kind, value in found:
            if value and len(value) <= operator_mappings.MAX_VALUE:
                operator_mappings.set_mapping(kind, value, CAMUNDA_STAND_IN)
        for group in sorted(groups - set(group_mappings.roles())):
            if len(group) <= group_mappings.MAX_GROUP:
                group_mappings.set_mapping(group, GROUP_STAND_IN)
        db.session.commit()

    # -- one file ------------------------------------------------------------------------------
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
                row.reason = problem_text(exc.problems[0])
                return row
            errors = [p for p in deployment.check_diagrams(files) if p.severity == "error"]
            row.lint_ok = not errors
            if errors:
                row.reason = problem_text(errors[0])
            row.deployed = self._deploy(files, [row], errors)
        except ServiceError as exc:
            row.reason = one_line(exc.message)
        except Exception as exc:  # noqa: BLE001 - counted and reported, never fatal
            unexpected(row, "the decision file", exc)
        return row

    def _bpmn_file(self, path: Path) -> list[Row]:
        display = path.relative_to(self.root).as_posix()
        content = path.read_bytes()
        declared = [pid for pid, executable in executable_processes(content) if executable]
        rows = {pid: Row(display, pid) for pid in declared}
        try:
            self._file_through(path, content, rows)
        except Exception as exc:  # noqa: BLE001 - counted and reported, never fatal
            if not rows:
                rows["-"] = Row(display, "-")
            for row in rows.values():
                if not row.reason:
                    unexpected(row, "the import", exc)
        if not rows:
            rows["-"] = Row(display, "-", reason="no executable process in this file")
        return list(rows.values())

    def _file_through(self, path: Path, content: bytes, rows: dict[str, Row]) -> None:
        folder = path.parent
        _reset_workflow_tables()
        self.use_forms(folder)
        limit = context.config("MAX_DIAGRAM_BYTES")
        own = DiagramFile(path.name, content)
        dmn_paths, nowhere = self.needs.decisions_for(path, content)
        context_dmn = [DiagramFile(self.needs.name(p, folder), p.read_bytes()) for p in dmn_paths]
        # parse and import: the file alone, with the decisions it names as context
        try:
            bundle = parse_diagrams([own], limit, context_dmn=context_dmn, **import_tables.for_import())
        except DiagramRejected as exc:
            mine = [p for p in exc.problems if p.file == own.filename] or exc.problems
            if not rows:
                rows["-"] = Row(self.needs.name(path, self.root), "-")
            for row in rows.values():
                row.reason = self.needs.decision_reason(mine[0], nowhere, dmn_paths)
            return
        for pid in bundle.processes:  # SpiffWorkflow's view of which processes run wins over the XML's
            rows.setdefault(pid, Row(self.needs.name(path, self.root), pid))
        for pid in [p for p in rows if p not in bundle.processes]:
            del rows[pid]
        changes = [w for w in bundle.warnings if w.file == own.filename]
        for row in rows.values():
            row.parsed = True
            row.imported = f"{len(changes)}: {problem_text(changes[0])}" if changes else "0"
        # what it needs: the processes it calls, the decisions they name, the other ends of its conversations
        called, missing = self.needs.called_files(bundle, path)
        files = [own, *called.values()]
        sends, waits = message_ends(content)
        partners = self.index.message_partners(path, set(sends), set(waits))
        partner_files = [DiagramFile(self.needs.name(p, folder), p.read_bytes()) for p in partners]
        self.use_forms(self.needs.forms_folder(folder, [p.parent for p in [*called, *partners]]))
        for where, extra in called.items():
            more = [p for p in self.needs.decisions_for(where, extra.content)[0] if p not in dmn_paths]
            context_dmn += [DiagramFile(self.needs.name(p, folder), p.read_bytes()) for p in more]
            dmn_paths += more
        operators, senders = self._what_runs([files, *[[f] for f in partner_files]], context_dmn)
        runtime().handlers = _FakeOperators(operators | {op for p in bundle.processes.values() for op in p.operators})
        for other in [*context_dmn, *partner_files]:  # deployed first: the process's check and deploy read them
            try:
                deployment.deploy_and_commit([other])
            except ServiceError:
                pass  # a decision that does not deploy: the process that uses it says so at its check; a
                #       conversation partner that does not: its messages are not sent (its own row says why)
        by_process = self._check(files)
        for pid, row in rows.items():
            errors = by_process.get(pid, []) + by_process.get("", [])
            row.lint_ok = not errors
            if errors:
                row.reason = self.needs.decision_reason(errors[0], nowhere, dmn_paths)
        refused = [p for ps in by_process.values() for p in ps]
        if refused:
            # the deploy refuses the files as a whole: the processes that passed say why they did not deploy
            # (another process of the file is refused, or one the import leaves out, or a file it calls)
            first = next((r.reason for r in rows.values() if not r.lint_ok), None) or problem_text(refused[0])
            for row in rows.values():
                if row.lint_ok:
                    row.reason = one_line(f"not deployed: another process of the file, or a file it needs, is "
                                          f"refused ({first})")
        deployed = self._deploy(files, list(rows.values()), refused)
        for row in rows.values():
            row.deployed = deployed
        if not deployed or refused:
            return  # refused by validate: not driven, even if the deploy (disagreeing) took it
        ending = processes_with_end_events(content)
        admin = principal_for("admin")
        hints = compared_strings([f.content for f in files])
        for pid, row in rows.items():
            self._business_keys += 1
            try:
                if pid in missing:
                    row.reason = one_line(f"did not start: process {pid!r} calls {missing[pid]!r}, which no file "
                                       f"under {self.root.name}/ defines")
                    continue
                InstanceDriver(self.clock, admin, row, hints, senders).drive(
                    pid, f"compat-{self._business_keys}", pid in ending)
            except Exception as exc:  # noqa: BLE001 - counted and reported, never fatal
                unexpected(row, "the run", exc)

    def _deploy(self, files: list[DiagramFile], rows: list[Row], refused: list[DiagramProblem]) -> bool:
        """Deploy the files, whatever `processes validate` said of them (`refused`: its errors), and
        note on the rows when the deploy's verdict is not the validate's. True when deployed."""
        try:
            deployment.deploy_and_commit(files)
        except ServiceError as exc:
            if not refused:
                detail = next((m for ms in exc.fields.values() for m in ms), "")
                said = one_line(f"{exc.message}: {detail}" if detail else exc.message)
                for row in rows:
                    row.reason = said
                    row.disagreement = one_line(f"validate passed it; the deploy refused it: {said}")
            return False
        if refused:
            for row in rows:
                row.disagreement = one_line(f"validate refused it ({problem_text(refused[0])}); the deploy accepted it")
        return True

    @staticmethod
    def _what_runs(groups: list[list[DiagramFile]], context_dmn: list[DiagramFile],
                   ) -> tuple[set[str], dict[str, set[str]]]:
        """As imported, one parse per group of files deployed together: the operators their processes
        call, and by message name the processes that send it (`message_throws`). A group that does not
        parse is not deployed: it calls and sends nothing."""
        operators: set[str] = set()
        senders: dict[str, set[str]] = {}
        engine = runtime().engine
        for files in groups:
            try:
                bundle = parse_diagrams(files, context.config("MAX_DIAGRAM_BYTES"), context_dmn=context_dmn,
                                        **import_tables.for_import())
            except DiagramRejected:
                continue
            for pid, process in bundle.processes.items():
                operators.update(process.operators)
                for name in engine.message_throws(process.spec, process.embedded):
                    senders.setdefault(name, set()).add(pid)
        return operators, senders

    @staticmethod
    def _check(files: list[DiagramFile]) -> dict[str, list[DiagramProblem]]:
        """The strict check's errors (what `processes validate` says) by process id of the file ("" for
        those it cannot place)."""
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
