"""Moving waiting instances to another version of their process (`instances.migrate`): one instance or all
that match a filter, each previewed first (what would move where, what blocks it) and moved in one step of
its own, recorded in its history with who and why. The rules are the engine's (`app.engine.migration`):
an element the instance is in must exist in the target, as the same kind of element (a user task in the
same lane); finished, failed and same-version instances are refused."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select, update

from app.engine.migration import (
    LANE_CHANGED,
    REMOVED,
    SUBPROCESS_REMOVED,
    TYPE_CHANGED,
    MigrationPlan,
    MigrationRefused,
    element_labels,
)
from app.engine.migration import migrate as migrate_workflow
from app.engine.migration import plan as plan_migration
from app.extensions import db
from app.models import ProcessInstance, ProcessVersion
from app.models.task import OPEN_TASK_STATES
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid, NotFound, ServiceError
from app.services.identity import policy
from app.services.identity.directory import Actor, Principal
from app.services.workflow import diagram_elements, labels
from app.services.workflow.instances import latest_version
from app.services.workflow.queries import get_instance
from app.services.workflow.runtime import runtime
from app.services.workflow.step_runner import atomic_step, restore, run_step
from app.services.workflow.step_store import INSTANCES, STALE, TASKS, InstanceRow, core, load_instance

MOVABLE_STATUSES = ("running", "waiting")
BULK_LIMIT = 500  # instances previewed or moved by one bulk request
WHY = {
    REMOVED: _l("%(element)s is not in version %(version)s"),
    TYPE_CHANGED: _l("%(element)s is another kind of step in version %(version)s"),
    LANE_CHANGED: _l("%(element)s belongs to another role in version %(version)s"),
    SUBPROCESS_REMOVED: _l("the subprocess that %(element)s runs is not in version %(version)s"),
}
STATUS_WHY = {
    "completed": _l("the instance has completed"),
    "cancelled": _l("the instance was cancelled"),
    "error": _l("the instance has failed: retry its incident or cancel it first"),
}


@dataclass(frozen=True)
class ElementMove:
    """An element the instance is in, named in the reader's language, and whether it can move."""

    element_id: str
    name: str
    state: str  # ready | waiting | started | error
    user_task: bool
    changed: bool  # the element exists in the target with other attributes
    reason: str | None  # why it cannot move; None: it can


@dataclass(frozen=True)
class InstancePreview:
    instance_id: int
    business_key: str | None
    process_id: str
    status: str
    from_version: int
    to_version: int
    elements: list[ElementMove] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why it cannot move (empty: it can)

    @property
    def movable(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class Target:
    """The version an instance moves to."""

    id: int
    process_id: str
    version: int
    calls: tuple[str, ...]


def _target(process_id: str, version: int) -> Target:
    row = db.session.execute(select(ProcessVersion.id, ProcessVersion.calls).where(
        ProcessVersion.kind == "process", ProcessVersion.process_id == process_id,
        ProcessVersion.version == version)).first()
    if row is None:
        raise NotFound(_l("Process %(process)s has no version %(version)s.", process=process_id, version=version))
    return Target(row.id, process_id, version, tuple(row.calls or ()))


def _pins(target: Target, current: dict[str, int]) -> dict[str, int]:
    """The called processes' versions on the target: a process the instance already calls keeps its pinned
    version (a running call goes on in the spec it started in), a newly called one gets its latest."""
    pins: dict[str, int] = {}
    pending = list(target.calls)
    while pending:
        called = pending.pop()
        if called in pins or called == target.process_id:
            continue
        if called in current:
            pins[called] = current[called]
        else:
            latest = latest_version(called)
            if latest is None:
                raise Invalid(_l("process %(process)s calls %(called)s, which is not deployed",
                                 process=repr(target.process_id), called=repr(called)))
            pins[called] = latest.id
        pending.extend(db.session.scalar(select(ProcessVersion.calls).where(ProcessVersion.id == pins[called])) or [])
    return pins


def _element(each: Any, version: int, language: str) -> ElementMove:
    name = labels.task_title(each.name or each.element_id, each.properties, language)
    reason = str(WHY[each.blocker] % {"element": name, "version": version}) if each.blocker else None
    changed = bool(set(each.changes) - {"inputs", "outputs"})  # its flows: their own elements say so
    return ElementMove(each.element_id, name, each.state, each.manual, changed, reason)


def _preview(instance: ProcessInstance, row: InstanceRow, target: Target, language: str,
             workflow: Any = None) -> tuple[InstancePreview, dict[str, int]]:
    """The instance's preview and the pins it would have on the target."""
    base = InstancePreview(instance.id, instance.business_key, instance.process_id, row.status, instance.version,
                           target.version)
    if row.status not in MOVABLE_STATUSES:
        return replace(base, reasons=[str(STATUS_WHY.get(row.status, row.status))]), {}
    if row.process_version_id == target.id:
        return replace(base, reasons=[str(_l("the instance is already on version %(version)s",
                                             version=target.version))]), {}
    rt = runtime()
    pins = _pins(target, row.pins or {})
    if workflow is None:
        workflow = rt.engine.restore(row.state, *rt.specs.workflow_specs(row.process_version_id, row.pins or {}))
    spec, subprocess_specs = rt.specs.workflow_specs(target.id, pins)
    plan: MigrationPlan = plan_migration(rt.engine, workflow, spec, subprocess_specs)
    elements = [_element(e, target.version, language) for e in plan.elements]
    return replace(base, elements=elements, reasons=[e.reason for e in elements if e.reason]), pins


def _require(actor: Principal, instance_id: int) -> ProcessInstance:
    instance = get_instance(actor, instance_id)  # 404 for an instance the actor may not see, before any 403
    policy.require(actor, "instances.migrate")
    return instance


def preview(actor: Principal, instance_id: int, to_version: int, language: str = "en") -> InstancePreview:
    """What moving the instance to `to_version` of its process would do: each element it is in and
    whether it can move, and why not."""
    instance = _require(actor, instance_id)
    target = _target(instance.process_id, to_version)
    return _preview(instance, load_instance(instance_id), target, language)[0]


def migrate(actor: Actor, instance_id: int, to_version: int, reason: str, language: str = "en") -> InstancePreview:
    """Move the instance to `to_version` in one step: its state, version and open tasks together, with an
    `instance_migrated` event (from, to, who, why). Refused (409, nothing changed) when the preview blocks;
    a concurrent step on the instance makes it a 409 too."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Say why the instance is moved."), fields={"reason": [_l("required")]})
    instance = _require(actor, instance_id)
    target = _target(instance.process_id, to_version)
    with atomic_step() as on_commit:
        row = load_instance(instance_id)
        _claim(row)
        source_version_id = row.process_version_id
        workflow = restore(row) if row.status in MOVABLE_STATUSES else None
        found, pins = _preview(instance, row, target, language, workflow)
        if not found.movable:
            raise Conflict(_l("The instance cannot move: %(reasons)s", reasons="; ".join(found.reasons)),
                           code="migration_refused")
        spec, subprocess_specs = runtime().specs.workflow_specs(target.id, pins)

        def act(workflow):  # noqa: ANN001, ANN202
            try:
                return migrate_workflow(runtime().engine, workflow, spec, subprocess_specs)
            except MigrationRefused as refused:  # the preview above said it could: the same rules
                raise Conflict(str(refused), code="migration_refused") from None

        # the step writes its new tasks on the target version and with the target's forms
        row.process_version_id, row.pins = target.id, pins
        event = ("instance_migrated", None, {"from": instance.version, "to": target.version, "reason": reason,
                                             "elements": [e.element_id for e in found.elements]})
        outcome = run_step(row, act, on_commit, actor.id, [event], workflow)
        core(update(INSTANCES).where(INSTANCES.c.id == row.id, INSTANCES.c.process_version_id == source_version_id)
             .values(process_version_id=target.id, version=target.version, pins=pins))
        _follow_open_tasks(row, outcome)
    db.session.expire_all()
    return found


def _claim(row: InstanceRow) -> None:
    """Hold the instance's row for this transaction if it is still as read (a compare-and-set that changes
    nothing): a concurrent step or migration waits for it, or fails now (409), before any other write."""
    claimed = core(update(INSTANCES).where(INSTANCES.c.id == row.id, INSTANCES.c.lock_version == row.lock_version)
                   .values(lock_version=row.lock_version)).rowcount
    if claimed != 1:
        raise Conflict(STALE, code="stale_version")


def _follow_open_tasks(row: InstanceRow, outcome: Any) -> None:
    """The open tasks that stayed (their element is in the target) take the target's name, properties and
    forms; the step already cancelled those whose element is gone and opened the new ones."""
    forms = runtime().specs.forms(row.process_version_id)
    for task in outcome.ready:
        props = task.properties
        core(update(TASKS).where(TASKS.c.instance_id == row.id, TASKS.c.engine_task_id == task.engine_task_id,
                                 TASKS.c.state.in_(OPEN_TASK_STATES))
             .values(process_version_id=row.process_version_id, title=task.title[:255], properties=props,
                     form_id=forms.get(props.get("formJsonSchemaFilename", "")),
                     ui_form_id=forms.get(props.get("formUiSchemaFilename", ""))))


@dataclass(frozen=True)
class BulkFilter:
    status: str | None = None  # running | waiting
    element_id: str | None = None  # an element the instance is in
    business_key: str | None = None  # the start of its business key


def _matching(process_id: str, from_version: int, where: BulkFilter) -> list[ProcessInstance]:
    query = select(ProcessInstance).where(ProcessInstance.process_id == process_id,
                                          ProcessInstance.version == from_version)
    if where.status:
        query = query.where(ProcessInstance.status == where.status)
    if where.business_key:
        query = query.where(ProcessInstance.business_key.startswith(where.business_key, autoescape=True))
    return list(db.session.scalars(query.order_by(ProcessInstance.id).limit(BULK_LIMIT)))


def preview_bulk(actor: Principal, process_id: str, from_version: int, to_version: int,
                 where: BulkFilter | None = None, language: str = "en") -> list[InstancePreview]:
    """Every instance of `from_version` matching the filter (the first BULK_LIMIT by id), each movable or
    not and why."""
    policy.require(actor, "instances.migrate")
    where = where or BulkFilter()
    _target(process_id, from_version)
    target = _target(process_id, to_version)
    if from_version == to_version:
        raise Invalid(_l("Choose two different versions."), fields={"to_version": [_l("the same version")]})
    found = []
    for instance in _matching(process_id, from_version, where):
        item = _preview(instance, load_instance(instance.id), target, language)[0]
        if where.element_id and where.element_id not in {e.element_id for e in item.elements}:
            continue
        found.append(item)
    return found


@dataclass(frozen=True)
class BulkResult:
    instance_id: int
    business_key: str | None
    migrated: bool
    reason: str | None  # why it did not move


def migrate_bulk(actor: Actor, process_id: str, from_version: int, to_version: int, reason: str,
                 where: BulkFilter | None = None, language: str = "en") -> list[BulkResult]:
    """Move every movable instance the bulk preview lists, each in its own transaction: one refused or
    changed meanwhile is reported and the others go on."""
    if not (reason or "").strip():
        raise Invalid(_l("Say why the instances are moved."), fields={"reason": [_l("required")]})
    results = []
    for item in preview_bulk(actor, process_id, from_version, to_version, where, language):
        if not item.movable:
            results.append(BulkResult(item.instance_id, item.business_key, False, "; ".join(item.reasons)))
            continue
        try:
            migrate(actor, item.instance_id, to_version, reason, language)
            results.append(BulkResult(item.instance_id, item.business_key, True, None))
        except ServiceError as exc:
            db.session.rollback()
            results.append(BulkResult(item.instance_id, item.business_key, False, str(exc.message)))
    return results


def require_may_migrate(actor: Principal) -> None:
    """403 unless the actor may move instances (`instances.migrate`): the bulk page before any filter."""
    policy.require(actor, "instances.migrate")


def waiting_places(actor: Principal, process_id: str, version: int, language: str = "en") -> list[tuple[str, str]]:
    """The named elements of a version an instance may be in (element id, name in `language`), by name:
    the bulk page's choice of where the instances wait."""
    policy.require(actor, "instances.migrate")
    found = _target(process_id, version)
    spec, subprocess_specs = runtime().specs.workflow_specs(found.id, {})
    content_hash = db.session.scalar(select(ProcessVersion.content_hash).where(ProcessVersion.id == found.id))
    drawn = diagram_elements.elements(found.id, str(content_hash))  # names in both languages, gateways' too

    def name_of(element_id: str, name: str, props: dict[str, str]) -> str:
        element = drawn.get(element_id)
        return (element.name(language) if element else None) or labels.task_title(name, props, language)

    named = [(element_id, name_of(element_id, name, props))
             for element_id, (name, props) in element_labels(spec, subprocess_specs).items() if name]
    return sorted(named, key=lambda pair: pair[1])
