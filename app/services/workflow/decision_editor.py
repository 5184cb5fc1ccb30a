"""The decision editor of the console: the newest version of a decision table, checked and deployed as
the next version from the browser (`definitions.deploy`).

A table saved here is checked by the one strict check every deploy runs (`deployment.check_diagrams`,
forms as they run) and deployed by `deployment.deploy_and_commit`, which also gives every process
that uses the decision a new version with it (running instances keep the table they started with).
The file keeps the name of the version it was edited from, so the deployed copy it replaces is no
longer context for its own check. Browser-made versions live in the database (`docs/console.md`).
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select

from app.engine.errors import DiagramRejected
from app.engine.xml import read_xml
from app.extensions import db
from app.models import Deployment, ProcessVersion
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid, NotFound
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.workflow import deployment
from app.services.workflow.deployment import DeployedVersion, DiagramFile
from app.services.workflow.diagram_reasons import in_language

NO_SUCH_DECISION = _l("There is no such decision.")


@dataclass(frozen=True)
class EditableDecision:
    decision_id: str
    name: str | None  # the DMN `name` (English: DMN has no second language)
    version: int
    filename: str
    source: str


@dataclass(frozen=True)
class TableProblem:
    """One finding of the check, placed in the table where it can be: the element, its rule (1-based)
    and the input or output column it belongs to."""

    element_id: str | None
    rule: int | None
    rule_id: str | None
    column: str | None  # the input's or output's label
    reason: str  # the checker's words, in the reader's language
    severity: str  # error | warning


def _newest(decision_id: str) -> tuple[ProcessVersion, Deployment]:
    row = db.session.execute(
        select(ProcessVersion, Deployment).join(Deployment, Deployment.id == ProcessVersion.deployment_id)
        .where(ProcessVersion.kind == "decision", ProcessVersion.process_id == decision_id)
        .order_by(ProcessVersion.version.desc()).limit(1)).first()
    if row is None:
        raise NotFound(NO_SUCH_DECISION)
    return row[0], row[1]


def decision_for_edit(actor: Principal, decision_id: str) -> EditableDecision:
    """The newest version's file, to edit."""
    policy.require(actor, "definitions.deploy")
    version, deployed = _newest(decision_id)
    return EditableDecision(decision_id, version.name, version.version, deployed.filename,
                            bytes(deployed.source).decode("utf-8"))


def _places(content: bytes, filename: str) -> dict[str, tuple[int | None, str | None, str | None]]:
    """Element id -> (rule number, rule id, column label) for the rules' entries and the columns."""
    try:
        root = read_xml(content, filename)
    except DiagramRejected:
        return {}
    places: dict[str, tuple[int | None, str | None, str | None]] = {}
    for table in root.iter():
        if not isinstance(table.tag, str) or etree.QName(table).localname != "decisionTable":
            continue
        children = [c for c in table if isinstance(c.tag, str)]
        inputs = [c for c in children if etree.QName(c).localname == "input"]
        outputs = [c for c in children if etree.QName(c).localname == "output"]
        for column in [*inputs, *outputs]:
            label = column.get("label") or column.get("name")
            places[column.get("id") or ""] = (None, None, label)
            for expression in column:
                if isinstance(expression.tag, str):
                    places[expression.get("id") or ""] = (None, None, label)
        rules = [c for c in children if etree.QName(c).localname == "rule"]
        for number, rule in enumerate(rules, start=1):
            places[rule.get("id") or ""] = (number, rule.get("id"), None)
            entries = [c for c in rule if isinstance(c.tag, str)]
            ins = [e for e in entries if etree.QName(e).localname == "inputEntry"]
            outs = [e for e in entries if etree.QName(e).localname == "outputEntry"]
            for entry, column in [*zip(ins, inputs, strict=False), *zip(outs, outputs, strict=False)]:
                places[entry.get("id") or ""] = (number, rule.get("id"), column.get("label") or column.get("name"))
    places.pop("", None)
    return places


def _file(decision_id: str, content: bytes) -> DiagramFile:
    _, deployed = _newest(decision_id)
    return DiagramFile(deployed.filename, content)


def check(actor: Principal, decision_id: str, content: bytes) -> list[TableProblem]:
    """What the strict check says about an edited table, each problem placed in the table."""
    policy.require(actor, "definitions.deploy")
    file = _file(decision_id, content)
    problems = deployment.check_diagrams([file], forms_from="deployed")
    places = _places(content, file.filename)
    found = [TableProblem(p.element_id, *places.get(p.element_id or "", (None, None, None)), in_language(p.reason),
                          p.severity) for p in problems]
    if not any(p.severity == "error" for p in found) and decision_id not in _decision_ids(file):
        found.append(TableProblem(None, None, None, None, str(_l(
            "The file must hold the decision %(decision)s; a table with another id is a new decision.",
            decision=decision_id)), "error"))
    return found


def _decision_ids(file: DiagramFile) -> set[str]:
    root = read_xml(file.content, file.filename)
    return {d.get("id") or "" for d in root.iter() if isinstance(d.tag, str) and etree.QName(d).localname == "decision"}


def deploy(actor: Principal, decision_id: str, content: bytes) -> list[DeployedVersion]:
    """Deploy the edited table as the next version (and the processes that use it), in one transaction;
    `Invalid` (the problems in `fields`) and nothing changed when the check finds an error."""
    policy.require(actor, "definitions.deploy")
    errors = [p for p in check(actor, decision_id, content) if p.severity == "error"]
    if errors:
        raise Invalid(_l("The decision table has errors; nothing was deployed."), code="diagram_invalid",
                      fields={p.element_id or "_table": [p.reason] for p in errors})
    return deployment.deploy_and_commit([_file(decision_id, content)], actor.id, forms_from="deployed")


def may_edit(actor: Principal) -> bool:
    """Whether the catalogue offers to edit a decision (and the header the forms)."""
    return policy.allowed(actor, "definitions.deploy")
