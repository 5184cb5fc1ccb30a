"""The form editor of the console: every form file that runs, edited as JSON Schema (and its UI schema),
checked and deployed from the browser (`definitions.deploy`; the list: `definitions.read`).

A form runs as its newest deployed version (`form_versions`); a form only in the forms folder runs
once a process that uses it is deployed. Saving a form makes it the version that runs and gives every
process whose newest version uses it a new version with it, rebuilt from that version's deployed
file (`deployment.deploy_forms`), in one transaction: instances started afterwards show the new
form, running ones keep theirs. Browser-made versions live in the database (`docs/console.md`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import SchemaError
from lxml import etree
from sqlalchemy import func, select

from app.engine import json_errors
from app.engine.errors import DiagramRejected
from app.engine.parser import FORM_PROPERTY, UI_FORM_PROPERTY
from app.engine.said import said
from app.engine.xml import read_xml
from app.extensions import db
from app.models import Deployment, FormVersion, ProcessVersion
from app.services import context
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid, NotFound
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.workflow import deployment, form_choices, labels
from app.services.workflow.deployment import DeployedVersion
from app.services.workflow.diagram_reasons import in_language
from app.services.workflow.runtime import runtime

NO_SUCH_FORM = _l("There is no such form.")
NOT_AN_OBJECT_FORM = _l("A form is a JSON Schema of type object with its fields under properties.")


@dataclass(frozen=True)
class ProcessRef:
    process_id: str
    name: str


@dataclass
class FormEntry:
    """One form file: whether it is a JSON Schema or a UI schema, whether it runs (deployed) or is
    only in the forms folder, its title, the processes whose newest version uses it."""

    filename: str
    kind: str  # form | ui
    deployed: bool
    title: str | None
    processes: list[ProcessRef] = field(default_factory=list)
    ui_filename: str | None = None  # a form's UI schema file
    form_filename: str | None = None  # a UI schema's form file


@dataclass(frozen=True)
class EditableForm:
    entry: FormEntry
    schema_text: str
    ui_text: str | None  # None: the form has no UI schema


def _running() -> dict[str, dict]:
    newest = select(func.max(FormVersion.id)).group_by(FormVersion.filename)
    return {name: content for name, content in db.session.execute(
        select(FormVersion.filename, FormVersion.content).where(FormVersion.id.in_(newest)))}


def _folder() -> Path:
    return Path(context.config("FORMS_DIR"))


def _folder_names() -> list[str]:
    folder = _folder()
    return sorted(p.name for p in folder.glob("*.json") if p.is_file()) if folder.is_dir() else []


def _newest_processes():  # noqa: ANN202 - rows
    return db.session.execute(deployment.newest_versions(
        "process", ProcessVersion.process_id, ProcessVersion.names, ProcessVersion.name, ProcessVersion.forms,
        Deployment.filename, Deployment.source).order_by(ProcessVersion.process_id)).all()


def _pairs(sources: dict[str, bytes]) -> dict[str, str]:
    """Form file -> its UI schema file, as the deployed diagrams' user tasks name them together."""
    pairs: dict[str, str] = {}
    for filename, source in sources.items():
        try:
            root = read_xml(source, filename)
        except DiagramRejected:
            continue
        for node in root.iter():
            if not isinstance(node.tag, str) or etree.QName(node).localname != "properties":
                continue
            props = {p.get("name"): p.get("value") for p in node if isinstance(p.tag, str)}
            if props.get(FORM_PROPERTY) and props.get(UI_FORM_PROPERTY):
                pairs.setdefault(props[FORM_PROPERTY], props[UI_FORM_PROPERTY])
    return pairs


def _entries(language: str) -> dict[str, FormEntry]:
    running, rows = _running(), _newest_processes()
    pairs = _pairs({r.filename: bytes(r.source) for r in rows})
    ui_files = set(pairs.values())
    entries: dict[str, FormEntry] = {}
    for name in sorted(set(running) | set(_folder_names())):
        is_ui = name in ui_files or (name not in pairs and name.endswith("-uischema.json"))
        content = running.get(name)
        if content is None and not is_ui:
            content = _read_folder(name, quiet=True)
        title = labels.localized(content, "title", language) if isinstance(content, dict) and not is_ui else None
        entries[name] = FormEntry(name, "ui" if is_ui else "form", name in running, title,
                                  ui_filename=None if is_ui else pairs.get(name),
                                  form_filename=next((f for f, u in sorted(pairs.items()) if u == name), None))
    for row in rows:
        ref = ProcessRef(row.process_id, labels.process_title(row.names or {}, row.process_id, language))
        for name in row.forms or {}:
            if name in entries:
                entries[name].processes.append(ref)
    return entries


def _read_folder(name: str, quiet: bool = False) -> Any:
    try:
        return json.loads((_folder() / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if quiet:
            return None
        raise


def forms(actor: Principal, language: str) -> list[FormEntry]:
    """Every form file that runs or is in the forms folder, by file name."""
    policy.require(actor, "definitions.read")
    return list(_entries(language).values())


def _text(name: str, running: dict[str, dict]) -> str:
    if name in running:
        return json.dumps(running[name], ensure_ascii=False, indent=2)
    try:
        return (_folder() / name).read_text(encoding="utf-8")
    except OSError as exc:
        raise NotFound(NO_SUCH_FORM) from exc


def form_for_edit(actor: Principal, name: str, language: str) -> EditableForm:
    """A form (a JSON Schema file) as it runs, with its UI schema when it has one, to edit as text."""
    policy.require(actor, "definitions.deploy")
    entry = _entries(language).get(name)
    if entry is None or entry.kind != "form":
        raise NotFound(NO_SUCH_FORM)
    running = _running()
    ui_text = _text(entry.ui_filename, running) if entry.ui_filename else None
    return EditableForm(entry, _text(name, running), ui_text)


def parse_json(text: str, which: str) -> Any:
    """The JSON in `text`; `Invalid` saying where it breaks (field `which`: schema | ui)."""
    try:
        return json.loads(text)
    except ValueError as exc:
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        message = _l("Not valid JSON at line %(line)s, column %(column)s: %(problem)s",
                     line=line, column=column, problem=in_language(json_errors.said_of(getattr(exc, "msg", str(exc)))))
        raise Invalid(message, fields={which: [message]}, code="form_invalid") from exc


def _shape_problems(schema: Any, path: str = "") -> list[str]:
    """What keeps the task page from rendering an object schema's fields (English, with the field's path)."""
    if not isinstance(schema, dict) or schema.get("type") != "object" or not isinstance(
            schema.get("properties", {}), dict):
        return [said("%(where)s: not an object schema with properties", where=path or said("the form"))]
    problems: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        where = f"{path}{name}"
        if not isinstance(prop, dict):
            problems.append(said("field %(field)r is not an object", field=where))
            continue
        if "enum" in prop and not (isinstance(prop["enum"], list) and prop["enum"]):
            problems.append(said("field %(field)r: enum is not a list of choices", field=where))
        items = prop.get("items")
        if prop.get("type") == "array" and isinstance(items, dict) and items.get("type") == "object":
            problems += _shape_problems(items, f"{where}[].")
    return problems


def schemas(schema_text: str, ui_text: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form and its UI schema read from the editor's text; `Invalid` when either is not JSON or
    the form is not an object schema the task page can render (enough for a preview)."""
    schema = parse_json(schema_text, "schema")
    ui = parse_json(ui_text, "ui") if ui_text is not None and ui_text.strip() else {}
    if not isinstance(schema, dict) or schema.get("type") != "object" or not isinstance(
            schema.get("properties"), dict):
        raise Invalid(NOT_AN_OBJECT_FORM, fields={"schema": [NOT_AN_OBJECT_FORM]}, code="form_invalid")
    if not isinstance(ui, dict):
        message = _l("A UI schema is a JSON object.")
        raise Invalid(message, fields={"ui": [message]}, code="form_invalid")
    shape = _shape_problems(schema)
    if shape:
        raise Invalid(NOT_AN_OBJECT_FORM, fields={"schema": [in_language(p) for p in shape]},
                      code="form_invalid")
    return schema, ui


def _earlier(filename: str, content: dict[str, Any]) -> bool:
    """Whether `content` is that of a version of the file older than the one that runs: `form_versions`
    keeps one row per file and content, and the newest row runs, so it could not run again."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    hashes = list(db.session.scalars(select(FormVersion.content_hash).where(FormVersion.filename == filename)
                                     .order_by(FormVersion.id.desc())))
    return digest in hashes[1:]


def problems(schema: dict[str, Any]) -> list[str]:
    """What refuses a form that parses: not a valid JSON Schema, or a label missing in a language (the
    words the deploy check warns with). Choices taken from the task's data (`form_choices`) stand in as
    one choice, as the deploy checks them."""
    checkable = form_choices.checkable(schema)
    try:
        validators.validator_for(checkable).check_schema(checkable)
    except SchemaError as exc:
        return [said("not a valid JSON Schema: %(why)s", why=exc.message)]
    return labels.form_label_problems(schema)


def preview(actor: Principal, schema_text: str, ui_text: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The schemas to render a preview from (`schemas`), for those who may edit forms: a choice whose
    options come from the task's data (`form_choices`) is a choice with none yet."""
    policy.require(actor, "definitions.deploy")
    schema, ui = schemas(schema_text, ui_text)
    return form_choices.resolved(schema, None) or schema, ui


def save(actor: Principal, name: str, schema_text: str, ui_text: str | None) -> list[DeployedVersion]:
    """Check the form (and its UI schema) and deploy it with the new versions of the processes that use
    it, in one transaction; `Invalid` and nothing changed when it is refused."""
    editable = form_for_edit(actor, name, "en")
    schema, ui = schemas(schema_text, ui_text if editable.entry.ui_filename else None)
    found = problems(schema)
    if found:
        raise Invalid(_l("The form was not saved: fix what is listed."), fields={"schema": [in_language(p) for p in found]},
                      code="form_invalid")
    contents = {name: schema}
    if editable.entry.ui_filename:
        contents[editable.entry.ui_filename] = ui
    for filename, content in contents.items():
        if _earlier(filename, content):
            message = _l("%(file)s would be exactly as an earlier version of it; change something (a "
                         "description) to make it new.", file=filename)
            raise Invalid(message, fields={"schema": [message]}, code="form_invalid")
    return deploy_and_commit(contents, actor.id)


def deploy_and_commit(contents: dict[str, dict[str, Any]], actor_id: int | None) -> list[DeployedVersion]:
    """Deploy forms (file name -> content) with the new versions of the processes that use them, in one
    transaction."""
    try:
        results = deployment.deploy_forms(contents, actor_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    runtime().latest_versions.clear()  # new instances start on the new versions at once
    return results
