"""What of a deal's data and history belongs to which party: one rule for pages and the API.

Who wrote it decides who reads it. A task's answers (its form's fields) and its events belong to
the party whose lane it was in (a funder's reviewers' limits and notes are the funder's); the data
the deal started with and what scripts derive from it are shared by every party to the deal.
A party reads its own, and the funder — whom the other parties' submissions are for — reads
everyone's; platform staff read everything. Who did something is named to their own
organisation, the funder and the platform only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, InstanceParty
from app.services.identity.access import lane_party
from app.services.identity.directory import Principal
from app.services.workflow.forms import forms_by_id

# The party the others' submissions are addressed to: it reads every party's tasks.
READS_EVERY_PARTY = frozenset({"funder"})
# Events about the deal as a whole, which every party to it may read.
MILESTONES = frozenset({"started", "completed", "cancelled"})


@dataclass(frozen=True)
class PartyScope:
    reads_all: bool
    org_id: int | None
    hidden_elements: frozenset[str]  # user tasks of other parties' lanes
    hidden_fields: frozenset[str]  # the fields their forms write

    def shows_event(self, kind: str, element_id: str | None) -> bool:
        return self.reads_all or kind in MILESTONES or (element_id or "") not in self.hidden_elements

    def names_actor(self, actor_org_id: int | None) -> bool:
        return self.reads_all or (actor_org_id is not None and actor_org_id == self.org_id)

    def data(self, data: dict[str, Any] | None) -> dict[str, Any]:
        return {k: v for k, v in (data or {}).items() if k not in self.hidden_fields}


EVERYTHING = PartyScope(True, None, frozenset(), frozenset())


def scope_of(principal: Principal, instance_id: int) -> PartyScope:
    """What `principal` (who may see the instance) reads of it."""
    if principal.is_platform:
        return EVERYTHING
    sides = set(db.session.scalars(select(InstanceParty.party).where(
        InstanceParty.instance_id == instance_id, InstanceParty.org_id == principal.org_id)))
    if sides & READS_EVERY_PARTY:
        return PartyScope(True, principal.org_id, frozenset(), frozenset())
    others = [(element, form_id) for element, lane, form_id in db.session.execute(
        select(HumanTask.element_id, HumanTask.lane, HumanTask.form_id).where(HumanTask.instance_id == instance_id))
        if lane is not None and lane_party(lane) not in sides]
    forms = forms_by_id(sorted({f for _e, f in others if f}))
    fields = {name for _e, f in others if f in forms for name in (forms[f].get("properties") or {})}
    return PartyScope(False, principal.org_id, frozenset(e for e, _f in others), frozenset(fields))
