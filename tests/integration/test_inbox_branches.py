"""The inbox read branch by branch: exactly the tasks offered, in order, filtered, counted up to a cap.

A generated world (lanes of every kind, tasks without a lane, states, ties and gaps in due dates and
priorities) is checked page by page against an oracle written here from the access rules, for users
of every kind: the platform admin, an operator who is also a collections agent, an analyst, a
reviewer with two review roles, applicants who did and did not start deals.
"""
from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Deployment,
    HumanTask,
    InstanceParty,
    Organisation,
    ProcessInstance,
    ProcessVersion,
    User,
)
from app.services.identity import accounts
from app.services.identity import directory as identity
from app.services.identity.access import PLATFORM_LANES, ROLE_PARTY, lane_party
from app.services.identity.directory import principal_for_user
from app.services.workflow import inbox
from app.services.workflow.inbox import InboxFilters

API = "/api/v1"
PASSWORD = "Harbour-lights-2026"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LANES = [None, "first_reviewer", "second_reviewer", "finance", "applicant", "core_signer", "operator", "analyst",
         "collections_agent", "a_lane_nobody_holds"]
TITLES = {"first_reviewer": "First review", "second_reviewer": "Second review", "finance": "Disburse the loan",
          "applicant": "Sign the contract", "core_signer": "Confirm the receivable", "operator": "Qualify the lead",
          "analyst": "Check the model", "collections_agent": "Call the debtor", None: "Review the overdue case",
          "a_lane_nobody_holds": "Forgotten step"}
USERS = {  # username: (organisation, roles)
    "admin": ("PLATFORM", ["platform_admin"]), "op": ("PLATFORM", ["operator", "collections_agent"]),
    "analyst": ("PLATFORM", ["analyst"]), "rev": ("BANK1", ["first_reviewer", "second_reviewer"]),
    "fin2": ("BANK2", ["finance"]), "app1": ("TRADER1", ["applicant"]), "app2": ("TRADER2", ["applicant"]),
    "agent": ("AGENCY", ["collections_agent"]), "lead": ("BANK1", ["team_lead"]),
}
ORGS = {"PLATFORM": "platform", "BANK1": "funder", "BANK2": "funder", "TRADER1": "borrower", "TRADER2": "borrower",
        "CORE": "core_enterprise", "AGENCY": "collection_agency"}


@pytest.fixture
def world(ctx):
    """40 deals of two processes (three versions) and 240 tasks; returns what the oracle needs."""
    rng = random.Random(4)
    for code, kind in ORGS.items():
        identity.create_org(code, [kind], code.title())
    users = {name: identity.create_user(name, org, roles).id for name, (org, roles) in USERS.items()}
    org_ids = {code: org_id for code, org_id in db.session.execute(select(Organisation.code, Organisation.id))}
    deployment = Deployment(filename="x.bpmn", kind="bpmn", content_hash="x", source=b"")
    db.session.add(deployment)
    db.session.flush()
    versions = [ProcessVersion(kind="process", process_id=process_id, version=n, name=process_id,
                               deployment_id=deployment.id, content_hash=f"{process_id}{n}", spec="")
                for process_id, n in (("loan", 1), ("loan", 2), ("collect", 1))]
    db.session.add_all(versions)
    db.session.flush()
    instances, parties = {}, {}
    for i in range(40):
        version = rng.choice(versions)
        instance = ProcessInstance(
            process_id=version.process_id, process_version_id=version.id, version=version.version, status="waiting",
            business_key=None if i % 9 == 0 else f"LN-{i:04d}", state="",
            started_by_id=rng.choice([users["app1"], users["op"], None]))
        db.session.add(instance)
        db.session.flush()
        bound = {"funder": rng.choice(["BANK1", "BANK2"]), "borrower": rng.choice(["TRADER1", "TRADER2"])}
        if rng.random() < 0.5:
            bound["core_enterprise"] = "CORE"
        if rng.random() < 0.5:
            bound["collection_agency"] = "AGENCY"
        db.session.add_all(InstanceParty(instance_id=instance.id, party=party, org_id=org_ids[code])
                           for party, code in bound.items())
        instances[instance.id] = instance
        parties[instance.id] = {org_ids[code] for code in bound.values()}
    due_dates = [None, NOW - timedelta(days=2), NOW + timedelta(hours=5), NOW + timedelta(days=1),
                 NOW + timedelta(days=3)]  # few values: many ties, broken by id
    for n in range(240):
        instance = rng.choice(list(instances.values()))
        lane = rng.choice(LANES)
        party_org = next((org_ids[c] for c in ORGS if ORGS[c] == lane_party(lane) and
                          org_ids[c] in parties[instance.id]), None)
        state = rng.choices(["ready", "claimed", "completed", "cancelled"], [6, 2, 1, 1])[0]
        db.session.add(HumanTask(
            instance_id=instance.id, process_version_id=instance.process_version_id, engine_task_id=f"t{n}",
            element_id=f"e_{lane}", title=TITLES[lane], lane=lane, org_id=party_org, state=state,
            claimed_by_id=rng.choice([users["rev"], users["app1"], users["op"]]) if state == "claimed" else None,
            priority=rng.choice([None, 1, 2, 2, 3]), due_at=rng.choice(due_dates),
            created_at=NOW - timedelta(minutes=rng.randrange(0, 50))))
    db.session.commit()
    return {"users": users, "instances": instances, "parties": parties, "org_ids": org_ids}


def principal(world, name):
    return principal_for_user(world["users"][name])


def offered(p, task: HumanTask, instance: ProcessInstance) -> bool:
    """The access rules, written out: what `access.task_offered` must select."""
    if "platform_admin" in p.roles:
        return True
    own = task.org_id == p.org_id and task.lane in (p.roles & set(ROLE_PARTY))
    if p.is_platform:
        return own or task.lane in (p.roles & PLATFORM_LANES) or (task.lane is None and "operator" in p.roles)
    return own or (task.lane is None and instance.started_by_id == p.id)


def sort_key(sort: str):
    far = datetime.max.replace(tzinfo=UTC)
    due = lambda t: (t.due_at is None, t.due_at or far)  # noqa: E731 - nulls last
    return {"due": lambda t: (*due(t), t.id),
            "priority": lambda t: (t.priority is None, t.priority or 0, *due(t), t.id),
            "newest": lambda t: (-t.created_at.timestamp(), -t.id)}[sort]


def expected(world, name: str, view: str = "group", sort: str = "due", keep=lambda t: True) -> list[int]:
    p = principal(world, name)
    tasks = db.session.scalars(select(HumanTask)).all()
    if view == "mine":
        chosen = [t for t in tasks if t.state == "claimed" and t.claimed_by_id == p.id]
    else:
        chosen = [t for t in tasks if t.state == "ready" and offered(p, t, world["instances"][t.instance_id])]
    return [t.id for t in sorted((t for t in chosen if keep(t)), key=sort_key(sort))]


def read_all(world, name: str, per_page: int = 7, **filters) -> tuple[list[int], int]:
    """Every page in turn: the ids in page order, and the total the first page gave."""
    p, ids, page, total = principal(world, name), [], 1, None
    while True:
        result = inbox.inbox(p, InboxFilters(page=page, per_page=per_page, **filters))
        total = result["total"] if total is None else total
        assert not result["total_capped"]
        if not result["items"]:
            return ids, total
        ids += [item["id"] for item in result["items"]]
        page += 1


@pytest.mark.parametrize("sort", ["due", "priority", "newest"])
@pytest.mark.parametrize("name", list(USERS))
def test_the_group_view_pages_through_exactly_the_offered_tasks_in_order(world, name, sort):
    ids, total = read_all(world, name, view="group", sort=sort)
    assert ids == expected(world, name, sort=sort)
    assert total == len(ids)


@pytest.mark.parametrize("name", ["rev", "app1", "op"])
def test_the_mine_view_is_what_the_user_claimed(world, name):
    ids, total = read_all(world, name, view="mine")
    assert ids == expected(world, name, view="mine") and total == len(ids) and ids


def test_the_world_has_every_kind_of_branch(world):
    """The oracle above is only as good as the world: each branch kind has ready tasks in it."""
    assert all(expected(world, name) for name in ("admin", "op", "analyst", "rev", "fin2", "app1", "app2", "agent"))
    assert {db.session.get(HumanTask, i).lane for i in expected(world, "app1")} == {None, "applicant"}  # started
    lanes = {db.session.get(HumanTask, i).lane for i in expected(world, "op")}
    assert {None, "operator", "collections_agent"} <= lanes  # platform lane also a party role: listed once


@pytest.mark.parametrize("name", ["admin", "op", "rev", "app1"])
def test_filters_keep_what_they_say(world, name):
    instances, parties, org_ids = world["instances"], world["parties"], world["org_ids"]
    process = lambda t: instances[t.instance_id].process_id  # noqa: E731
    key = lambda t: instances[t.instance_id].business_key or ""  # noqa: E731
    cases = [
        ({"process_id": "loan"}, lambda t: process(t) == "loan"),
        ({"process_id": "collect"}, lambda t: process(t) == "collect"),
        ({"process_id": "nothing"}, lambda t: False),
        ({"element_id": "e_first_reviewer"}, lambda t: t.element_id == "e_first_reviewer"),
        ({"business_key": "LN-0007"}, lambda t: key(t) == "LN-0007"),
        ({"party": "CORE"}, lambda t: org_ids["CORE"] in parties[t.instance_id]),
        ({"party": "TRADER2"}, lambda t: org_ids["TRADER2"] in parties[t.instance_id]),
        ({"party": "NOBODY"}, lambda t: False),
        ({"due_before": NOW + timedelta(days=1)}, lambda t: t.due_at is not None and t.due_at <= NOW + timedelta(days=1)),
        ({"q": "REVIEW"}, lambda t: "review" in t.title.lower() or "review" in key(t).lower()),
        ({"q": " 001"}, lambda t: "001" in t.title.lower() or "001" in key(t).lower()),
        ({"q": "%"}, lambda t: "%" in t.title or "%" in key(t)),  # typed characters, not wildcards
        ({"q": "LN_00"}, lambda t: "ln_00" in t.title.lower() or "ln_00" in key(t).lower()),
        ({"party": "BANK1", "due_before": NOW + timedelta(days=1), "sort": "priority"},
         lambda t: org_ids["BANK1"] in parties[t.instance_id] and t.due_at is not None
         and t.due_at <= NOW + timedelta(days=1)),
    ]
    for filters, keep in cases:
        ids, total = read_all(world, name, view="group", **filters)
        assert ids == expected(world, name, sort=filters.get("sort", "due"), keep=keep), filters
        assert total == len(ids)


def test_counts_stop_at_the_cap_and_say_so(world, monkeypatch):
    p = principal(world, "admin")
    ready = len(expected(world, "admin"))
    assert inbox.counts(p)["group"] == ready and inbox.counts(p)["capped"] == []
    monkeypatch.setattr(inbox, "COUNT_CAP", 5)
    counts = inbox.counts(p)
    assert counts["group"] == 5 and "group" in counts["capped"] and "mine" not in counts["capped"]
    first = inbox.inbox(p, InboxFilters(view="group", per_page=2))
    assert (first["total"], first["total_capped"]) == (5, True)
    # a page past the cap counts to its own end: there is always a next page while there are more
    far = inbox.inbox(p, InboxFilters(view="group", page=4, per_page=2))
    assert (far["total"], far["total_capped"]) == (8, True)
    assert [i["id"] for i in far["items"]] == expected(world, "admin")[6:8]
    last = inbox.inbox(p, InboxFilters(view="group", page=(ready + 1) // 2, per_page=2))
    assert (last["total"], last["total_capped"]) == (ready, False)
    beyond = inbox.inbox(p, InboxFilters(view="group", page=ready, per_page=2))
    assert (beyond["items"], beyond["total"], beyond["total_capped"]) == ([], ready, False)


def test_the_api_and_the_page_show_a_capped_total_as_more(world, app, client, monkeypatch):
    monkeypatch.setattr(inbox, "COUNT_CAP", 5)
    token = identity.issue_token("admin")
    body = client.get(f"{API}/me/tasks", query_string={"view": "group", "per_page": 2},
                      headers={"Authorization": f"Bearer {token}"}).json
    assert (body["total"], body["total_capped"], len(body["items"])) == (5, True, 2)
    accounts.set_password_with_token(accounts.invite("admin"), "invite", PASSWORD)
    db.session.commit()
    login = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
    client.post("/login", data={"csrf_token": csrf, "username": "admin", "password": PASSWORD})
    page = client.get("/", query_string={"view": "group"}).text
    assert re.search(r'id="count-group">5\+<', page)
    # the page's own total counts to the page's end (cap or no cap): 20 of them, and more
    assert "共 20+ 项任务" in page and "第 1 / 1+ 页" in page and "page=2" in page  # (in Chinese, the default)


def test_a_step_copies_the_instance_version_onto_its_tasks(app, client, auth, deploy):
    deploy("review_with_form.bpmn")
    instance = client.post(f"{API}/process-instances", headers=auth,
                           json={"process_id": "review_with_form", "business_key": "K-1"}).json
    with app.app_context():
        version = db.session.scalar(select(ProcessInstance.process_version_id)
                                    .where(ProcessInstance.id == instance["id"]))
        copied = db.session.scalars(select(HumanTask.process_version_id)
                                    .where(HumanTask.instance_id == instance["id"])).all()
        admin = db.session.scalar(select(User.id).where(User.username == "admin"))
        found = inbox.inbox(principal_for_user(admin), InboxFilters(view="group", process_id="review_with_form"))
        db.session.remove()
    assert copied and set(copied) == {version}
    assert instance["id"] in {item["instance_id"] for item in found["items"]}
