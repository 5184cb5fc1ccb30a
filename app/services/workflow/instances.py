"""Starting and cancelling process instances; each is one step, one transaction."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.engine import camunda_process, start_events
from app.engine.errors import CannotStart, InstanceFault
from app.engine.runner import ProcessEngine, StepOutcome, jsonable
from app.engine.said import Said
from app.extensions import db
from app.models import (
    InstanceParty,
    Organisation,
    ProcessVersion,
    Product,
)
from app.models.identity import OrgKind
from app.models.task import OPEN_TASK_STATES
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Forbidden, Invalid, Text
from app.services.identity import policy
from app.services.identity.access import lane_party
from app.services.identity.audit import audit
from app.services.identity.directory import Actor
from app.services.workflow import cancellations, external_task_rows, start_forms, start_keys
from app.services.workflow import uploads as uploads_kept
from app.services.workflow.runtime import runtime
from app.services.workflow.step_runner import atomic_step, claim_inbox_message, restore, run_step
from app.services.workflow.step_store import (
    INSTANCES,
    TASKS,
    InstanceRow,
    Step,
    clear_waits,
    core,
    load_instance,
    update_instance,
)
from app.services.workflow.uploads import Upload

FINISHED = ("completed", "cancelled")
ALREADY: dict[str, Text] = {"completed": _l("instance is already completed"),
                            "cancelled": _l("instance is already cancelled")}
_INSERT_INSTANCE = insert(INSTANCES).returning(INSTANCES.c.id)
_INSERT_PARTIES = insert(InstanceParty)


@dataclass(frozen=True)
class LatestVersion:
    """What starting an instance needs of a process's newest version."""

    id: int
    process_id: str
    version: int
    calls: tuple[str, ...]
    forms: dict[str, int]


@dataclass(frozen=True)
class StartAt:
    """An event of the process's own that starts an instance at one of its start events (a timer start
    event's firing, a signal start event's signal, a message): the engine's step that starts it there, that
    start event (the history's `started` event names it), what that event's details add, the version the
    event belongs to (None: the newest), and `claim`, called with the new instance's id in its transaction (a
    `Conflict` there: another worker started this event's instance)."""

    act: Callable[[ProcessEngine, Any], StepOutcome]
    element_id: str
    said: dict[str, Any]
    version_id: int | None = None
    claim: Callable[[int], None] | None = None


LATEST_TTL_SECONDS = 2.0  # another process's deploy is seen within this; this process's at once


def latest_version(process_id: str) -> LatestVersion | None:
    """The newest deployed version of a process, cached briefly per process id."""
    cache = runtime().latest_versions
    hit = cache.get(process_id)
    if hit is not None and hit[1] > monotonic():
        return hit[0]
    row = db.session.execute(
        select(ProcessVersion.id, ProcessVersion.version, ProcessVersion.calls, ProcessVersion.forms)
        .where(ProcessVersion.kind == "process", ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc()).limit(1)).first()
    if row is None:
        return None
    latest = LatestVersion(row.id, process_id, row.version, tuple(row.calls or ()), dict(row.forms or {}))
    cache[process_id] = (latest, monotonic() + LATEST_TTL_SECONDS)
    return latest


def resolve_pins(version: LatestVersion) -> dict[str, int]:
    """Pin the latest version of every process the version calls, directly or through others."""
    pins: dict[str, int] = {}
    pending = list(version.calls)
    while pending:
        process_id = pending.pop()
        if process_id in pins or process_id == version.process_id:
            continue
        called = latest_version(process_id)
        if called is None:
            raise Invalid(_l("process %(process)s calls %(called)s, which is not deployed",
                             process=repr(version.process_id), called=repr(process_id)),
                          fields={"process_id": [_l("called process %(called)s is not deployed",
                                                    called=repr(process_id))]})
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
            errors[f"parties.{party}"] = [_l("unknown organisation %(code)s", code=repr(code))]
        elif (org.id, party) not in kinds:
            errors[f"parties.{party}"] = [_l("organisation %(code)s is not a %(party)s", code=repr(code),
                                              party=party)]
        else:
            bound.append((party, org.id))
    if errors:
        raise Invalid(_l("unknown or unsuitable parties"), fields=errors)
    return bound


def start_instance(process_id: str, actor: Actor | None, business_key: str | None = None,
                   data: dict[str, Any] | None = None, parties: dict[str, str] | None = None) -> int:
    """Start an instance of the latest version of a process and run it until it waits; its id."""
    return start(process_id, actor, business_key, data, parties)["id"]


def _with_initiator(spec: Any, actor: Actor | None, data: dict[str, Any] | None) -> dict[str, Any]:
    """The start data, with who started the instance where the process names a variable for it
    (`camunda:initiator`): the engine's to say, never the caller's (None when no user starts it)."""
    started = dict(data or {})
    variable = camunda_process.initiator_variable(spec)
    if variable:
        started[variable] = actor.username if actor is not None else None
    return started


def start(process_id: str, actor: Actor | None, business_key: str | None = None,
          data: dict[str, Any] | None = None, parties: dict[str, str] | None = None, *,
          access_checked: bool = False, message: Any = None, catch: bool = True,
          event: StartAt | None = None, uploads: Sequence[Upload] = (), start_key: str | None = None) -> dict[str, Any]:
    """Start an instance and run it until it waits; its summary, built from the step (no re-read).

    The platform's admins and operators start any instance; an applicant starts only the process an
    active product offers them, with their own organisation as its borrower (`_may_start`).
    `access_checked`: the caller asked the policy itself (the modeler's test instance: `definitions.deploy`).
    `message`: the message inbox row (`id`, `name`, `payload`) that starts it, claimed in the start's
    transaction: however many deliverers race, one instance starts with it (the others: 409). With
    `catch` its message start event takes it; without, the caller passed its payload in `data` already.
    `event`: an event of the process's own that starts it at one of its start events (`StartAt`: a timer start
    event's firing, a signal start event's signal), claimed in the start's transaction where it must start
    one instance only.
    `uploads`: files posted in the start form's fields (the console's start page), kept as the new instance's
    documents in the start's transaction; their fields' values in `data` become `document:<id>`.
    `start_key`: the key the start came with (the start page's form, the API's `idempotency_key`): the same
    user's same key again answers the instance it started, `duplicate` (`start_keys`), however many race.
    """
    if actor is not None and not access_checked:
        _may_start(actor, process_id, parties or {})
    if start_key is not None:
        if actor is None:
            raise ValueError("a start key is a user's: a start without a user has none")
        start_keys.check(start_key)
        found = start_keys.earlier(actor.id, start_key)
        if found is not None:
            return start_keys.answer(found, process_id, business_key)
    version = latest_version(process_id)
    if version is None:
        raise Invalid(_l("process %(process)s is not deployed", process=repr(process_id)),
                      fields={"process_id": [_l("not deployed")]})
    if event is not None and event.version_id not in (None, version.id):
        raise Conflict(_l("the process has a newer version; its own events start it"), code="start_event_taken")
    pins = resolve_pins(version)
    bound = _parties(parties or {})
    rt, at = runtime(), now()
    actor_id = actor.id if actor else None
    spec, subprocess_specs = rt.specs.workflow_specs(version.id, pins)
    form = None
    if message is None and event is None:  # at the none start event: its start form, if any, checks the data
        form = start_forms.check(process_id, spec, version.forms, data)
        event = _at_only_timer_start(spec)
    elif uploads:
        raise Invalid(_l("files are kept only with the data a person starts an instance with"), code="cannot_start")
    try:
        with atomic_step() as on_commit:
            # The row exists before the engine runs: its id scopes the handlers' idempotency keys.
            instance_id: int = core(_INSERT_INSTANCE, dict(
                process_id=process_id, process_version_id=version.id, version=version.version, status="running",
                business_key=business_key, data={}, state="", pins=pins, started_by_id=actor_id,
                created_at=at, updated_at=at, lock_version=1, waiting_for=[], start_key=start_key)).scalar_one()
            if bound:
                core(_INSERT_PARTIES, [
                    {"instance_id": instance_id, "party": p, "org_id": o} for p, o in bound])
            if uploads:
                data = dict(data or {})
                uploads_kept.keep(instance_id, None, form, uploads, data, actor_id)
            # parties read back when a task needs them: an operator of this first step may bind one
            # (a collections case binds the platform as the agency that works it until one is assigned)
            instance = InstanceRow(instance_id, version.id, pins, business_key, "running", "", 1, [],
                                   open_tasks=[], parties=None)
            if message is not None:
                claim_inbox_message(message.id, instance_id, at)
            if event is not None and event.claim is not None:
                event.claim(instance_id)
            try:
                workflow = rt.engine.new_workflow(spec, subprocess_specs, _with_initiator(spec, actor, data))
            except CannotStart as exc:
                raise Invalid(_l("process %(process)s cannot start: %(reason)s", process=repr(process_id), reason=str(exc)),
                              code="cannot_start") from None
            if event is None and message is not None and catch:  # at the message start event that takes it
                event = _at_message_start(spec, message.name)
            started = ("started", event.element_id if event is not None else None,
                       {"process_id": process_id, "version": version.version, "business_key": business_key,
                        "data": jsonable(data or {})} | (event.said if event is not None else {}))
            act = rt.engine.advance if event is None else lambda w: event.act(rt.engine, w)
            outcome = run_step(instance, act, on_commit, actor_id, [started], workflow, new=True,
                               claimed=message if catch else None)
    except IntegrityError:  # the same user's same key from a request at the same moment: its instance
        found = start_keys.earlier(actor_id, start_key) if start_key is not None and actor_id is not None else None
        if found is None:
            raise
        return start_keys.answer(found, process_id, business_key)
    return {"id": instance_id, "process_id": process_id, "version": version.version, "status": outcome.status,
            "business_key": business_key, "data": outcome.data, "error": outcome.error, "created_at": at,
            "updated_at": at, "ended_at": at if outcome.status == "completed" else None}


def start_form(process_id: str) -> dict[str, Any] | None:
    """The JSON Schema the data of a new instance of the process's newest version must fit, if it has one."""
    found = start_form_and_ui(process_id)
    return found[0] if found else None


def start_form_and_ui(process_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The start form of the process's newest version and its UI schema ({} without one), if it has a form."""
    version = latest_version(process_id)
    if version is None:
        return None
    spec, _subprocesses = runtime().specs.workflow_specs(version.id, resolve_pins(version))
    schema = start_forms.schema(spec, version.forms)
    return (schema, start_forms.ui_schema(spec, version.forms)) if schema is not None else None


def _at_only_timer_start(spec: Any) -> StartAt | None:
    """A process started by hand (the API, the console, a test) whose one start event is a timer starts there
    at once, as Camunda starts it: the timer is the schedule's (`timer_starts`), and a cycle waited for in
    the instance ran its path again at every firing, the instance never ending."""
    found = start_events.kinds(spec)
    if len(found) != 1 or found[0][1] != "timer":
        return None
    element = found[0][0]
    return StartAt(lambda engine, workflow: engine.start_on_timer(workflow, element), element,
                   {"start_event": element})


def _at_message_start(spec: Any, name: str) -> StartAt | None:
    """An instance a message starts begins at the message start event that takes it, not at a none start
    event beside it (which would fire at once, its message start event cancelled and the message unread)."""
    elements = start_events.message_starts(spec).get(name, [])
    if len(elements) != 1:
        return None  # none (the caller gave the message as data) or several: SpiffWorkflow's own choice
    return StartAt(lambda engine, workflow: engine.start_at(workflow, elements[0]), elements[0],
                   {"start_event": elements[0]})


def _may_start(actor: Actor, process_id: str, parties: dict[str, str]) -> None:
    """`instances.start`: the platform starts anything; a party (a borrower's applicant) only the
    process an active product offers for applying, with their own organisation as that party."""
    if not policy.may_ever(actor, "instances.start"):
        raise Forbidden(_l("starting instances needs the platform_admin or operator role"), code="may_not_start")
    if policy.allowed(actor, "instances.start"):  # without a deal: the platform's grant
        return
    offered = db.session.scalar(select(Product.id).where(
        Product.active.is_(True), Product.application_process == process_id).limit(1))
    if offered is None:
        raise Forbidden(_l("no active product offers %(process)s to applicants: an applicant starts only the "
                           "application process of a product", process=repr(process_id)), code="not_offered")
    own = db.session.scalar(select(Organisation.code).where(Organisation.id == actor.org_id))
    policy.require(actor, "instances.start", parties={p: actor.org_id for p, code in parties.items() if code == own},
                   message="an applicant starts applications with their own organisation as the borrower",
                   code="not_own_borrower")


def cancel_instance(instance_id: int, actor: Actor, reason: str | None = None) -> None:
    """The platform cancels an instance (`instances.cancel`); the reason, if given, goes to its history."""
    policy.require(actor, "instances.cancel")
    end_instance(instance_id, actor.id, (reason or "").strip() or None)


def _already(status: str) -> Text:
    """`instance is already <status>` (a conflict's message): the status's code in English, its word in Chinese."""
    found = ALREADY.get(status)
    return found if found is not None else _l("instance is already %(status)s", status=status)


def hold_open_tasks(instance_id: int) -> None:
    """Lock the instance's open tasks for this transaction (PostgreSQL's row locks; SQLite has one writer). A
    domain that locks a row of its own and then ends the instance takes them first: a completion locks its task,
    then its step writes the domain's row, and the two taken the other way round wait on each other (a borrower's
    withdrawal racing a reviewer's completion was a deadlock, 500)."""
    core(select(TASKS.c.id).where(TASKS.c.instance_id == instance_id, TASKS.c.state.in_(OPEN_TASK_STATES))
         .with_for_update())


def end_instance(instance_id: int, actor_id: int | None, reason: str | None = None,
                 told: Said | None = None) -> None:
    """Cancel an instance for a domain that decided itself who may (a borrower withdrawing its
    application): open tasks cancelled, the history kept with a `cancelled` event; `told`, what each
    open task's party reads of why (`cancellations`). Commits, with whatever else the caller's
    transaction holds."""
    rt, at = runtime(), now()
    with atomic_step():
        instance = load_instance(instance_id)
        if instance.status in FINISHED:
            raise Conflict(_already(instance.status))
        workflow = restore(instance)
        state = rt.engine.cancel(workflow)
        withdrawn = core(select(TASKS.c.id, TASKS.c.element_id).where(
            TASKS.c.instance_id == instance.id, TASKS.c.state.in_(OPEN_TASK_STATES)).order_by(TASKS.c.id)).all()
        core(update(TASKS).where(TASKS.c.instance_id == instance.id, TASKS.c.state.in_(OPEN_TASK_STATES))
             .values(state="cancelled", completed_at=at))
        clear_waits(instance.id)
        external_task_rows.forget(instance.id)  # no worker is offered its tasks any more
        step = Step(instance, at, actor_id)
        step.event("cancelled", None, {"reason": reason} if reason else {}, actor_id)
        for task in withdrawn:  # each open task withdrawn by the cancellation, after it, as a step withdraws one
            step.event("task_cancelled", task.element_id, {"task_id": task.id, **cancellations.told(told)}, actor_id)
        values = {"state": state, "status": "cancelled", "updated_at": at, "ended_at": at}
        step.insert_events(values)
        update_instance(instance, values)



__all__ = ["InstanceFault", "atomic_step", "cancel_instance", "end_instance", "hold_open_tasks", "load_instance", "restore", "start_instance"]


def set_parties(instance_id: int, parties: dict[str, str], actor: Actor) -> None:
    """Rebind an instance's deal to organisations (platform only); open tasks follow their lanes."""
    policy.require(actor, "instances.set_parties")
    bound = _parties(parties)
    at = now()
    with atomic_step():
        instance = load_instance(instance_id)
        core(delete(InstanceParty).where(InstanceParty.instance_id == instance.id))
        if bound:
            core(insert(InstanceParty), [{"instance_id": instance.id, "party": p, "org_id": o} for p, o in bound])
        orgs = dict(bound)
        lanes = core(select(TASKS.c.lane).distinct().where(
            TASKS.c.instance_id == instance.id, TASKS.c.state.in_(OPEN_TASK_STATES))).scalars().all()
        for lane in lanes:  # one UPDATE per lane, not per task
            core(update(TASKS).where(TASKS.c.instance_id == instance.id, TASKS.c.state.in_(OPEN_TASK_STATES),
                                     TASKS.c.lane.is_(None) if lane is None else TASKS.c.lane == lane)
                 .values(org_id=orgs.get(lane_party(lane) or "")))
        step = Step(instance, at, actor.id)
        step.event("parties_changed", None, {"parties": parties}, actor.id)
        values: dict[str, Any] = {"updated_at": at}
        step.insert_events(values)
        # a new version: a step that read the old parties fails (409), and no process keeps them
        update_instance(instance, values)
        audit("instance_parties_changed", actor.id, f"instance:{instance.id}", parties=parties)
