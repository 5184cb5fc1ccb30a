"""The group mapping table (issue 17): an admin maps a Camunda group (`camunda:candidateGroups="management"`)
to a role — on the page, with the command line, over the API — and a diagram offering tasks to it then
deploys and its tasks reach that role's inbox; unmapped, the deploy is refused naming the task and where to
map it. A deployed version keeps the role it was deployed with. Two admins mapping one group at once over
HTTP: both answered, one row, never a 500.

Before it, a diagram offering a task to any group that is not a Loanflow role code could not deploy."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import GroupMapping, OperatorMapping, User
from app.services.errors import Forbidden, Invalid, ServiceError
from app.services.identity import directory as identity
from app.services.identity.directory import principal_for
from app.services.workflow import group_mappings, inbox, instances
from app.services.workflow.deployment import check_diagrams, deploy_and_commit
from app.services.workflow.inbox import InboxFilters
from tests.integration.test_camunda_user_tasks import camunda_file
from tests.integration.test_identity import set_password, sign_in
from tests.integration.test_money_races import race_posts

MANAGEMENT = camunda_file('camunda:candidateGroups="management"')
API = "/api/v1/group-mappings"


@pytest.fixture
def people(ctx):
    identity.ensure_platform_admin()
    identity.create_org("BANK1", ["funder"], "Bank One")
    identity.create_org("TRADER1", ["borrower"], "Trader One")
    identity.create_user("rev", "BANK1", ["first_reviewer"])
    identity.create_user("boss", "BANK1", ["second_reviewer"])
    identity.create_user("op1", "PLATFORM", ["operator"])
    db.session.commit()
    return ctx


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(GroupMapping))


def _offered_to(username: str) -> list[str]:
    return [r["element_id"] for r in inbox.inbox(principal_for(username), InboxFilters(view="group"))["items"]]


def _start(process_id: str = "camunda_review") -> int:
    return instances.start_instance(process_id, principal_for("admin"), "LN-1", None,
                                    {"funder": "BANK1", "borrower": "TRADER1"})


def test_an_unmapped_group_is_refused_naming_where_to_map_it_then_deploys_to_the_mapped_role(people):
    with pytest.raises(ServiceError) as refused:
        deploy_and_commit([MANAGEMENT])
    reasons = [m for ms in refused.value.fields.values() for m in ms]
    assert any("'management'" in r and "map-group 'management' ROLE" in r for r in reasons), reasons

    group_mappings.map_group(principal_for("admin"), "management", "second_reviewer")
    said = [p for p in check_diagrams([MANAGEMENT]) if p.element_id == "review" and "candidateGroups" in p.reason]
    assert [(p.severity, "group mapping" in p.reason and "'second_reviewer'" in p.reason) for p in said] == [
        ("warning", True)]
    deploy_and_commit([MANAGEMENT])
    _start()
    assert _offered_to("boss") == ["review"]
    assert _offered_to("rev") == []


def test_a_deployed_version_keeps_the_role_it_was_deployed_with_until_the_next_deploy(people):
    admin = principal_for("admin")
    group_mappings.map_group(admin, "management", "second_reviewer")
    deploy_and_commit([MANAGEMENT])
    group_mappings.map_group(admin, "management", "first_reviewer")  # replaces: one row
    assert [(m.group, m.role) for m in group_mappings.mappings()] == [("management", "first_reviewer")]
    _start()
    assert (_offered_to("boss"), _offered_to("rev")) == (["review"], [])
    deploy_and_commit([MANAGEMENT])  # the next version reads the table again
    _start()
    assert (_offered_to("boss"), _offered_to("rev")) == (["review"], ["review"])


def test_a_mapping_names_a_group_that_is_no_role_and_a_role(people):
    admin = principal_for("admin")
    refused = {
        ("management", "no_such_role"): "role",
        ("first_reviewer", "finance"): "group",  # already a role: it needs no mapping
        ("management,sales", "finance"): "group",  # one group, not a list
        ("${approverGroups}", "finance"): "group",  # not an expression
        ("   ", "finance"): "group",
        ("g" * 256, "finance"): "group",
    }
    for (group, role), field in refused.items():
        with pytest.raises(Invalid) as caught:
            group_mappings.map_group(admin, group, role)
        assert list(caught.value.fields) == [field], (group, role, caught.value.fields)
    assert _count() == 0
    with pytest.raises(Forbidden):
        group_mappings.map_group(principal_for("op1"), "management", "finance")
    with pytest.raises(Forbidden):
        group_mappings.list_mappings(principal_for("op1"))
    assert _count() == 0


def test_several_groups_mapped_to_one_role_are_that_role(people):
    admin = principal_for("admin")
    group_mappings.map_group(admin, "accounting", "finance")
    group_mappings.map_group(admin, "treasury", "finance")
    file = camunda_file('camunda:candidateGroups="accounting, treasury, finance"')
    assert not [p for p in check_diagrams([file]) if p.severity == "error"]
    group_mappings.map_group(admin, "treasury", "second_reviewer")
    errors = [p for p in check_diagrams([file]) if p.severity == "error"]
    assert [(p.element_id, "not one role" in p.reason) for p in errors] == [("review", True)]


def test_the_command_line_maps_lists_and_refuses_in_the_readers_language(app, runner, admin_token):
    result = runner.invoke(args=["processes", "map-group", "management", "second_reviewer"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "management -> second_reviewer"
    assert runner.invoke(args=["processes", "group-mappings"]).output.splitlines() == ["management\tsecond_reviewer"]
    refused = runner.invoke(args=["processes", "map-group", "sales", "boss"])
    assert refused.exit_code == 1 and "role:" in refused.output and "second_reviewer" in refused.output
    chinese = runner.invoke(args=["processes", "map-group", "first_reviewer", "finance"], env={"LOANFLOW_LANG": "zh"})
    assert chinese.exit_code == 1 and "本身就是角色" in chinese.output
    with app.app_context():
        assert [(m.group, m.role) for m in group_mappings.mappings()] == [("management", "second_reviewer")]
    removed = runner.invoke(args=["processes", "unmap-group", "management"])
    assert removed.exit_code == 0 and "removed" in removed.output
    again = runner.invoke(args=["processes", "unmap-group", "management"], env={"LOANFLOW_LANG": "zh"})
    assert again.exit_code == 1 and "没有这个映射" in again.output
    with app.app_context():
        assert group_mappings.mappings() == []


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def admin_opens_in_english(app, client, path: str, link: str):
    """The platform admin signs in, finds the page linked from the administration, and reads it in English."""
    set_password(app, "admin")
    sign_in(client, "admin")
    assert f'id="{link}"' in client.get("/admin/").text
    client.post("/language", data={"csrf_token": _csrf(client.get(path).text), "locale": "en"})
    return client.get(path)


def test_the_page_lists_adds_and_removes_in_both_languages(app, client, admin_token):
    page = admin_opens_in_english(app, client, "/admin/group-mappings/", "group-mappings-link")
    assert page.status_code == 200 and "No mappings yet." in page.text
    assert '<option value="second_reviewer">Second reviewer</option>' in page.text  # roles by their names
    added = client.post("/admin/group-mappings/", data={"csrf_token": _csrf(page.text), "group": " management ",
                                                       "role": "second_reviewer"})
    assert added.status_code == 200 and "<code translate=\"no\">management</code>" in added.text and "Mapping saved." in added.text
    with app.app_context():
        (row,) = db.session.scalars(select(GroupMapping)).all()
        assert (row.group_name, row.role) == ("management", "second_reviewer")
        row_id = row.id
    bad = client.post("/admin/group-mappings/", data={"csrf_token": _csrf(page.text), "group": "sales", "role": "x"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    client.post("/language", data={"csrf_token": _csrf(page.text), "locale": "zh"})
    zh = client.get("/admin/group-mappings/")
    assert "组映射" in zh.text and "流程图中的组" in zh.text and "复审员" in zh.text  # the role's Chinese name
    assert "second_reviewer</td>" not in zh.text  # no role code reaches the page
    removed = client.post(f"/admin/group-mappings/{row_id}/remove", data={"csrf_token": _csrf(page.text)})
    assert removed.status_code == 200 and "尚无映射。" in removed.text
    with app.app_context():
        assert _count() == 0


def test_the_api_lists_maps_and_removes(app, client, auth):
    listed = client.get(API, headers=auth).json
    assert listed["items"] == [] and "second_reviewer" in listed["roles"]
    made = client.post(API, headers=auth, json={"group": "management", "role": "second_reviewer"})
    assert made.status_code == 200, made.json
    assert {k: made.json[k] for k in ("group", "role")} == {"group": "management", "role": "second_reviewer"}
    assert [m["group"] for m in client.get(API, headers=auth).json["items"]] == ["management"]
    refused = client.post(API, headers=auth, json={"group": "sales", "role": "boss"})
    assert refused.status_code == 422 and "role" in refused.json["error"]["fields"]
    chinese = client.post(API, headers={**auth, "Accept-Language": "zh-CN"}, json={"group": "finance", "role": "finance"})
    assert chinese.status_code == 422 and "本身就是角色" in json.dumps(chinese.json, ensure_ascii=False)
    assert client.delete(f"{API}/{made.json['id']}", headers=auth).status_code == 204
    assert client.delete(f"{API}/{made.json['id']}", headers=auth).status_code == 404
    assert client.delete(f"{API}/{2 ** 31}", headers=auth).status_code == 404
    assert client.get(API, headers=auth).json["items"] == []


# Each mapping table: its page, its API, a body that maps, and its rows (both the platform admin's alone).
TABLES = {
    "groups": ("/admin/group-mappings/", API, {"group": "management", "role": "platform_admin"}, GroupMapping,
               "group-mappings-link"),
    "operators": ("/admin/operator-mappings/", "/api/v1/operator-mappings",
                  {"kind": "class", "value": "X", "operator": "risk.assess", "operator_name": "risk.assess"},
                  OperatorMapping, "operator-mappings-link"),
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_a_platform_operator_may_not_read_or_change_a_mapping_table_on_the_page_or_the_api(app, client, admin_token,
                                                                                           table):
    page_path, api_path, body, model, link = TABLES[table]
    with app.app_context():
        identity.create_user("op1", "PLATFORM", ["operator"])
        token = identity.issue_token("op1")
        db.session.commit()
    set_password(app, "op1")
    sign_in(client, "op1")
    assert f'id="{link}"' not in client.get("/admin/").text  # an operator administers users, not these
    assert client.get(page_path).status_code == 403
    assert client.post(page_path, data={"csrf_token": _csrf(client.get("/inbox").text), **body}).status_code == 403
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(api_path, headers=headers).status_code == 403
    assert client.post(api_path, headers=headers, json={k: v for k, v in body.items() if k != "operator_name"}
                       ).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


@pytest.mark.parametrize("table", sorted(TABLES))
@pytest.mark.parametrize("role", ["analyst", "auditor"])
def test_the_analyst_and_the_auditor_read_a_mapping_table_and_change_nothing(app, client, auth, table, role):
    """They were 403: the analyst deploying a Camunda diagram could not see which groups and implementations are
    mapped (a diagram naming an unmapped one is refused), the auditor could not see the tables at all."""
    page_path, api_path, body, model, _link = TABLES[table]
    assert client.post(api_path, headers=auth, json={k: v for k, v in body.items() if k != "operator_name"}
                       ).status_code == 200  # the admin maps one
    with app.app_context():
        identity.create_user("reader", "PLATFORM", [role])
        token = identity.issue_token("reader")
        db.session.commit()
    set_password(app, "reader")
    reader = app.test_client()
    sign_in(reader, "reader")
    assert f'href="{page_path}"' in reader.get("/processes", headers={"Accept-Language": "zh-CN"}).text  # linked
    page = reader.get(page_path, headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and body["value" if table == "operators" else "group"] in page.text
    content = page.text.split("<h1>", 1)[1]
    assert 'method="post"' not in content  # neither the map form nor a remove button
    assert reader.post(page_path, data={"csrf_token": _csrf(page.text), **body}).status_code == 403
    headers = {"Authorization": f"Bearer {token}"}
    assert len(client.get(api_path, headers=headers).json["items"]) == 1
    assert client.post(api_path, headers=headers, json={k: v for k, v in body.items() if k != "operator_name"}
                       ).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(model)) == 1


def two_admins_post(app, served: str, path: str, bodies: list[dict]) -> list[int]:
    """Two platform admins POST a body each to `path` of the served app at the same moment; their statuses."""
    with app.app_context():
        identity.ensure_platform_admin()
        if db.session.scalar(select(User).where(User.username == "admin2")) is None:
            identity.create_user("admin2", "PLATFORM", ["platform_admin"])
        tokens = [identity.issue_token("admin"), identity.issue_token("admin2")]
        db.session.commit()
    answers = race_posts(served, [
        (path, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, json.dumps(body).encode())
        for token, body in zip(tokens, bodies, strict=True)])
    return [status for status, _body in answers]


@pytest.mark.parametrize("round_", range(3))
def test_two_admins_mapping_one_new_group_at_once_over_http_leave_one_row(app, served, round_):
    group = f"management-{round_}"
    statuses = two_admins_post(app, served, API, [{"group": group, "role": "first_reviewer"},
                                                  {"group": group, "role": "second_reviewer"}])
    assert statuses == [200, 200]
    with app.app_context():
        rows = db.session.scalars(select(GroupMapping).where(GroupMapping.group_name == group)).all()
        assert len(rows) == 1 and rows[0].role in ("first_reviewer", "second_reviewer")
        db.session.remove()
