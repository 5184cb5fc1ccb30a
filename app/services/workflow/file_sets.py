"""A set of files checked and deployed together from the console or the API: diagrams (`.bpmn`, `.bpmn20.xml`,
`.dmn`, `.dmn11.xml`) and the forms they name — a Camunda Forms file (`.form`), a Camunda 7 embedded HTML form
(`.html`), a JSON Schema (`.json`) — as a Camunda project holds them, so that an analyst brings one in without
the server's forms folder.

Each form is read into the JSON Schema named as a form key names it (`start-form.form` is `start-form.json`; a
Camunda Forms file is also the form of the `id` it holds, as Camunda 8 links one by `formId`) and used before
the forms that run and the folder's (`deployment._check`'s `given`). The one strict check every deploy runs
judges the whole set; one error anywhere deploys nothing. A deploy makes each form a form version (the form
that runs, and that the form editor opens next), used by the set's diagrams or not. Who may: `definitions.deploy`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from jsonschema import validators
from jsonschema.exceptions import SchemaError

from app.engine import json_errors
from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.workflow import deployment, form_editor
from app.services.workflow.deployment import DeployedVersion, DiagramFile

MAX_FILES = 100  # a project's diagrams and forms; more is not a person's upload
FORM_SUFFIXES = (".form", ".html", ".json")


@dataclass
class FileSet:
    """The files as the check reads them: diagrams, forms by the name a key gives them, and what reading said."""

    diagrams: list[DiagramFile] = field(default_factory=list)
    forms: dict[str, dict] = field(default_factory=dict)
    problems: list[DiagramProblem] = field(default_factory=list)


def _plain_name(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1].strip()


def takeable(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The files of a set `read` refused that it would take (a diagram's or a form's name, the first of a name
    chosen twice): what a page checks all the same, so that one submission says everything wrong with the set."""
    seen: set[str] = set()
    kept = []
    for filename, content in files:
        name = _plain_name(filename)
        if name and name not in seen and (deployment.is_diagram_name(name) or name.lower().endswith(FORM_SUFFIXES)):
            kept.append((filename, content))
        seen.add(name)
    return kept[:MAX_FILES]


def read(files: list[tuple[str, bytes]], field_name: str = "files") -> FileSet:
    """Sort the uploaded files (name, bytes) into diagrams and forms; `Invalid` at the field `field_name` (the
    page's `files`, the API's `file`) when the set itself cannot be taken (none, too many, a name twice, a file
    of another kind)."""
    if not files:
        raise Invalid(_l("Choose the files to deploy: diagrams and the forms they name."),
                      fields={field_name: [_l("Choose at least one file.")]})
    if len(files) > MAX_FILES:
        raise Invalid(_l("At most %(n)d files at once.", n=MAX_FILES), fields={field_name: [_l(
            "At most %(n)d files at once.", n=MAX_FILES)]})
    found = FileSet()
    seen: set[str] = set()
    refused: list[str] = []
    for filename, content in files:
        name = _plain_name(filename)
        if name in seen:
            refused.append(str(_l("%(file)s is chosen twice.", file=name)))
            continue
        seen.add(name)
        if deployment.is_diagram_name(name):
            found.diagrams.append(DiagramFile(name, content))
        elif name.lower().endswith(FORM_SUFFIXES):
            _read_form(name, content, found)
        else:
            refused.append(str(_l("%(file)s is neither a diagram (.bpmn, .dmn) nor a form (.form, .html, .json).",
                                  file=name)))
    if refused:
        raise Invalid(_l("Some of the files cannot be deployed: see the field."), fields={field_name: refused})
    if not found.diagrams and not found.forms and not found.problems:
        raise Invalid(_l("Choose the files to deploy: diagrams and the forms they name."),
                      fields={field_name: [_l("Choose at least one file.")]})
    return found


def _read_form(filename: str, content: bytes, found: FileSet) -> None:
    """One form file into `found.forms` under the JSON Schema name a form key gives it, or a problem said."""
    name = f"{filename.rsplit('.', 1)[0]}.json"
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        found.problems.append(DiagramProblem(filename, None, said("the form file %(file)r is not UTF-8 text",
                                                                  file=filename)))
        return
    reader = deployment.camunda_form_reader(filename)
    if reader is not None:
        schema, said_of_it = deployment.read_camunda_form(filename, text, name)
        found.problems += said_of_it
        if schema is None:
            return
        found.forms[name] = schema
        form_id = _camunda_form_id(filename, text)
        if form_id and f"{form_id}.json" not in found.forms:  # Camunda 8 links it by the id it holds
            found.forms[f"{form_id}.json"] = schema
        return
    try:
        schema = json.loads(text)
    except ValueError as exc:
        found.problems.append(DiagramProblem(filename, None, said("form file %(form)r is not valid JSON: %(why)s",
                                                                  form=filename, why=json_errors.said_of(str(exc)))))
        return
    except RecursionError:
        found.problems.append(DiagramProblem(filename, None, said("form file %(form)r nests deeper than a form can",
                                                                  form=filename)))
        return
    if not isinstance(schema, dict):
        found.problems.append(DiagramProblem(filename, None, said("form file %(form)r is not a JSON Schema: it "
                                                                  "holds no object", form=filename)))
        return
    try:
        validators.validator_for(schema).check_schema(schema)
    except RecursionError:
        found.problems.append(DiagramProblem(filename, None, said("form file %(form)r nests deeper than a form can",
                                                                  form=filename)))
        return
    except SchemaError as exc:
        found.problems.append(DiagramProblem(filename, None, said("form file %(form)r is not a valid JSON Schema: "
                                                                  "%(why)s", form=filename, why=exc.message)))
        return
    found.forms[name] = schema


def _camunda_form_id(filename: str, text: str) -> str | None:
    if not filename.lower().endswith(".form"):
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    form_id = document.get("id") if isinstance(document, dict) else None
    return form_id.strip() if isinstance(form_id, str) and form_id.strip() else None


def check(actor: Principal, files: list[tuple[str, bytes]], field_name: str = "files") -> list[DiagramProblem]:
    """What the strict check says of the whole set, reading included (nothing deployed)."""
    policy.require(actor, "definitions.deploy")
    found = read(files, field_name)
    if not found.diagrams:
        return found.problems
    return found.problems + deployment.check_diagrams(found.diagrams, forms_from="deployed", given=found.forms)


def deploy(actor: Principal, files: list[tuple[str, bytes]], field_name: str = "files") -> list[DeployedVersion]:
    """Deploy the set in one transaction: its diagrams' new versions and its forms; `DiagramRefused` (the errors
    by file in `fields`, every finding in `problems`, as `check` gives them) and nothing changed when reading or
    the check finds an error."""
    policy.require(actor, "definitions.deploy")
    found = read(files, field_name)
    if any(p.severity == "error" for p in found.problems):  # what the check says of the rest too, as `check`
        raise deployment.DiagramRefused(found.problems + (deployment.check_diagrams(
            found.diagrams, forms_from="deployed", given=found.forms) if found.diagrams else []))
    if not found.diagrams:  # forms only: each runs, in the processes that use it too (as the form editor saves one)
        return form_editor.deploy_and_commit(found.forms, actor.id)
    try:
        return deployment.deploy_and_commit(found.diagrams, actor.id, forms_from="deployed", given=found.forms)
    except deployment.DiagramRefused as exc:  # with what reading the set said
        raise deployment.DiagramRefused(found.problems + exc.problems) from None
