"""The operator mapping table (issue 17): which registered operator runs a Camunda service task.

A diagram drawn for Camunda 7 names the code behind a service task by `camunda:class`,
`camunda:delegateExpression`, `camunda:expression`, an external task's `camunda:topic` or a
`camunda:connector`'s id; one drawn for Camunda 8 by its job type (`zeebe:taskDefinition`); one drawn
in a tool that says nothing of the code (Bizagi, Signavio, Bonita) only by the task's name (kind
`task`: "Get credit score"). An admin maps each (kind, value) here to one of the operators registered in the runtime, with
parameters (name -> Python expression on the task's data). Every deploy reads the table
(`for_import`) and the import layer rewrites mapped service tasks; an unmapped one is refused by
the strict check naming it. A mapping changed after a deploy counts at the next deploy: a deployed
version keeps the operator it was deployed with.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select

from app.engine.camunda_services import KINDS, Operator
from app.engine.scripting import SandboxViolation, compile_expression
from app.extensions import db
from app.models import OperatorMapping
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid
from app.services.identity import policy
from app.services.identity.audit import audit
from app.services.identity.directory import Principal
from app.services.workflow import mapping_rows
from app.services.workflow.diagram_reasons import in_language
from app.services.workflow.runtime import runtime

MAX_VALUE = 500
# What each kind is, as the administration page says it
KIND_LABELS = {
    "class": _l("Java class (camunda:class)"),
    "delegateExpression": _l("Delegate expression (camunda:delegateExpression)"),
    "expression": _l("Expression (camunda:expression)"),
    "topic": _l("External task topic (camunda:topic)"),
    "connector": _l("Connector id (camunda:connector)"),
    "job": _l("Camunda 8 job type (zeebe:taskDefinition)"),
    "task": _l("Name of a task that names no implementation"),
}


@dataclass(frozen=True)
class Mapping:
    id: int
    kind: str
    value: str
    operator: str
    parameters: dict[str, str]


def _row(m: OperatorMapping) -> Mapping:
    return Mapping(m.id, m.kind, m.value, m.operator, dict(m.parameters or {}))


def for_import() -> dict[tuple[str, str], Operator]:
    """The table as the import layer reads it (`parse_diagrams(..., operator_map=...)`); empty on a
    database that has no tables yet (`processes validate` on a fresh checkout)."""
    if not inspect(db.session.get_bind()).has_table(OperatorMapping.__tablename__):
        return {}
    rows = db.session.execute(select(OperatorMapping)).scalars()
    return {(m.kind, m.value): Operator(m.operator, dict(m.parameters or {})) for m in rows}


def mappings() -> list[Mapping]:
    rows = db.session.execute(select(OperatorMapping).order_by(OperatorMapping.kind, OperatorMapping.value)).scalars()
    return [_row(m) for m in rows]


def list_mappings(actor: Principal) -> list[Mapping]:
    policy.require(actor, "mappings.read")
    return mappings()


def operators() -> list[str]:
    """The operators a mapping may name: those registered in the runtime."""
    return runtime().handlers.operators()


def _checked(kind: str, value: str, operator: str, parameters: dict[str, Any] | None) -> dict[str, str]:
    fields: dict[str, list[Any]] = {}
    if kind not in KINDS:
        fields["kind"] = [_l("Choose one of: %(kinds)s.", kinds=", ".join(KINDS))]
    if not value or len(value) > MAX_VALUE:
        fields["value"] = [_l("A value of 1 to %(n)s characters, as the diagram writes it.", n=MAX_VALUE)]
    if operator not in operators():
        fields["operator_name"] = [_l("Choose a registered operator.")]
    checked: dict[str, str] = {}
    for name, expression in (parameters or {}).items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            fields.setdefault("parameters", []).append(_l("%(name)s is not a parameter name.", name=str(name)))
            continue
        try:
            compile_expression(str(expression))
        except (SyntaxError, SandboxViolation, ValueError, RecursionError, MemoryError) as exc:
            fields.setdefault("parameters", []).append(
                _l("%(name)s: the expression does not compile (%(why)s).", name=name,
                   why=in_language(exc.args[0]) if len(exc.args) == 1 else str(exc)))
            continue
        checked[name] = str(expression)
    if fields:
        raise Invalid(_l("The mapping is not valid."), fields=fields, code="mapping_invalid")
    return checked


def set_mapping(kind: str, value: str, operator: str, parameters: dict[str, Any] | None = None,
                actor_id: int | None = None) -> Mapping:
    """Map (kind, value) to the operator, replacing an earlier mapping of it; in the caller's transaction
    (the command line's, which has no principal: whoever runs it administers the platform)."""
    value = (value or "").strip()
    checked = _checked(kind, value, operator, parameters)
    row = mapping_rows.upsert(OperatorMapping, {"kind": kind, "value": value}, dict(operator=operator, parameters=checked),
                 actor_id)
    db.session.flush()
    audit("operator_mapping.set", actor_id, f"{kind} {value}"[:255], operator=operator, parameters=checked)
    return _row(row)


def map_operator(actor: Principal, kind: str, value: str, operator: str,
                 parameters: dict[str, Any] | None = None) -> Mapping:
    """An admin maps an implementation; committed."""
    policy.require(actor, "operator_mappings.manage")
    return mapping_rows.committed(lambda: set_mapping(kind, value, operator, parameters, actor.id))


def remove_mapping(actor: Principal, mapping_id: int) -> None:
    policy.require(actor, "operator_mappings.manage")
    row = mapping_rows.removed(OperatorMapping, mapping_id)
    audit("operator_mapping.removed", actor.id, f"{row.kind} {row.value}"[:255], operator=row.operator)
    db.session.commit()


def unset_mapping(kind: str, value: str) -> None:
    """Remove the mapping of (kind, value), in the caller's transaction (the command line's); NotFound
    without one."""
    row = mapping_rows.removed(OperatorMapping, kind=kind, value=(value or "").strip())
    audit("operator_mapping.removed", None, f"{row.kind} {row.value}"[:255], operator=row.operator)


def may_manage(actor: Principal) -> bool:
    return policy.allowed(actor, "operator_mappings.manage")


def may_read(actor: Principal) -> bool:
    """Whether the actor reads the table (both tables: `mappings.read`)."""
    return policy.allowed(actor, "mappings.read")
