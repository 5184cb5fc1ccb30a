"""Running one outside input against one instance: restore, act, write, in one transaction.

Every kind of step — start, task completion, message, timer or retry wake-up, incident retry —
goes through `run_step`, so each gets the same persistence, the same delivery of inbox messages
the instance has come to wait for, and the same in-memory reuse of its workflow afterwards.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.orm.exc import StaleDataError

from app.engine.runner import MessageNotCaught, StepOutcome
from app.extensions import db
from app.models import InboxMessage
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict
from app.services.workflow import data_stores
from app.services.workflow.outbox import enqueue
from app.services.workflow.runtime import runtime
from app.services.workflow.step_store import STALE, InstanceRow, Step, core

INBOX: Table = InboxMessage.__table__  # type: ignore[assignment]
Action = Callable[[Any], StepOutcome]


@contextmanager
def atomic_step() -> Iterator[list[Callable[[], None]]]:
    """One step, one transaction: commit at the end, or change nothing.

    Yields a list of callbacks to run once the commit succeeded. A concurrent step on the same
    instance (its versioned UPDATE matched no row) makes this a 409.
    """
    on_commit: list[Callable[[], None]] = []
    try:
        yield on_commit
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(STALE, code="stale_version") from None
    except BaseException:
        db.session.rollback()
        raise
    for callback in on_commit:
        callback()


def restore(instance: InstanceRow):  # noqa: ANN201
    """The instance's workflow: from memory if this process stepped it last, else from its state.

    From memory, the instance also gets the open task rows and parties that step left, so this
    step need not read them again.
    """
    rt = runtime()
    live = rt.live.take(instance.id, instance.lock_version)
    if live is not None:
        workflow, open_tasks, parties = live
        instance.open_tasks, instance.parties = list(open_tasks), parties
        return workflow
    spec, subprocess_specs = rt.specs.workflow_specs(instance.process_version_id, instance.pins)
    return rt.engine.restore(instance.state, spec, subprocess_specs)


def run_step(instance: InstanceRow, act: Action, on_commit: list[Callable[[], None]], actor_id: int | None,
             events: Sequence[tuple[str, str | None, dict[str, Any]]] = (), workflow: Any = None,
             new: bool = False, closed_task_id: int | None = None, claimed: Any = None) -> StepOutcome:
    """Apply `act` to the instance's workflow and write the outcome (inside `atomic_step`).

    `closed_task_id`: the task row this step's caller has just closed (a completion). `claimed`: an inbox
    message already marked delivered to the instance (`claim_inbox_message`), caught first if the instance
    waits for it, else given back to the inbox.
    """
    rt, at = runtime(), now()
    workflow = workflow if workflow is not None else restore(instance)
    if closed_task_id is not None and instance.open_tasks is not None:
        instance.open_tasks = [t for t in instance.open_tasks if t.id != closed_task_id]
    step = Step(instance, at, actor_id)
    for kind, element_id, details in events:
        step.event(kind, element_id, details, actor_id)
    forms = forms_of(instance)
    with rt.step(instance.id, instance.business_key, instance.lock_version):
        outcome = act(workflow)
        _pass_on(instance, outcome)
        step.write(outcome, forms, new)
        if claimed is not None and (outcome.status != "waiting" or claimed.name not in outcome.messages):
            _give_back(claimed.id)
            claimed = None
        while outcome.status == "waiting" and outcome.messages and (instance.business_key or outcome.message_keys):
            message = claimed or _claim_inbox_message(instance, outcome.messages, outcome.message_keys, at)
            claimed = None
            if message is None:
                break
            try:
                outcome = rt.engine.catch_message(workflow, message.name, message.payload)
            except MessageNotCaught:  # its correlation differs: the message stays in the inbox for another
                _give_back(message.id)
                break
            _pass_on(instance, outcome)
            Step(instance, at, None).write(outcome, forms)
        data_stores.flush()  # the data stores the step wrote, over the versions it read (or a conflict)
    version, open_tasks, parties = instance.lock_version, instance.open_tasks, instance.parties
    on_commit.append(lambda: rt.live.keep(instance.id, version, (workflow, open_tasks, parties)))
    return outcome


def _pass_on(instance: InstanceRow, outcome: StepOutcome) -> None:
    """The messages the step threw that no event of the instance caught go to the outbox, in the step's
    transaction, for the instances of its business key (`outbox_delivery`). Without a business key no
    instance can be told: the history says the message reached no one."""
    if not instance.business_key:
        outcome.history = [("message_unheard", element, details) if kind == "message_sent" else (kind, element, details)
                           for kind, element, details in outcome.history]
        return
    for index, (name, payload) in enumerate(outcome.sent):  # the version before this write: unique per step
        enqueue(name, instance.business_key, payload, f"sent:{instance.id}:{instance.lock_version}:{index}",
                sender_instance_id=instance.id)


def forms_of(instance: InstanceRow) -> dict[str, int]:
    """Form file name -> form_versions.id for the tasks this instance may open: its version's forms and
    those of the processes it calls (pinned at start), so a called process's user task gets its form."""
    specs = runtime().specs
    forms: dict[str, int] = {}
    for version_id in (*(instance.pins or {}).values(), instance.process_version_id):  # its own last: they win
        forms.update(specs.forms(version_id))
    return forms


def _claim_inbox_message(instance: InstanceRow, names: list[str], keys: dict[str, str], at):  # noqa: ANN001, ANN202
    """The oldest undelivered inbox message this instance now waits for, marked delivered to it: under the key
    its event gave the message (`correlation_keys`), else under the instance's business key."""
    by_key = [and_(INBOX.c.name == name, INBOX.c.correlation_key == key) for name, key in keys.items()
              if name in names]
    others = [n for n in names if n not in keys]
    if instance.business_key and others:
        by_key.append(and_(INBOX.c.name.in_(others), INBOX.c.correlation_key == instance.business_key))
    if not by_key:
        return None
    row = core(select(INBOX.c.id, INBOX.c.name, INBOX.c.payload).where(
        or_(*by_key), INBOX.c.delivered_at.is_(None)).order_by(INBOX.c.id).limit(1)).first()
    if row is None:
        return None
    claim_inbox_message(row.id, instance.id, at)
    return row


def claim_inbox_message(inbox_id: int, instance_id: int, at) -> None:  # noqa: ANN001
    """Mark an undelivered inbox message delivered to the instance, in the step's transaction; a 409 when
    another step took it meanwhile (the guarded UPDATE waits for that step's row lock, then matches nothing)."""
    claimed = core(update(INBOX).where(INBOX.c.id == inbox_id, INBOX.c.delivered_at.is_(None))
                   .values(delivered_at=at, instance_id=instance_id)).rowcount
    if claimed != 1:
        raise Conflict(_l("an inbox message was delivered by someone else at the same time"), code="stale_version")


def _give_back(inbox_id: int) -> None:
    core(update(INBOX).where(INBOX.c.id == inbox_id).values(delivered_at=None, instance_id=None))
