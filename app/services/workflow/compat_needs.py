"""`processes compat`: what one diagram needs from the folder around it, found nearest first
(`compat_index`): the DMN files of the decisions it names, the BPMN files of the processes it calls
(transitively), one forms folder for them all; and what to say when an id is nowhere."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from app.engine import camunda_forms, camunda_html_forms
from app.engine.errors import DiagramProblem, DiagramRejected
from app.engine.parser import DiagramFile, parse_diagrams
from app.services import context
from app.services.workflow import import_tables
from app.services.workflow.compat_index import DiagramIndex, decision_refs
from app.services.workflow.compat_report import one_line, problem_text


class Needs:
    """Lookups for the diagrams under `index.root`; `close()` removes the merged forms folders."""

    def __init__(self, index: DiagramIndex) -> None:
        self.index = index
        self.root = index.root
        self.scratch = Path(tempfile.mkdtemp(prefix="loanflow-compat-forms-"))  # merged forms folders
        self._merged = 0

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def name(self, path: Path, folder: Path) -> str:
        """A needed file's name in the bundle: relative to the diagram's folder, else to the root."""
        return path.relative_to(folder if folder in path.parents else self.root).as_posix()

    def decisions_for(self, path: Path, content: bytes) -> tuple[list[Path], list[str]]:
        """The DMN files the diagram's decisions come from (its folder and below first, then its source
        tree, then the root), and the decision ids it names that no file under the root defines."""
        folder = path.parent
        found = [p for p in self.index.dmn_under(folder)
                 if any(i.encode() in content for i in self.index.decision_ids(p))]
        nowhere = []
        for ref in sorted(decision_refs(content)):
            if any(ref in self.index.decision_ids(p) for p in found):
                continue
            where = self.index.decision_file(ref, path)
            if where is None:
                nowhere.append(ref)
            elif where not in found:
                found.append(where)
        return found, nowhere

    def decision_reason(self, problem: DiagramProblem, refs: list[str], found: list[Path]) -> str:
        """A decision the diagram names that no file defines, or whose file does not load, said as such
        (the parser says only that it is not available)."""
        where = f"{problem.element_id}: " if problem.element_id else ""
        ref = next((r for r in refs if f'"{r}"' in problem.reason), None)
        if ref is None:
            loaded = next(((r, p) for p in found for r in self.index.decision_ids(p)
                           if f'No DMN Diagram available with id "{r}"' in problem.reason), None)
            if loaded is None:
                return problem_text(problem)
            return one_line(f"{where}the business rule task calls decision {loaded[0]!r}, which "
                         f"{loaded[1].relative_to(self.root).as_posix()} defines, but that file is refused "
                         "(its own row says why)")
        named = self.index.named_decision_files(ref)
        hint = (f"; {named[0].relative_to(self.root).as_posix()} is named {ref!r}, but its decisions have other "
                "ids: call one of them") if named else ""
        return one_line(f"{where}the business rule task calls decision {ref!r}, which no file under "
                     f"{self.root.name}/ defines{hint}")

    def forms_folder(self, folder: Path, others: list[Path]) -> Path:
        """The forms the diagram and the processes it calls read: the diagram's folder, or, when called
        processes come from other folders, one folder holding each folder's JSON files (the diagram's
        own folder's win a clash of names, as SpiffArena reads a form beside its process model), with
        the Camunda Forms files of the application the diagram belongs to (`application_forms`)."""
        others = [f for f in dict.fromkeys(others) if f != folder]
        application = [p for p in self.application_forms(folder) if p.parent != folder]
        if not others and not application:
            return folder
        self._merged += 1
        merged = self.scratch / f"forms-{self._merged}"
        merged.mkdir(parents=True)
        for form in application:
            shutil.copyfile(form, merged / form.name)
        for source in [*reversed(others), folder]:
            for form in [*source.glob("*.json"), *source.glob(f"*{camunda_forms.FORM_SUFFIX}"),
                         *source.glob(f"*{camunda_html_forms.HTML_SUFFIX}")]:
                shutil.copyfile(form, merged / form.name)
        return merged

    def application_forms(self, folder: Path) -> list[Path]:
        """The Camunda Forms files (`*.form`) and embedded forms (`*.html`) of the Maven module a diagram is in (the
        folder above its `src/`): Camunda 7 finds `camunda-forms:app:task-form.form` among the process application's
        resources, which keep forms in `src/main/webapp` and diagrams in `src/main/resources`; outside a module, those
        below the diagram's folder. Farthest folder first, so that copied in this order a clash of names keeps the
        form nearest the diagram."""
        parts = folder.relative_to(self.root).parts
        # outside a Maven module, the forms kept below the diagram's folder (`Diagrams/Forms/`, as Camunda 8's
        # projects keep the forms they deploy beside their diagrams)
        module = self.root.joinpath(*parts[:parts.index("src")]) / "src" if "src" in parts else folder
        found = [p for suffix in (camunda_forms.FORM_SUFFIX, camunda_html_forms.HTML_SUFFIX)
                 for p in module.rglob(f"*{suffix}") if p.is_file()]
        # the distance between folders: the steps of the relative path from the diagram's folder to the form's
        return sorted(found, key=lambda p: (-len(Path(os.path.relpath(p.parent, folder)).parts), p.as_posix()))

    def called_files(self, bundle: Any, path: Path) -> tuple[dict[Path, DiagramFile], dict[str, str]]:
        """The BPMN files that define the processes the file calls, transitively, nearest first
        (`DiagramIndex.process_file`); and, by calling process, a called id no file defines."""
        pending = [(pid, c) for pid, p in bundle.processes.items() for c in p.calls]
        chosen: dict[Path, DiagramFile] = {}
        seen: set[str] = set(bundle.processes)
        missing: dict[str, str] = {}
        limit = context.config("MAX_DIAGRAM_BYTES")
        while pending:
            caller, called = pending.pop()
            if called in seen:
                continue
            seen.add(called)
            where = self.index.process_file(called, path)
            if where is None:
                if caller in bundle.processes:
                    missing.setdefault(caller, called)
                continue
            if where in chosen:
                continue
            chosen[where] = DiagramFile(self.name(where, path.parent), where.read_bytes())
            dmn = [DiagramFile(self.name(p, path.parent), p.read_bytes())
                   for p in self.decisions_for(where, chosen[where].content)[0]]
            try:
                more = parse_diagrams([chosen[where]], limit, context_dmn=dmn, **import_tables.for_import())
            except DiagramRejected:
                continue  # the check of the whole set says what is wrong with it
            pending += [(caller if caller in bundle.processes else pid, c)
                        for pid, p in more.processes.items() for c in p.calls]
        return chosen, missing
