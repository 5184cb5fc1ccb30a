"""Deploying diagrams as numbered process and decision versions; listing and exporting them.

Every deploy — `processes deploy`, the API's upload, the demo, the tests — runs the one strict check
(`check_diagrams`, which is also all `processes validate` does): the files parse (with the
deployed decisions as context), every user task's form exists in the forms folder and is JSON,
every service operator is registered in the runtime, every script, condition and timer compiles.
An error refuses the whole deploy and changes nothing; warnings are reported with the versions.
The entry points hand in `DiagramFile`s (re-exported here) and never touch the engine themselves.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import SchemaError
from sqlalchemy import Select, func, inspect, select

from app.engine import camunda_forms, camunda_html_forms, json_errors, start_events
from app.engine.dmn_lint import lint_decision_file
from app.engine.errors import DiagramProblem, DiagramRejected
from app.engine.lint import lint_bundle
from app.engine.parser import (  # DiagramFile: the entry points' input
    FORM_PROPERTY,
    Bundle,
    DiagramFile,
    ParsedProcess,
    parse_diagrams,
    user_tasks,
)
from app.engine.said import Said, said
from app.engine.xml import same_content
from app.extensions import db
from app.models import Deployment, FormVersion, ProcessInstance, ProcessVersion, User
from app.services import context
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.identity.grants import ROLE_ORG_KINDS
from app.services.workflow import form_choices, import_tables, labels, timer_starts
from app.services.workflow.diagram_reasons import in_language
from app.services.workflow.runtime import runtime

# Camunda's tools name files `.bpmn20.xml` and `.dmn11.xml`: they are diagrams too
DIAGRAM_SUFFIXES = (".bpmn", ".dmn", ".bpmn20.xml", ".dmn11.xml")


def is_diagram_name(name: str) -> bool:
    return name.lower().endswith(DIAGRAM_SUFFIXES)


@dataclass
class DeployedVersion:
    process_id: str
    kind: str
    version: int
    status: str  # new | unchanged
    file: str
    warnings: list[dict[str, Any]] = field(default_factory=list)


def read_diagram_files(paths: list[Path]) -> list[DiagramFile]:
    """Diagram files named by paths; folders contribute every diagram file inside them (`is_diagram_name`)."""
    files: list[DiagramFile] = []
    for path in paths:
        if path.is_dir():
            files += [DiagramFile(p.name, p.read_bytes()) for p in sorted(path.rglob("*"))
                      if is_diagram_name(p.name) and p.is_file()]
        else:
            files.append(DiagramFile(path.name, path.read_bytes()))
    return files


def newest_versions(kind: str, *columns: Any, ids: list[str] | None = None) -> Select:
    """SELECT `columns` of the newest version of every `kind` ("process" or "decision") id — or of `ids`
    only — with its deployment (the file as deployed) joined."""
    newest = select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v")).where(
        ProcessVersion.kind == kind)
    if ids is not None:
        newest = newest.where(ProcessVersion.process_id.in_(sorted(set(ids))))
    latest = newest.group_by(ProcessVersion.process_id).subquery()
    return (select(*columns).select_from(ProcessVersion)
            .join(Deployment, ProcessVersion.deployment_id == Deployment.id)
            .join(latest, (ProcessVersion.process_id == latest.c.process_id) & (ProcessVersion.version == latest.c.v))
            .where(ProcessVersion.kind == kind))


def _newest_specs() -> list[tuple[str, Any]]:
    """(process id, its newest version's spec) for every deployed process, the specs from the cache; none
    on a database that has no tables yet (`processes validate` on a fresh checkout)."""
    if not inspect(db.session.get_bind()).has_table(ProcessVersion.__tablename__):
        return []
    rt = runtime()
    versions = db.session.execute(newest_versions("process", ProcessVersion.id, ProcessVersion.process_id)).all()
    specs = rt.specs.get_many([version_id for version_id, _ in versions])
    return [(process_id, specs[version_id][0]) for version_id, process_id in versions]


def deployed_message_starts() -> dict[str, frozenset[str]]:
    """By process id, the messages its newest version starts on (its message start events); processes
    that start on none are left out."""
    found = {process_id: runtime().engine.message_starts(spec) for process_id, spec in _newest_specs()}
    return {process_id: names for process_id, names in found.items() if names}


def message_start_processes(name: str) -> list[str]:
    """The processes whose newest version starts on message `name`, by process id: a message no instance
    waits for starts the first (`outbox_delivery`), and a deploy that adds another says so."""
    return sorted(pid for pid, names in deployed_message_starts().items() if name in names)


def signal_start_processes(name: str) -> list[tuple[str, str]]:
    """The processes whose newest version has a signal start event for signal `name`: (process id, start
    event id), each of which a signal sent from outside starts an instance at (`signals.send_signal`)."""
    return sorted((process_id, element_id) for process_id, spec in _newest_specs()
                  for element_id in start_events.signal_starts(spec).get(name, []))


def _latest_versions(kind: str, ids: list[str]) -> dict[str, ProcessVersion]:
    if not ids:
        return {}
    return {row.process_id: row for row in db.session.scalars(newest_versions(kind, ProcessVersion, ids=ids))}


def _deployed_decision_files(exclude: set[str] | frozenset[str] = frozenset()) -> list[DiagramFile]:
    """The source of the latest version of every deployed decision (but `exclude`), as context for parsing BPMN.

    None on a database that has no tables yet (`processes validate` on a fresh checkout)."""
    if not inspect(db.session.get_bind()).has_table(Deployment.__tablename__):
        return []
    rows = db.session.execute(newest_versions("decision", Deployment.filename, Deployment.source,
                                              ProcessVersion.process_id)).all()
    unique = {filename: source for filename, source, decision_id in rows if decision_id not in exclude}
    return [DiagramFile(name, source) for name, source in unique.items()]


@dataclass
class _Dependent:
    """A deployed process outside the deployed files that uses a decision being deployed, parsed again."""

    process: ParsedProcess
    forms: dict[str, int]  # its latest version's forms: filename -> form_versions.id


def _decision_dependents(bundle: Bundle, files: list[DiagramFile], limit: int) -> list[_Dependent]:
    """The latest versions of deployed processes that use a decision of `bundle`, parsed with it.

    A process embeds the decisions it uses when it is parsed, so a changed decision needs a new
    version of every process that uses it (DESIGN: running instances keep their old decision).
    """
    if not bundle.decisions:
        return []
    supplied = {f.filename for f in files}
    rows = db.session.execute(newest_versions("process", ProcessVersion.process_id, ProcessVersion.forms,
                                              Deployment.filename, Deployment.source)).all()
    mentions = [d.encode() for d in bundle.decisions]
    sources: dict[str, bytes] = {}
    forms: dict[str, dict[str, int]] = {}
    for process_id, form_ids, filename, source in rows:
        if process_id in bundle.processes or filename in supplied or not any(m in source for m in mentions):
            continue
        sources[filename] = source
        forms[process_id] = dict(form_ids or {})
    if not sources:
        return []
    context = list({d.file.filename: d.file for d in bundle.decisions.values()}.values())
    context += _deployed_decision_files(exclude=set(bundle.decisions))
    try:
        parsed = parse_diagrams([DiagramFile(n, s) for n, s in sources.items()], limit, context_dmn=context,
                                **import_tables.for_import())
    except DiagramRejected as exc:
        raise Invalid(_l("a deployed process that uses the changed decision does not parse with it"),
                      fields=problem_fields(exc.problems), code="diagram_invalid") from exc
    return [_Dependent(p, forms[p.process_id]) for p in parsed.processes.values()
            if p.process_id in forms and set(p.decisions) & set(bundle.decisions)]


# The forms Camunda draws, each read into the JSON Schema of the same name (`loan.form`, `loan.html`: `loan.json`):
# Camunda Forms files (`camunda_forms`), then Camunda 7's embedded HTML forms (`camunda_html_forms`).
_CAMUNDA_FORMS: tuple[tuple[str, Callable[[str], tuple[dict, list[str]]]], ...] = (
    (camunda_forms.FORM_SUFFIX, lambda text: camunda_forms.schema_of(camunda_forms.read(text))),
    (camunda_html_forms.HTML_SUFFIX, camunda_html_forms.schema_of),
)


def _form_names() -> list[str]:
    """The form files in the forms folder: JSON Schemas, and Camunda's forms (`loan.form`, `loan.html`) under
    the name of the JSON Schema they become when read (`loan.json`)."""
    folder = Path(context.config("FORMS_DIR"))
    if not folder.is_dir():
        return []
    names = {p.name for p in folder.glob("*.json") if p.is_file()}
    return sorted(names | {f"{p.stem}.json" for suffix, _ in _CAMUNDA_FORMS for p in folder.glob(f"*{suffix}")
                           if p.is_file()} | {f"{form_id}.json" for form_id in camunda_forms.by_id(folder)})


def _camunda_form(folder: Path, name: str) -> tuple[dict | None, list[DiagramProblem]]:
    """The JSON Schema of the Camunda form file a form name stands for (None when there is none)."""
    if (folder / name).is_file():
        return None, []
    found = [(folder / f"{name.removesuffix('.json')}{suffix}", read) for suffix, read in _CAMUNDA_FORMS]
    path, read = next(((p, r) for p, r in found if p.is_file()), (None, None))
    if path is None:  # a Camunda 8 form linked by the id it holds (`formId`), in a file of another name
        path, read = camunda_forms.by_id(folder).get(name.removesuffix(".json")), _CAMUNDA_FORMS[0][1]
    if path is None or read is None:
        return None, []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [_not_a_form(path.name, name, exc)]
    return read_camunda_form(path.name, text, name)


def camunda_form_reader(filename: str) -> Callable[[str], tuple[dict, list[str]]] | None:
    """How a Camunda form file of that name is read into a JSON Schema (a `.form`, an embedded `.html`), if it is one."""
    return next((read for suffix, read in _CAMUNDA_FORMS if filename.lower().endswith(suffix)), None)


def read_camunda_form(filename: str, text: str, name: str) -> tuple[dict | None, list[DiagramProblem]]:
    """A Camunda form file's text as the form `name` (its JSON Schema, None when it cannot be one) and what was
    said of it: a warning for each note of the conversion, or the error saying why it cannot be shown."""
    read = camunda_form_reader(filename)
    assert read is not None, filename
    try:
        schema, notes = read(text)
    except camunda_forms.FormNotConverted as exc:
        return None, [_not_a_form(filename, name, exc)]
    return schema, [DiagramProblem(filename, None,
                                   said("the Camunda form file %(file)r is the form %(form)s: %(note)s",
                                        file=filename, form=name, note=note) if note else
                                   said("the Camunda form file %(file)r is the form %(form)s", file=filename,
                                        form=name), severity="warning")
                    for note in notes or [""]]


def _not_a_form(filename: str, name: str, exc: Exception) -> DiagramProblem:
    return DiagramProblem(filename, None, said("the Camunda form file %(file)r cannot become the form %(form)s: "
                                               "%(why)s", file=filename, form=name, why=_said_of(exc)))


def _said_of(exc: BaseException) -> str:
    """What an exception says: its one argument when that is said (read in the reader's language), else its text."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Said) and first == str(exc) else str(exc)


def _running_forms() -> dict[str, dict]:
    """The form that runs under each file name: its newest deployed version (`form_versions`)."""
    newest = select(func.max(FormVersion.id)).group_by(FormVersion.filename)
    rows = db.session.execute(select(FormVersion.filename, FormVersion.content).where(FormVersion.id.in_(newest)))
    return {name: content for name, content in rows}


def _load_forms(names: list[str], forms_from: str = "folder") -> tuple[dict[str, dict], list[DiagramProblem]]:
    """Read form files (that exist) from the forms folder; one that is not JSON is an error.

    `forms_from="deployed"` (the console's deploys) takes a form as it runs — its newest deployed
    version, which may have been saved in the console — and the folder's file only for a form never
    deployed, so deploying a diagram from the browser never turns a form back to the folder's copy."""
    folder = Path(context.config("FORMS_DIR"))
    running = _running_forms() if forms_from == "deployed" else {}
    forms, problems = {}, []
    for name in names:
        if name in running:
            forms[name] = running[name]
            continue
        converted, found = _camunda_form(folder, name)
        if found:  # a Camunda form file stands for the name: converted, or refused saying why
            problems += found
            if converted is not None:
                forms[name] = converted
            continue
        try:
            forms[name] = json.loads((folder / name).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(DiagramProblem(name, None, said("form file %(form)r is not valid JSON: %(why)s", form=name,
                                                            why=json_errors.said_of(str(exc)))))
    return forms, problems


@dataclass
class _Checked:
    """What the strict check found: the parsed files (None when they do not parse), their forms,
    and the problems — errors refuse a deploy, warnings ride along with the versions."""

    bundle: Bundle | None
    forms: dict[str, dict]
    problems: list[DiagramProblem]
    by_process: dict[str, list[DiagramProblem]] = field(default_factory=dict)  # the check's findings per process

    @property
    def errors(self) -> list[DiagramProblem]:
        return [p for p in self.problems if p.severity == "error"]


def _check(files: list[DiagramFile], forms_from: str = "folder", given: Mapping[str, dict] | None = None) -> _Checked:
    """`given`: forms that come with the files (name -> JSON Schema, `file_sets`), used before any other."""
    given = given or {}
    try:
        bundle = parse_diagrams(files, context.config("MAX_DIAGRAM_BYTES"),
                                context_dmn=_deployed_decision_files(), **import_tables.for_import())
    except DiagramRejected as exc:
        return _Checked(None, {}, list(exc.problems))
    operators, available = runtime().handlers.operators(), _form_names()
    if forms_from == "deployed":
        available = sorted(set(available) | set(_running_forms()))
    available = sorted(set(available) | set(bundle.forms) | set(given))  # generated from camunda:formData
    by_process = {pid: lint_bundle(Bundle(processes={pid: process}), operators, available)
                  for pid, process in bundle.processes.items()}
    used = sorted({name for p in bundle.processes.values() for name in p.forms} & set(available))
    forms, unreadable = _load_forms([n for n in used if n not in bundle.forms and n not in given], forms_from)
    forms.update({n: bundle.forms[n] for n in used if n in bundle.forms})  # the diagram's own, as generated
    forms.update({n: given[n] for n in used if n in given and n not in bundle.forms})
    for pid, process in bundle.processes.items():  # a form no one could submit (its task could never finish)
        by_process[pid] += _broken_forms(process, forms) + _who_works(process)
    for pid, found in _shared_message_starts(bundle).items():
        by_process[pid] += found
    # labels missing in a language: said by `processes validate`, not attached to deployed versions
    labelled = [p for found in _label_warnings(bundle, forms).values() for p in found]
    # a decision table's inputs and input entries compile (SpiffWorkflow finds them only at run time)
    tables = [p for f in {d.file.filename: d.file for d in bundle.decisions.values()}.values()
              for p in lint_decision_file(f.filename, f.content)]
    problems = [*bundle.warnings, *(p for found in by_process.values() for p in found), *unreadable, *labelled,
                *tables]
    return _Checked(bundle, forms, problems, by_process)


def _broken_forms(process: ParsedProcess, forms: dict[str, dict]) -> list[DiagramProblem]:
    """Each user task whose form (`formJsonSchemaFilename`) is JSON but not a JSON Schema: a submission
    to it is refused at every completion. Choices taken from the task's data (`form_choices`) stand in
    as one choice for the check."""
    found = []
    for element_id, _name, props in user_tasks(process):
        name = props.get(FORM_PROPERTY)
        if name not in forms:
            continue
        schema = form_choices.checkable(forms[name])
        try:
            if not isinstance(schema, dict):
                raise SchemaError(said("it is not a JSON object"))
            validators.validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            found.append(DiagramProblem(process.file.filename, element_id, said(
                "its form %(form)r is not a valid JSON Schema (%(why)s): no one could submit it", form=name,
                why=exc.message)))
    return found


def _shared_message_starts(bundle: Bundle) -> dict[str, list[DiagramProblem]]:
    """A warning on each process of the bundle that starts on a message another process (of the bundle,
    or deployed) starts on too: a message no instance waits for starts only the first by process id."""
    engine = runtime().engine
    own = {pid: engine.message_starts(process.spec) for pid, process in bundle.processes.items()}
    if not any(own.values()):
        return {}
    starts = {**{pid: names for pid, names in deployed_message_starts().items() if pid not in own}, **own}
    found: dict[str, list[DiagramProblem]] = {}
    for pid, names in own.items():
        for name in sorted(names):
            sharing = sorted(other for other, theirs in starts.items() if name in theirs)
            if len(sharing) < 2:
                continue
            others = ", ".join(repr(other) for other in sharing if other != pid)
            fate = (said("the others never start from it") if sharing[0] == pid
                    else said("this process never starts from it (%(first)r does)", first=sharing[0]))
            found.setdefault(pid, []).append(DiagramProblem(
                bundle.processes[pid].file.filename, pid,
                said("the message %(message)r starts %(others)s as well: a message no instance waits for starts only "
                     "the first of them by process id, so %(fate)s; give each process its own message",
                     message=name, others=others, fate=fate),
                None, "warning"))
    return found


def _who_works(process: ParsedProcess) -> list[DiagramProblem]:
    """Each user task whose `lane` property (camunda:candidateGroups, or the role the group mapping table
    gave it) is no role: offered to no one, it must not deploy (an error); each whose `assignee` is no user
    here: a warning, it stays offered."""
    found: list[DiagramProblem] = []
    named: dict[str, list[str]] = {}
    for element_id, _name, props in user_tasks(process):
        lane = props.get("lane")
        if lane and lane not in ROLE_ORG_KINDS:
            found.append(DiagramProblem(process.file.filename, element_id, said(
                "the task is offered to the group %(group)r (camunda:candidateGroups), which is no role here, so no "
                "one would see it: map the group to a role (Administration > Group mappings, or flask processes "
                "map-group %(group)r ROLE), or name one of %(roles)s", group=lane,
                roles=", ".join(sorted(ROLE_ORG_KINDS)))))
        if props.get("assignee"):
            named.setdefault(props["assignee"], []).append(element_id)
    if named and inspect(db.session.get_bind()).has_table(User.__tablename__):
        known = set(db.session.scalars(select(User.username).where(User.username.in_(sorted(named)))))
        found += [DiagramProblem(process.file.filename, element_id,
                                 said("the task is given to %(user)r (camunda:assignee), who is no user here: until "
                                      "there is one it stays offered to its lane's role", user=name),
                                 severity="warning")
                  for name, elements in sorted(named.items()) if name not in known for element_id in elements]
    return found


def _label_warnings(bundle: Bundle, forms: dict[str, dict]) -> dict[str, list[DiagramProblem]]:
    """By process: each process, user task, form, field and choice that lacks a label in some language."""
    by_process: dict[str, list[DiagramProblem]] = {}
    for process in bundle.processes.values():
        found = by_process.setdefault(process.process_id, [])
        found += [DiagramProblem(process.file.filename, process.process_id, reason, severity="warning")
                  for reason in labels.process_label_problems(process.names)]
        for element_id, name, props in user_tasks(process):
            reasons = labels.task_label_problems(name, props)
            form = props.get(FORM_PROPERTY)
            if form in forms:
                reasons += [said("form %(form)s: %(reason)s", form=form, reason=reason)
                            for reason in labels.form_label_problems(forms[form])]
            found += [DiagramProblem(process.file.filename, element_id, reason, severity="warning")
                      for reason in reasons]
    return by_process


def check_diagrams(files: list[DiagramFile], forms_from: str = "folder",
                   given: Mapping[str, dict] | None = None) -> list[DiagramProblem]:
    """The strict check every deploy runs, without deploying: errors and warnings (`processes validate`).

    Each problem has `file`, `element_id`, `reason`, `line` and `severity` ("error" or "warning").
    `forms_from`: "folder" (files deployed from the repository) or "deployed" (the console: forms as they run);
    `given`: forms that come with the files, before either (name -> JSON Schema).
    """
    return _check(files, forms_from, given).problems


def _form_version(name: str, content: dict) -> FormVersion:
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    row = db.session.scalar(select(FormVersion).where(FormVersion.filename == name,
                                                      FormVersion.content_hash == digest))
    if row is None:
        row = FormVersion(filename=name, content_hash=digest, content=content, created_at=now())
        db.session.add(row)
        db.session.flush()
    return row


def _process_hash(process: ParsedProcess, decision_hashes: dict[str, str], forms: dict[str, dict]) -> str:
    h = hashlib.sha256(process.file.content_hash.encode())
    for decision in process.decisions:
        if decision in decision_hashes:
            h.update(decision_hashes[decision].encode())
    for name in process.forms:
        h.update(json.dumps(forms.get(name), sort_keys=True).encode())
    mapped = import_tables.named_by(process.file.content)
    if mapped:  # a mapping its file names changed since its last deploy: the same file is a new version
        h.update(json.dumps(mapped).encode())
    return h.hexdigest()


def deploy(files: list[DiagramFile], actor_id: int | None = None, forms_from: str = "folder",
           given: Mapping[str, dict] | None = None) -> list[DeployedVersion]:
    """Deploy diagram files: each process or decision whose content changed gets a new version.

    Everything is checked (`check_diagrams`) before anything is written; one error in any file
    refuses the whole deploy (`Invalid`, code `diagram_invalid`, the errors by file in `fields`). Forms
    `given` with the files become form versions (the forms that run), used by their diagrams or not.
    """
    checked = _check([_as_deployed(f) for f in files], forms_from, given)
    if checked.errors or checked.bundle is None:
        raise DiagramRefused(checked.problems)
    dependents = _decision_dependents(checked.bundle, files, context.config("MAX_DIAGRAM_BYTES"))
    for name, content in sorted((given or {}).items()):
        _form_version(name, content)
    return _write_versions(checked, actor_id, dependents)


def _as_deployed(file: DiagramFile) -> DiagramFile:
    """The file as it was last deployed under its name when it says the same (`xml.same_content`): an editor
    writes back what it opened in its own layout (the modeler's bpmn-js), and an unchanged diagram stays the
    version it is; a deploy compares the bytes' hash."""
    deployed = db.session.scalar(select(Deployment.source).where(Deployment.filename == file.filename)
                                 .order_by(Deployment.id.desc()).limit(1))
    if deployed is None or bytes(deployed) == file.content \
            or not same_content(bytes(deployed), file.content, context.config("MAX_DIAGRAM_BYTES")):
        return file
    return DiagramFile(file.filename, bytes(deployed))


def _write_versions(checked: _Checked, actor_id: int | None, dependents: list[_Dependent]) -> list[DeployedVersion]:
    bundle, forms = checked.bundle, checked.forms
    assert bundle is not None
    serializer = runtime().engine.serializer
    at = now()
    deployments: dict[str, Deployment] = {}

    def deployment_for(f: DiagramFile, kind: str) -> Deployment:
        if f.filename not in deployments:
            row = Deployment(filename=f.filename, kind=kind, content_hash=f.content_hash, source=f.content,
                             deployed_at=at, deployed_by_id=actor_id)
            db.session.add(row)
            deployments[f.filename] = row
        return deployments[f.filename]

    results: list[DeployedVersion] = []
    # A process's hash covers the content of the decisions it uses: the one deployed now, else the latest.
    decision_hashes = {d.decision_id: d.file.content_hash for d in bundle.decisions.values()}
    latest = _latest_versions("decision", list(bundle.decisions))
    for decision in bundle.decisions.values():
        results.append(_version_row(
            "decision", decision.decision_id, decision.name, decision.file.content_hash, decision.file, latest,
            lambda d=decision: deployment_for(d.file, "dmn"), spec_text="{}", at=at, names=decision.names))
    users = [*bundle.processes.values(), *(d.process for d in dependents)]
    for d_id, row in _latest_versions("decision", sorted({x for p in users for x in p.decisions}
                                                         - set(decision_hashes))).items():
        decision_hashes[d_id] = row.content_hash
    latest = _latest_versions("process", list(bundle.processes))
    for process in bundle.processes.values():
        form_ids = {name: _form_version(name, forms[name]).id for name in process.forms if name in forms}
        result = _version_row(
            "process", process.process_id, process.name, _process_hash(process, decision_hashes, forms),
            process.file, latest, lambda p=process: deployment_for(p.file, "bpmn"),
            spec_text=None, at=at, spec_factory=lambda p=process: _spec_text(serializer, p, forms),
            calls=process.calls, forms=form_ids, names=process.names,
            warnings=[w.to_dict() for w in bundle.warnings
                      if w.file == process.file.filename and w.element_id in (None, process.process_id)]
            + [w.to_dict() for w in checked.by_process[process.process_id] if w.severity == "warning"])
        results.append(result)
    latest = _latest_versions("process", [d.process.process_id for d in dependents])
    for dependent in dependents:  # processes elsewhere that use a decision deployed now, with their forms as they were
        process = dependent.process
        kept_forms = {f.filename: f.content for f in db.session.scalars(
            select(FormVersion).where(FormVersion.id.in_(list(dependent.forms.values()))))}
        result = _version_row(
            "process", process.process_id, process.name, _process_hash(process, decision_hashes, kept_forms),
            process.file, latest, lambda p=process: deployment_for(p.file, "bpmn"),
            spec_text=None, at=at, spec_factory=lambda p=process, f=kept_forms: _spec_text(serializer, p, f),
            calls=process.calls, forms=dependent.forms, names=process.names)
        if result.status == "new":
            results.append(result)
    db.session.flush()
    specs = {p.process_id: p.spec for p in users}
    renewed = timer_starts.new_versions([r.process_id for r in results if r.kind == "process" and r.status == "new"])
    timer_starts.reschedule({pid: (version_id, specs[pid]) for pid, version_id in renewed.items()}, at)
    return results


def _spec_text(serializer, process: ParsedProcess, forms: dict[str, dict]) -> str:  # noqa: ANN001
    """The process's spec as its version keeps it, each user task naming the data lists its form's
    choices come from (`form_choices`), for the version's own forms."""
    form_choices.annotate(process, forms)
    return serializer.dump_spec(process.spec, process.embedded)


def _version_row(kind: str, process_id: str, name: str | None, content_hash: str, file: DiagramFile,
                 latest: dict[str, ProcessVersion], deployment, spec_text: str | None, at,  # noqa: ANN001
                 spec_factory=None, calls=None, forms=None, warnings=None, names=None) -> DeployedVersion:  # noqa: ANN001
    current = latest.get(process_id)
    if current is not None and current.content_hash == content_hash:
        return DeployedVersion(process_id, kind, current.version, "unchanged", file.filename)
    row = ProcessVersion(
        kind=kind, process_id=process_id, version=(current.version + 1) if current else 1, name=name,
        deployment=deployment(), content_hash=content_hash,
        spec=spec_text if spec_text is not None else spec_factory(),
        calls=calls or [], forms=forms or {}, warnings=warnings or [], names=names or {}, created_at=at)
    db.session.add(row)
    return DeployedVersion(process_id, kind, row.version, "new", file.filename, warnings or [])


class DiagramRefused(Invalid):
    """A deploy the strict check refused (code `diagram_invalid`, its errors by file in `fields`), with every
    finding of that check in `problems` — errors and warnings, as `check_diagrams` gives them — for a page or a
    tool that shows them (the Deploy files page, Camunda Modeler's error box) without checking again."""

    def __init__(self, problems: list[DiagramProblem]) -> None:
        super().__init__(_l("diagram refused"), fields=problem_fields([p for p in problems if p.severity == "error"]),
                         code="diagram_invalid")
        self.problems = list(problems)


def problem_fields(problems: list[DiagramProblem]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for p in problems:
        where = p.element_id or "-"
        line = context.gettext(" (line %(line)s)", line=p.line) if p.line else ""
        fields.setdefault(p.file, []).append(f"{where}: {in_language(p.reason)}{line}")  # read now, as the refusal
    return fields


@dataclass
class ProcessSummary:
    process_id: str
    kind: str
    version: int
    name: str | None
    running: int
    deployed_at: Any
    timer_starts: list[Any] = field(default_factory=list)  # rows of `timer_starts` (the newest version's)


def list_processes() -> list[ProcessSummary]:
    """One row per process or decision id: its latest version and its count of unfinished instances."""
    newest = (select(ProcessVersion.kind, ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
              .group_by(ProcessVersion.kind, ProcessVersion.process_id).subquery())
    running = (select(ProcessInstance.process_id, func.count().label("n"))
               .where(ProcessInstance.status.in_(("running", "waiting", "error")))
               .group_by(ProcessInstance.process_id).subquery())
    rows = db.session.execute(
        select(ProcessVersion, func.coalesce(running.c.n, 0))
        .join(newest, (ProcessVersion.kind == newest.c.kind) & (ProcessVersion.process_id == newest.c.process_id)
              & (ProcessVersion.version == newest.c.v))
        .outerjoin(running, (running.c.process_id == ProcessVersion.process_id) & (ProcessVersion.kind == "process"))
        .order_by(ProcessVersion.kind.desc(), ProcessVersion.process_id)).all()
    schedules: dict[str, list[Any]] = {}
    for row in timer_starts.schedules():
        schedules.setdefault(row.process_id, []).append(row)
    return [ProcessSummary(v.process_id, v.kind, v.version, v.name, n, v.created_at,
                           schedules.get(v.process_id, []) if v.kind == "process" else []) for v, n in rows]


def export_sources() -> list[tuple[str, bytes]]:
    """The source file of the latest version of every process and decision, by file name."""
    newest = (select(ProcessVersion.kind, ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
              .group_by(ProcessVersion.kind, ProcessVersion.process_id).subquery())
    rows = db.session.execute(
        select(Deployment.filename, Deployment.source, Deployment.id)
        .join(ProcessVersion, ProcessVersion.deployment_id == Deployment.id)
        .join(newest, (ProcessVersion.kind == newest.c.kind) & (ProcessVersion.process_id == newest.c.process_id)
              & (ProcessVersion.version == newest.c.v))
        .order_by(Deployment.id)).all()
    files: dict[str, bytes] = {}
    for filename, source, _ in rows:
        files[filename] = source
    return sorted(files.items())


def export_forms() -> list[tuple[str, bytes]]:
    """Every form as it runs (its newest deployed version, `form_versions`), by file name, as JSON."""
    return sorted((name, (json.dumps(content, ensure_ascii=False, indent=2) + "\n").encode())
                  for name, content in _running_forms().items())


def deploy_forms(forms: dict[str, dict], actor_id: int | None = None) -> list[DeployedVersion]:
    """Deploy form files (name -> content, a form saved in the console): each becomes the form that runs,
    and every process whose newest version uses one of them gets a new version with it, rebuilt from its
    newest deployed file (`forms_from="deployed"`). Nothing is committed; an error changes nothing
    the caller does not roll back."""
    for name, content in forms.items():
        _form_version(name, content)
    rows = db.session.execute(newest_versions("process", ProcessVersion.forms, Deployment.filename,
                                              Deployment.source)).all()
    files = {filename: source for used, filename, source in rows if set(used or {}) & set(forms)}
    if not files:
        return []
    return deploy([DiagramFile(name, bytes(source)) for name, source in sorted(files.items())], actor_id,
                  forms_from="deployed")


def upload_limit() -> int:
    return context.config("MAX_DIAGRAM_BYTES")


def deploy_and_commit(files: list[DiagramFile], actor_id: int | None = None,
                      forms_from: str = "folder", given: Mapping[str, dict] | None = None) -> list[DeployedVersion]:
    """Deploy in one transaction: all files' versions land together or none do."""
    try:
        results = deploy(files, actor_id, forms_from, given)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    runtime().latest_versions.clear()  # new instances here start on the new versions at once
    return results


def processes_for(actor: Principal) -> list[ProcessSummary]:
    """`list_processes` for a user: the platform's staff (`definitions.read` in the access policy)."""
    policy.require(actor, "definitions.read")
    return list_processes()


def process_versions_for(actor: Principal, process_id: str | None = None) -> list[tuple[str, int, str | None]]:
    """Every deployed version of every process (or of one), by process id then version: (id, version, name); for
    the platform's staff (`definitions.read`)."""
    policy.require(actor, "definitions.read")
    query = select(ProcessVersion.process_id, ProcessVersion.version, ProcessVersion.name).where(
        ProcessVersion.kind == "process")
    if process_id is not None:
        query = query.where(ProcessVersion.process_id == process_id)
    return [(row.process_id, row.version, row.name)
            for row in db.session.execute(query.order_by(ProcessVersion.process_id, ProcessVersion.version))]


def check_may_deploy(actor: Principal) -> None:
    """403 unless the user may deploy diagrams (`definitions.deploy`): asked before the upload is read."""
    policy.require(actor, "definitions.deploy")
