"""The users a task is offered to by name (Camunda's `camunda:candidateUsers="anna, ben"`, issue 17).

A task whose diagram names several users (`candidateUsers`, comma-separated, or `candidateUsersExpression`,
an expression on its data giving a list or a comma-separated text: `app/engine/camunda_user_tasks.py`) and
no role is offered to each of those who is an active user: its lane is `CANDIDATES_LANE`, which no role
holds, and `task_candidates` says who (`access.offered_branches` offers it to them; any may claim it, as in
Camunda). When none of the names is a user here, the task stays without a lane (offered to the platform's
operators, as every task without one), and its `task_ready` event says which names were not found.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, insert, select

from app.engine.runner import ReadyTask
from app.extensions import db
from app.models import TaskCandidate, User
from app.services.identity.grants import CANDIDATES_LANE

CANDIDATES: Table = TaskCandidate.__table__  # type: ignore[assignment]
USERS: Table = User.__table__  # type: ignore[assignment]
_ACTIVE_IDS = select(USERS.c.username, USERS.c.id).where(
    USERS.c.username.in_(bindparam("names", expanding=True)), USERS.c.active.is_(True))


def listed(value: Any) -> list[str]:
    """The names a value gives: a list of them, or a comma-separated text (blanks and repeats left out)."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        return []
    return list(dict.fromkeys(v.strip() for v in value if isinstance(v, str) and v.strip()))


def names(task: ReadyTask) -> list[str]:
    """The user names the task is offered to: its expression's value, else its `candidateUsers` property."""
    if task.properties.get("candidateUsersExpression"):
        return listed(task.evaluated.get("candidateUsersExpression"))
    return listed(task.properties.get("candidateUsers"))


@dataclass
class Offered:
    """What `offer` found: what each task_ready event says, and the users each task is offered to, by engine
    task id."""

    said: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    user_ids: dict[str, list[int]] = field(default_factory=dict)


def offer(fresh: list[dict[str, Any]], ready: list[ReadyTask]) -> Offered:
    """Give each new task without a lane whose diagram names users the candidates lane (one query for the
    step): the names offered it, and those no active user has."""
    wanted = {t.engine_task_id: found for t in ready if (found := names(t))}
    offered = Offered()
    if not wanted:
        return offered
    users = dict(db.session.execute(_ACTIVE_IDS, {"names": sorted({n for ns in wanted.values() for n in ns})}).all())
    for values in fresh:
        named = wanted.get(values["engine_task_id"])
        if not named or values["lane"] is not None:
            continue
        found = [n for n in named if n in users]
        if found:
            values["lane"] = CANDIDATES_LANE
            offered.user_ids[values["engine_task_id"]] = [users[n] for n in found]
        offered.said[values["engine_task_id"]] = {"candidates": found} | (
            {"candidates_not_found": [n for n in named if n not in users]} if len(found) < len(named) else {})
    return offered


def record(task_ids: list[int], fresh: list[dict[str, Any]], offered: Offered) -> None:
    """The candidates of the new tasks just inserted (`task_ids` in the order of `fresh`)."""
    rows = [{"task_id": task_id, "user_id": user_id} for task_id, values in zip(task_ids, fresh, strict=True)
            for user_id in offered.user_ids.get(values["engine_task_id"], [])]
    if rows:
        db.session.execute(insert(CANDIDATES), rows)
