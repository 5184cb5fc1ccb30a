"""A user task's role chosen from its data when it becomes ready (Camunda's `camunda:candidateGroups="${group}"`,
issue 17).

The import layer writes such an expression as `candidateGroupsExpression` (`app/engine/camunda_user_tasks.py`),
evaluated on the task's data when it becomes ready. Its value (a group, a list, or a comma-separated text)
names the task's lane as a static `candidateGroups` does: a role code, or a group the group mapping table maps
to one; several are one role when each is, or maps to, that role. When the value names no role (or several),
the task is not offered to no one: it stays without a lane (the platform's operators work it), and its
`task_ready` event says which groups named no role.
"""
from __future__ import annotations

from dataclasses import replace

from app.engine.runner import ReadyTask
from app.services.identity.grants import ROLE_ORG_KINDS
from app.services.workflow import group_mappings
from app.services.workflow.task_candidates import listed

EXPRESSION = "candidateGroupsExpression"


def chosen(ready: list[ReadyTask]) -> tuple[list[ReadyTask], dict[str, dict[str, list[str]]]]:
    """The new ready tasks with the lanes their data chose, and what each task_ready event says, by engine task
    id (one read of the group mapping table for the step, when a task chooses its lane)."""
    if not any(t.properties.get(EXPRESSION) for t in ready):
        return ready, {}
    mapped = group_mappings.for_import()
    found, said = [], {}
    for task in ready:
        if not task.properties.get(EXPRESSION):
            found.append(task)
            continue
        groups = listed(task.evaluated.get(EXPRESSION))
        roles = {mapped.get(g, g) for g in groups}
        role = next(iter(roles)) if len(roles) == 1 else None
        if role in ROLE_ORG_KINDS:
            found.append(replace(task, lane=role))
            said[task.engine_task_id] = {"candidate_groups": groups}
        else:
            found.append(replace(task, lane=None))
            said[task.engine_task_id] = {"candidate_groups_no_role": groups}
    return found, said
