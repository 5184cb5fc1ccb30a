"""The group mapping table (issue 17): which of Loanflow's roles is offered a Camunda group's tasks.

A diagram drawn for Camunda 7 offers a user task to the organisation's groups
(`camunda:candidateGroups="management"`); Loanflow offers it to a role (the task's lane). A group whose
name is a role code needs nothing; any other an admin maps here to a role. Every deploy reads the
table (`for_import`) and the import layer writes the mapped role as the task's lane; a group that is
no role and is not mapped is refused by the deploy check naming the task. A mapping changed after a
deploy counts at the next deploy: a deployed version keeps the roles it was deployed with.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect, select

from app.extensions import db
from app.models import GroupMapping
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid
from app.services.identity import policy
from app.services.identity.audit import audit
from app.services.identity.directory import Principal
from app.services.identity.grants import ROLE_ORG_KINDS
from app.services.workflow import mapping_rows

MAX_GROUP = 255


@dataclass(frozen=True)
class Mapping:
    id: int
    group: str
    role: str


def _row(m: GroupMapping) -> Mapping:
    return Mapping(m.id, m.group_name, m.role)


def for_import() -> dict[str, str]:
    """The table as the import layer reads it (`parse_diagrams(..., group_map=...)`); empty on a
    database that has no tables yet (`processes validate` on a fresh checkout)."""
    if not inspect(db.session.get_bind()).has_table(GroupMapping.__tablename__):
        return {}
    return {m.group_name: m.role for m in db.session.execute(select(GroupMapping)).scalars()}


def roles() -> list[str]:
    """The roles a group may be mapped to: every role a task can be offered to."""
    return sorted(ROLE_ORG_KINDS)


def mappings() -> list[Mapping]:
    return [_row(m) for m in db.session.execute(select(GroupMapping).order_by(GroupMapping.group_name)).scalars()]


def list_mappings(actor: Principal) -> list[Mapping]:
    policy.require(actor, "mappings.read")
    return mappings()


def _checked(group: str, role: str) -> None:
    fields = {}
    if not group or len(group) > MAX_GROUP:
        fields["group"] = [_l("A group of 1 to %(n)s characters, as the diagram writes it.", n=MAX_GROUP)]
    elif "," in group or group.startswith(("${", "#{")):
        fields["group"] = [_l("One group's name: not a list, not an expression.")]
    elif group in ROLE_ORG_KINDS:
        fields["group"] = [_l("%(group)s is a role: its tasks are offered to that role without a mapping.",
                              group=group)]
    if role not in ROLE_ORG_KINDS:
        fields["role"] = [_l("Choose one of: %(roles)s.", roles=", ".join(roles()))]
    if fields:
        raise Invalid(_l("The mapping is not valid."), fields=fields, code="mapping_invalid")


def set_mapping(group: str, role: str, actor_id: int | None = None) -> Mapping:
    """Map the group to the role, replacing an earlier mapping of it; in the caller's transaction (the
    command line's, which has no principal: whoever runs it administers the platform)."""
    group = (group or "").strip()
    _checked(group, role)
    row = mapping_rows.upsert(GroupMapping, {"group_name": group}, {"role": role}, actor_id)
    db.session.flush()
    audit("group_mapping.set", actor_id, group, role=role)
    return _row(row)


def map_group(actor: Principal, group: str, role: str) -> Mapping:
    """An admin maps a group; committed."""
    policy.require(actor, "group_mappings.manage")
    return mapping_rows.committed(lambda: set_mapping(group, role, actor.id))


def remove_mapping(actor: Principal, mapping_id: int) -> None:
    policy.require(actor, "group_mappings.manage")
    row = mapping_rows.removed(GroupMapping, mapping_id)
    audit("group_mapping.removed", actor.id, row.group_name, role=row.role)
    db.session.commit()


def unset_mapping(group: str) -> None:
    """Remove the group's mapping, in the caller's transaction (the command line's); NotFound without one."""
    row = mapping_rows.removed(GroupMapping, group_name=(group or "").strip())
    audit("group_mapping.removed", None, row.group_name, role=row.role)


def may_manage(actor: Principal) -> bool:
    return policy.allowed(actor, "group_mappings.manage")


def may_read(actor: Principal) -> bool:
    """Whether the actor reads the table (both tables: `mappings.read`)."""
    return policy.allowed(actor, "mappings.read")
