"""Starting and cancelling process instances; each is one step, one transaction."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import undefer
from sqlalchemy.orm.exc import StaleDataError

from app.engine.errors import InstanceFault
from app.extensions import db
from app.models import HumanTask, InstanceParty, Organisation, ProcessInstance, ProcessVersion, User
from app.models.identity import OrgKind
from app.models.task import OPEN_TASK_STATES
from app.services.clock import now
from app.services.errors import Conflict, Invalid, NotFound
from app.services.runtime import runtime
from app.services.steps import apply_outcome, record

FINISHED = ("completed", "cancelled")


def latest_version(process_id: str) -> ProcessVersion | None:
    return db.session.scalar(
        select(ProcessVersion).where(ProcessVersion.kind == "process", ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc()).limit(1))


def resolve_pins(version: ProcessVersion) -> dict[str, int]:
    """Pin the latest version of every process the version calls, directly or through others."""
    pins: dict[str, int] = {}
    pending = list(version.calls)
    while pending:
        process_id = pending.pop()
        if process_id in pins or process_id == version.process_id:
            continue
        called = latest_version(process_id)
        if called is None:
            raise Invalid(f"process {version.process_id!r} calls {process_id!r}, which is not deployed",
                          fields={"process_id": [f"called process {process_id!r} is not deployed"]})
        pins[process_id] = called.id
        pending.extend(called.calls)
    return pins


def _parties(parties: dict[str, str]) -> list[tuple[str, int]]:
    if not parties:
        return []
    codes = set(parties.values())
    orgs = {o.code: o for o in db.session.scalars(select(Organisation).where(Organisation.code.in_(codes)))}
    kinds = {(k.org_id, k.kind) for k in db.session.scalars(select(OrgKind).where(
        OrgKind.org_id.in_([o.id for o in orgs.values()])))}
    bound, errors = [], {}
    for party, code in parties.items():
        org = orgs.get(code)
        if org is None:
            errors[f"parties.{party}"] = [f"unknown organisation {code!r}"]
        elif (org.id, party) not in kinds:
            errors[f"parties.{party}"] = [f"organisation {code!r} is not a {party}"]
        else:
            bound.append((party, org.id))
    if errors:
        raise Invalid("unknown or unsuitable parties", fields=errors)
    return bound


def start_instance(process_id: str, actor: User | None, business_key: str | None = None,
                   data: dict[str, Any] | None = None, parties: dict[str, str] | None = None) -> ProcessInstance:
    version = latest_version(process_id)
    if version is None:
        raise Invalid(f"process {process_id!r} is not deployed", fields={"process_id": ["not deployed"]})
    pins = resolve_pins(version)
    bound = _parties(parties or {})
    rt, at = runtime(), now()
    spec, subprocess_specs = rt.specs.workflow_specs(version.id, pins)
    instance = ProcessInstance(
        process_id=process_id, process_version_id=version.id, version=version.version, status="running",
        business_key=business_key, data={}, state="", pins=pins, started_by_id=actor.id if actor else None,
        created_at=at, updated_at=at)
    db.session.add(instance)
    db.session.flush()  # the id is the handlers' idempotency scope
    db.session.add_all([InstanceParty(instance_id=instance.id, party=p, org_id=o) for p, o in bound])
    record(instance.id, "started", at, instance.started_by_id, None, {
        "process_id": process_id, "version": version.version, "business_key": business_key, "data": data or {}})
    with rt.step(instance.id, business_key):
        workflow = rt.engine.new_workflow(spec, subprocess_specs, dict(data or {}))
        outcome = rt.engine.advance(workflow)
    apply_outcome(instance, outcome, at, instance.started_by_id, version.forms, new=True)
    db.session.commit()
    return instance


def load_for_step(instance_id: int) -> ProcessInstance:
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                                 .options(undefer(ProcessInstance.state)))
    if instance is None:
        raise NotFound("process instance not found")
    return instance


def restore(instance: ProcessInstance):  # noqa: ANN201
    rt = runtime()
    spec, subprocess_specs = rt.specs.workflow_specs(instance.process_version_id, instance.pins)
    return rt.engine.restore(instance.state, spec, subprocess_specs)


def cancel_instance(instance_id: int, actor: User) -> ProcessInstance:
    with atomic_step():
        instance = load_for_step(instance_id)
        if instance.status in FINISHED:
            raise Conflict(f"instance is already {instance.status}")
        rt, at = runtime(), now()
        workflow = restore(instance)
        instance.state = rt.engine.cancel(workflow)
        instance.status = "cancelled"
        instance.updated_at = instance.ended_at = at
        for row in db.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance.id, HumanTask.state.in_(OPEN_TASK_STATES))):
            row.state = "cancelled"
            row.completed_at = at
        record(instance.id, "cancelled", at, actor.id)
    return instance


@contextmanager
def atomic_step() -> Iterator[None]:
    """One step, one transaction: commit at the end, or change nothing.

    A concurrent step on the same instance (the optimistic version check failed, at any flush)
    makes this one a 409.
    """
    try:
        yield
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("the instance was changed by someone else at the same time; reload and retry",
                       code="stale_version") from None
    except BaseException:
        db.session.rollback()
        raise


def count_open_instances(process_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.process_id == process_id, ProcessInstance.status.notin_(FINISHED))) or 0


__all__ = ["InstanceFault", "atomic_step", "cancel_instance", "start_instance"]
