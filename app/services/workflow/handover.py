"""Someone who leaves hands their work back: deactivating a user releases the open tasks they hold (claimed or
assigned to them) to the group they were offered to, where a colleague takes them or a team lead assigns
them, instead of the deal waiting for ever on a person who can no longer sign in. Each release is in the
instance's history as a task released by whoever deactivated them.

Identity owns who is active (`identity.user_admin.set_active`); the tasks are the workflow's, so every page,
route and command that deactivates someone comes through `set_active` here."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from app.extensions import db
from app.models import HumanTask, ProcessInstance, User
from app.services.clock import now
from app.services.identity import grants, user_admin
from app.services.identity.directory import Principal
from app.services.workflow.step_store import core, record


def release_tasks_of(user_id: int, actor_id: int | None) -> int:
    """Hand every task the user holds back to its group, in the caller's transaction; how many."""
    held = db.session.execute(select(HumanTask.id, HumanTask.instance_id, HumanTask.element_id)
                              .where(HumanTask.claimed_by_id == user_id, HumanTask.state == "claimed")
                              .order_by(HumanTask.id)).all()
    at = now()
    for task_id, instance_id, element_id in held:
        core(update(HumanTask).where(HumanTask.id == task_id, HumanTask.state == "claimed",
                                     HumanTask.claimed_by_id == user_id).values(state="ready", claimed_by_id=None))
        head = db.session.scalar(select(ProcessInstance.last_event_hash).where(ProcessInstance.id == instance_id))
        record(instance_id, head, "task_unclaimed", at, actor_id, element_id, {"task_id": task_id})
    return len(held)


def set_active(user: User, active: bool, actor: Principal | None) -> int:
    """Deactivate or reactivate a user (`identity.user_admin.set_active`); deactivating hands the tasks they
    hold back to their groups in the same transaction. How many tasks were handed back."""
    user_admin.set_active(user, active, actor, commit=False)
    released = 0 if active else release_tasks_of(user.id, actor.id if actor else None)
    db.session.commit()
    return released


def set_active_by_id(user_id: int, active: bool, actor: Principal) -> dict[str, Any]:
    grants.require_administrator(actor)  # before any id is read: the answer never depends on it
    user = user_admin.user_by_id(user_id)
    released = set_active(user, active, actor)
    return {**user_admin.user_summary(user), "tasks_released": released}
