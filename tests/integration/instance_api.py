"""Small API calls the asynchronous-life tests share: start, tasks, complete, history, due_at."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

API = "/api/v1"


def start(client, auth, process_id: str, business_key: str | None = None, **data: Any) -> dict:
    body: dict[str, Any] = {"process_id": process_id, "data": data}
    if business_key is not None:
        body["business_key"] = business_key
    r = client.post(f"{API}/process-instances", json=body, headers=auth)
    assert r.status_code == 201, r.json
    return r.json


def instance(client, auth, instance_id: int) -> dict:
    r = client.get(f"{API}/process-instances/{instance_id}", headers=auth)
    assert r.status_code == 200, r.json
    return r.json


def open_tasks(client, auth, instance_id: int) -> dict[str, dict]:
    """The instance's ready tasks by element id."""
    r = client.get(f"{API}/tasks", query_string={"instance_id": instance_id, "state": "ready"}, headers=auth)
    assert r.status_code == 200, r.json
    return {t["element_id"]: t for t in r.json["items"]}


def complete(client, auth, task_id: int, **data: Any) -> dict:
    r = client.post(f"{API}/tasks/{task_id}/complete", json={"data": data}, headers=auth)
    assert r.status_code == 200, r.json
    return r.json


def history(client, auth, instance_id: int) -> list[dict]:
    r = client.get(f"{API}/process-instances/{instance_id}/events", query_string={"per_page": 500}, headers=auth)
    assert r.status_code == 200, r.json
    return r.json["items"]


def kinds(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["kind"] == kind]


def ended_at(client, auth, instance_id: int) -> list[str]:
    """The end events of a completed instance, from its `completed` history event."""
    [done] = kinds(history(client, auth, instance_id), "completed")
    return done["details"]["end_events"]


def due_at(app: Flask, instance_id: int) -> datetime | None:
    """`process_instances.due_at`, read from the table (the API does not show it)."""
    from app.extensions import db
    from app.models import ProcessInstance

    with app.app_context():
        value = db.session.get(ProcessInstance, instance_id).due_at
        db.session.remove()
    return value


def wake(app: Flask) -> list[int]:
    """One pass of the worker's job: the ids of the instances it woke."""
    from app.extensions import db
    from app.services.workflow.waking import wake_due

    with app.app_context():
        report = wake_due()
        db.session.remove()
    return report.woken
