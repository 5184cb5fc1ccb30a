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
# Data of the deal only some parties read, wherever it stands in the deal's data or its history (nested too): the
# borrower's receiving account (`payee_account`, `payee_bank`, a disbursement's `payee`) is the borrower's and the
# funder's, who pays into it; a core enterprise or a warehouse does not read it, on a page or over the API.
HELD_BY = {key: frozenset({"borrower", "funder"}) for key in ("payee_account", "payee_bank", "payee")}


@dataclass(frozen=True)
class PartyScope:
    reads_all: bool
    org_id: int | None
    hidden_elements: frozenset[str]  # user tasks of other parties' lanes
    hidden_fields: frozenset[str]  # the fields their forms write
    held_keys: frozenset[str] = frozenset()  # `HELD_BY` keys of parties other than the reader's, at any depth

    def shows_event(self, kind: str, element_id: str | None) -> bool:
        return self.reads_all or kind in MILESTONES or (element_id or "") not in self.hidden_elements

    def names_actor(self, actor_org_id: int | None) -> bool:
        return self.reads_all or (actor_org_id is not None and actor_org_id == self.org_id)

    def data(self, data: dict[str, Any] | None) -> dict[str, Any]:
        return {k: self._without_held(v) for k, v in (data or {}).items() if k not in self.hidden_fields}

    def details(self, details: Any) -> Any:
        """An event's details as the reader reads them: without what other parties hold (`HELD_BY`)."""
        return self._without_held(details)

    def _without_held(self, value: Any) -> Any:
        if not self.held_keys:
            return value
        if isinstance(value, dict):
            return {k: self._without_held(v) for k, v in value.items() if k not in self.held_keys}
        if isinstance(value, list):
            return [self._without_held(v) for v in value]
        return value


EVERYTHING = PartyScope(True, None, frozenset(), frozenset())


def scope_of(principal: Principal, instance_id: int) -> PartyScope:
    """What `principal` (who may see the instance) reads of it."""
    return scopes_of(principal, [instance_id])[instance_id]


def scopes_of(principal: Principal, instance_ids: list[int]) -> dict[int, PartyScope]:
    """`scope_of` for several instances (a page of a list) in two queries, not two per instance."""
    ids = sorted(set(instance_ids))
    if principal.is_platform or not ids:
        return dict.fromkeys(ids, EVERYTHING)
    sides: dict[int, set[str]] = {i: set() for i in ids}
    for instance_id, party in db.session.execute(select(InstanceParty.instance_id, InstanceParty.party).where(
            InstanceParty.instance_id.in_(ids), InstanceParty.org_id == principal.org_id)):
        sides[instance_id].add(party)
    scoped = [i for i in ids if not sides[i] & READS_EVERY_PARTY]
    others: dict[int, list[tuple[str, int | None]]] = {i: [] for i in scoped}
    if scoped:
        for instance_id, element, lane, form_id in db.session.execute(
                select(HumanTask.instance_id, HumanTask.element_id, HumanTask.lane, HumanTask.form_id)
                .where(HumanTask.instance_id.in_(scoped))):
            if lane is not None and lane_party(lane) not in sides[instance_id]:
                others[instance_id].append((element, form_id))
    forms = forms_by_id(sorted({f for found in others.values() for _e, f in found if f}))
    scopes = {i: PartyScope(True, principal.org_id, frozenset(), frozenset()) for i in ids if i not in others}
    for instance_id, found in others.items():
        fields = {name for _e, f in found if f in forms for name in (forms[f].get("properties") or {})}
        held = frozenset(key for key, holders in HELD_BY.items() if not holders & sides[instance_id])
        scopes[instance_id] = PartyScope(False, principal.org_id, frozenset(e for e, _f in found), frozenset(fields),
                                         held)
    return scopes
