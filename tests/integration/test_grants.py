"""Who may grant what (app/services/identity/grants.py): roles only in organisations of their kind, nobody
grants or acts at or above their own rank, links that set a password only where they may, a platform
role held outside the platform grants nothing, and applicants start only what a product offers."""
from __future__ import annotations

import re
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, Organisation, Product, User, UserRole, UserSession, UserToken
from app.services.errors import ErrorKind, Forbidden, Invalid
from app.services.identity import accounts
from app.services.identity import directory as identity
from app.services.identity import grants as identity_grants
from app.services.ledger import loans

API = "/api/v1"
PASSWORD = "Harbour-lights-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PRODUCT = {"code": "APPLY", "name": "Applications", "annual_rate": "12", "min_amount": "100",
           "max_amount": "100000", "min_term": 1, "max_term": 36}


@pytest.fixture
def people(app, admin_token):
    """The platform (admin, a second admin, an operator), two banks, a borrower; everyone with a password."""
    with app.app_context():
        for code, kind in (("BANK1", "funder"), ("BANK2", "funder"), ("TRADER", "borrower"),
                           ("TRADER2", "borrower")):
            identity.create_org(code, [kind], code.title())
        for username, org, roles in (("admin2", "PLATFORM", ["platform_admin"]), ("op", "PLATFORM", ["operator"]),
                                     ("op2", "PLATFORM", ["operator"]), ("rev1", "BANK1", ["first_reviewer"]),
                                     ("app1", "TRADER", ["applicant"])):
            identity.create_user(username, org, roles)
        for username in ("admin", "admin2", "op", "op2", "rev1", "app1"):
            accounts.set_password_with_token(accounts.invite(username), "invite", PASSWORD)
        ids = {u.username: u.id for u in db.session.scalars(select(User))}
        tokens = {u: {"Authorization": f"Bearer {identity.issue_token(u)}"} for u in ids}
        db.session.remove()
    return {"ids": ids, "tokens": tokens}


def browser(app, username):
    """A test client signed in as `username` (through the sign-in page), and its CSRF token."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = CSRF.search(client.get("/login").text).group(1)
    r = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert r.status_code == 302, f"{username} could not sign in"
    return client, CSRF.search(client.get("/").text).group(1)


def admin_post(app, actor, path, **data):
    client, csrf = browser(app, actor)
    return client.post(f"/admin{path}", data={"csrf_token": csrf, **data})


def user_exists(app, username) -> bool:
    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.username == username)) is not None
        db.session.remove()
    return found


def link_tokens(app, user_id) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(UserToken).where(UserToken.user_id == user_id))
        db.session.remove()
    return int(count or 0)


def test_an_operator_grants_only_below_their_rank(app, people):
    for n, (org, role) in enumerate((("PLATFORM", "platform_admin"), ("PLATFORM", "operator"),
                                     ("PLATFORM", "analyst"), ("PLATFORM", "auditor"))):
        r = admin_post(app, "op", "/users", username=f"sneaky{n}", org=org, role=role)
        assert r.status_code == 403 and "only a platform admin grants platform roles" in r.text, role
        assert not user_exists(app, f"sneaky{n}")
    ok = admin_post(app, "op", "/users", username="rev9", org="BANK1", role="first_reviewer")
    assert ok.status_code == 200 and "/invite/" in ok.text
    lead = admin_post(app, "op", "/users", username="lead9", org="BANK1", role="team_lead")
    assert lead.status_code == 200
    client, _csrf = browser(app, "op")
    form = client.get("/admin/").text
    assert 'value="first_reviewer"' in form and 'value="platform_admin"' not in form
    assert 'value="operator"' not in form
    with app.app_context():
        with pytest.raises(Forbidden) as refused:
            identity.create_user("sneaky", "PLATFORM", ["platform_admin"], actor=identity.principal_for("op"))
        assert refused.value.code == "grant_refused" and "role" in refused.value.fields
        db.session.remove()


def test_an_operator_registers_no_platform_organisation(app, people):
    r = admin_post(app, "op", "/orgs", code="SHADOW", name="Shadow platform", kind="platform")
    assert r.status_code == 403
    assert admin_post(app, "admin", "/orgs", code="SHADOW", name="Shadow platform", kind="platform").status_code == 200


@pytest.mark.parametrize(("org", "role"), [("BANK1", "platform_admin"), ("BANK1", "operator"), ("BANK1", "applicant"),
                                           ("TRADER", "first_reviewer"), ("PLATFORM", "team_lead"),
                                           ("PLATFORM", "core_signer"), ("TRADER", "warehouse_supervisor")])
def test_roles_belong_only_in_organisations_of_their_kind(app, people, org, role):
    page = admin_post(app, "admin", "/users", username="misfit", org=org, role=role)
    named = identity_grants.ROLE_NAMES[role]  # the role by its name, as the form offers it (it said the code)
    assert page.status_code == 422 and f"Roles: {named} is held only in an organisation of kind" in page.text
    with app.app_context():
        with pytest.raises(Invalid) as misfit:  # the CLI's and the seed's path
            identity.create_user("misfit", org, [role])
        assert misfit.value.kind is ErrorKind.INVALID and list(misfit.value.fields) == ["role"]
        db.session.remove()
    assert not user_exists(app, "misfit")


@pytest.mark.parametrize(("org", "role"), [("PLATFORM", "collections_agent"), ("BANK1", "team_lead"),
                                           ("TRADER", "team_lead"), ("PLATFORM", "auditor")])
def test_roles_are_granted_where_they_belong(app, people, org, role):
    assert admin_post(app, "admin", "/users", username="fits", org=org, role=role).status_code == 200


def test_nobody_issues_a_link_that_sets_an_active_admins_password(app, people):
    """The finding: an operator's POST /admin/users/1/invite gave a link that set a new admin password."""
    admin_id = people["ids"]["admin"]
    r = admin_post(app, "op", f"/users/{admin_id}/invite")
    assert r.status_code == 403 and "ranks as high as you or higher" in r.text
    # not even a platform admin re-invites someone who has set a password: a reset is for that
    refused = admin_post(app, "admin2", f"/users/{admin_id}/invite")
    assert refused.status_code == 409 and "has set a password already" in refused.text
    assert admin_post(app, "admin", f"/users/{people['ids']['rev1']}/invite").status_code == 409
    assert link_tokens(app, admin_id) == 1  # the invitation the fixture used, nothing since
    with app.app_context():  # an admin who has not set a password yet: outranks an operator all the same
        identity.create_user("admin3", "PLATFORM", ["platform_admin"])
        admin3 = identity.principal_for("admin3").id
        db.session.remove()
    assert admin_post(app, "op", f"/users/{admin3}/invite").status_code == 403
    assert admin_post(app, "op2", f"/users/{people['ids']['op']}/invite").status_code == 403
    assert link_tokens(app, admin3) == 0
    assert admin_post(app, "admin", f"/users/{admin3}/invite").status_code == 200
    assert browser(app, "admin")  # the admin's password still works


def test_reset_links_only_from_a_platform_admin_and_never_for_an_active_admin(app, people):
    ids = people["ids"]
    assert admin_post(app, "op", f"/users/{ids['rev1']}/reset").status_code == 403
    ok = admin_post(app, "admin", f"/users/{ids['rev1']}/reset")
    assert ok.status_code == 200
    link = re.search(r'<code id="admin-link">[^<]*/reset/([\w-]+)</code>', ok.text).group(1)
    assert app.test_client().get(f"/reset/{link}").status_code == 200
    assert admin_post(app, "admin", f"/users/{ids['op']}/reset").status_code == 200  # below a platform admin
    refused = admin_post(app, "admin", f"/users/{ids['admin2']}/reset")
    assert refused.status_code == 403 and "gets no reset link: deactivate the account first" in refused.text
    # deactivated first (on the record), an admin account can be given a new password
    assert admin_post(app, "admin", f"/users/{ids['admin2']}/deactivate").status_code == 200
    assert admin_post(app, "admin", f"/users/{ids['admin2']}/reset").status_code == 200
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == ids["admin"])
                                     .order_by(AuditEntry.id)).all()
        db.session.remove()
    assert [a for a in actions if a in ("reset_issued", "user_deactivated")] == [
        "reset_issued", "reset_issued", "user_deactivated", "reset_issued"]


def test_deactivation_on_the_admin_page_ends_sessions_and_stops_tokens(app, client, people):
    ids, tokens = people["ids"], people["tokens"]
    reviewer, _csrf = browser(app, "rev1")
    assert reviewer.get("/").status_code == 200
    assert client.get(f"{API}/me/tasks", headers=tokens["rev1"]).status_code == 200
    assert admin_post(app, "op", f"/users/{ids['rev1']}/deactivate").status_code == 200
    assert reviewer.get("/").status_code == 302  # signed out: to the sign-in page
    with app.app_context():
        ended = db.session.scalars(select(UserSession.ended_reason).where(UserSession.user_id == ids["rev1"])).all()
        db.session.remove()
    assert ended == ["deactivated"]
    stopped = client.get(f"{API}/me/tasks", headers=tokens["rev1"])
    assert stopped.status_code == 401 and stopped.json["error"]["code"] == "account_inactive"
    page = CSRF.search(client.get("/login").text).group(1)
    assert client.post("/login", data={"csrf_token": page, "username": "rev1", "password": PASSWORD}).status_code == 401
    # nobody acts on someone of their own rank or above, nor on themselves
    assert admin_post(app, "op", f"/users/{ids['admin']}/deactivate").status_code == 403
    assert admin_post(app, "op", f"/users/{ids['op2']}/deactivate").status_code == 403
    assert admin_post(app, "op", f"/users/{ids['op']}/deactivate").status_code == 403
    assert admin_post(app, "admin", f"/users/{ids['admin']}/deactivate").status_code == 403
    assert client.get(f"{API}/me/tasks", headers=tokens["admin"]).status_code == 200
    assert admin_post(app, "op", f"/users/{ids['rev1']}/activate").status_code == 200
    assert client.get(f"{API}/me/tasks", headers=tokens["rev1"]).status_code == 200
    with app.app_context():
        rows = db.session.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.target).where(
            AuditEntry.action.in_(("user_deactivated", "user_activated"))).order_by(AuditEntry.id)).all()
        db.session.remove()
    target = f"user:{ids['rev1']}"
    assert [tuple(r) for r in rows] == [("user_deactivated", ids["op"], target), ("user_activated", ids["op"], target)]


def test_the_admin_page_offers_only_what_the_viewer_may_do(app, people):
    ids = people["ids"]
    client, _csrf = browser(app, "op")
    page = client.get("/admin/").text
    row = {uid: re.search(rf'<tr data-user-id="{uid}">(.*?)</tr>', page, re.S).group(1) for uid in ids.values()}
    assert f"/admin/users/{ids['rev1']}/deactivate" in row[ids["rev1"]]
    assert "/deactivate" not in row[ids["admin"]] and "/deactivate" not in row[ids["op"]]
    assert "/reset" not in row[ids["rev1"]] and "/invite" not in row[ids["rev1"]]
    assert "/revoke" in row[ids["rev1"]] and "/revoke" not in row[ids["admin"]]


def test_users_api_deactivates_and_reactivates(app, client, people):
    ids, tokens = people["ids"], people["tokens"]
    listed = client.get(f"{API}/users", query_string={"org": "BANK1"}, headers=tokens["op"]).json
    assert [u["username"] for u in listed["items"]] == ["rev1"] and listed["items"][0]["roles"] == ["first_reviewer"]
    r = client.post(f"{API}/users/{ids['rev1']}/deactivate", headers=tokens["op"])
    assert r.status_code == 200 and r.json["active"] is False and r.json["deactivated_at"]
    assert client.get(f"{API}/me/tasks", headers=tokens["rev1"]).status_code == 401
    r = client.post(f"{API}/users/{ids['rev1']}/activate", headers=tokens["admin"])
    assert r.status_code == 200 and r.json["active"] is True and r.json["deactivated_at"] is None
    assert client.get(f"{API}/me/tasks", headers=tokens["rev1"]).status_code == 200
    refused = client.post(f"{API}/users/{ids['admin']}/deactivate", headers=tokens["op"])
    assert refused.status_code == 403 and refused.json["error"]["code"] == "outranks_you"
    assert client.post(f"{API}/users/{ids['admin2']}/deactivate", headers=tokens["admin"]).status_code == 200
    # gated by role before any id is read: a reviewer gets 403 for every id, an admin 404 for none
    for path in (f"/users/{ids['op']}/deactivate", "/users/999999/deactivate"):
        assert client.post(f"{API}{path}", headers=tokens["rev1"]).status_code == 403
    assert client.post(f"{API}/users/999999/deactivate", headers=tokens["admin"]).status_code == 404
    huge = 2 ** 40  # beyond the 32-bit id columns: no row, never an overflow (a 500 on PostgreSQL)
    for method, path in (("POST", f"/users/{huge}/deactivate"), ("GET", f"/users/{huge}/tokens"),
                         ("DELETE", f"/users/{ids['rev1']}/tokens/{huge}"), ("DELETE", f"/me/tokens/{huge}")):
        assert client.open(f"{API}{path}", method=method, headers=tokens["admin"]).status_code == 404, path
    assert admin_post(app, "admin", f"/users/{huge}/invite").status_code == 404
    assert client.get(f"{API}/users", headers=tokens["app1"]).status_code == 403


def _ghost(app) -> dict[str, str]:
    """A user holding platform_admin in a funder, as rows made before the grant rules could hold them."""
    with app.app_context():
        bank = db.session.scalar(select(Organisation.id).where(Organisation.code == "BANK1"))
        ghost = User(username="ghost", org_id=bank)
        ghost.roles = [UserRole(role="platform_admin"), UserRole(role="operator")]
        db.session.add(ghost)
        db.session.commit()
        token = identity.issue_token("ghost")
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}


def test_a_platform_role_held_in_a_funder_grants_nothing(app, client, auth, deploy, people):
    deploy("review_with_form.bpmn")
    started = client.post(f"{API}/process-instances", headers=auth, json={
        "process_id": "review_with_form", "business_key": "K-BANK2", "parties": {"funder": "BANK2", "borrower": "TRADER"}})
    instance_id = started.json["id"]
    ghost = _ghost(app)
    assert client.get(f"{API}/tasks", headers=ghost).json["total"] == 0
    assert client.get(f"{API}/me/tasks", query_string={"view": "group"}, headers=ghost).json["total"] == 0
    assert client.get(f"{API}/process-instances/{instance_id}", headers=ghost).status_code == 404
    task_id = client.get(f"{API}/tasks", headers=auth).json["items"][0]["id"]
    assert client.post(f"{API}/tasks/{task_id}/claim", headers=ghost).status_code == 404
    assert client.get(f"{API}/users", headers=ghost).status_code == 403
    assert client.post(f"{API}/process-instances", headers=ghost, json={"process_id": "review_with_form"}
                       ).status_code == 403
    with app.app_context():
        assert identity.principal_for("ghost").roles == frozenset()
        accounts.set_password_with_token(accounts.invite("ghost"), "invite", PASSWORD)
        db.session.remove()
    console, _csrf = browser(app, "ghost")
    assert console.get("/admin/").status_code == 403


def _offer(app, process_id: str | None, active: bool = True) -> None:
    with app.app_context():
        loans.create_product({**PRODUCT, "application_process": process_id})
        db.session.execute(Product.__table__.update().values(active=active))
        db.session.commit()
        db.session.remove()


def test_applicants_start_only_what_an_active_product_offers(app, client, deploy, people):
    deploy("review_with_form.bpmn", "twelve_steps.bpmn")
    applicant = people["tokens"]["app1"]

    def start(process_id: str, borrower: str = "TRADER"):
        return client.post(f"{API}/process-instances", headers=applicant,
                           json={"process_id": process_id, "parties": {"borrower": borrower}})

    nothing_offered = start("review_with_form")
    assert nothing_offered.status_code == 403 and nothing_offered.json["error"]["code"] == "not_offered"
    _offer(app, "review_with_form")
    assert start("review_with_form").status_code == 201
    other = start("twelve_steps")
    assert other.status_code == 403 and other.json["error"]["code"] == "not_offered"
    not_theirs = start("review_with_form", borrower="TRADER2")
    assert not_theirs.status_code == 403 and not_theirs.json["error"]["code"] == "not_own_borrower"
    reviewer = client.post(f"{API}/process-instances", headers=people["tokens"]["rev1"],
                           json={"process_id": "review_with_form", "parties": {"borrower": "TRADER"}})
    assert reviewer.status_code == 403
    with app.app_context():
        db.session.execute(Product.__table__.update().values(active=False))
        db.session.commit()
        db.session.remove()
    assert start("review_with_form").json["error"]["code"] == "not_offered"


@pytest.mark.parametrize("value", ["", "two words", "1starts_with_digit", 42, "x" * 256, "a\nb"])
def test_a_products_application_process_is_a_process_id(ctx, value):
    with pytest.raises(Invalid) as refused:
        loans.create_product({**PRODUCT, "application_process": value})
    assert list(refused.value.fields) == ["application_process"]
    assert loans.create_product({**PRODUCT, "application_process": "risk_approval"}).application_process == (
        "risk_approval")


def test_administration_refusals_reach_the_api_in_the_readers_language(app, client, people):
    ids, tokens = people["ids"], people["tokens"]
    for language, said in (("zh-CN", "用户 'admin' 的级别与您相同或更高：须由平台管理员处理"),
                           ("en", "user 'admin' ranks as high as you or higher: a platform admin acts on them")):
        r = client.post(f"{API}/users/{ids['admin']}/deactivate",
                        headers={**tokens["op"], "Accept-Language": language})
        assert r.status_code == 403 and r.json["error"] == {"code": "outranks_you", "message": said}
    missing = client.get(f"{API}/users/999999", headers={**tokens["op"], "Accept-Language": "zh-CN"})
    assert missing.status_code == 404 and missing.json["error"]["message"] == "没有此用户"
    revoked = client.delete(f"{API}/users/{ids['rev1']}/tokens/999999", headers={**tokens["op"], "Accept-Language": "zh-CN"})
    assert revoked.status_code == 404 and revoked.json["error"]["message"] == "没有此令牌"
    # the access policy's own refusal (no message given by the use case): its frame in Chinese
    denied = client.post(f"{API}/messages", json={"name": "m", "correlation_key": "k", "payload": {}},
                         headers={**tokens["rev1"], "Accept-Language": "zh-CN"})
    assert denied.status_code == 403
    assert denied.json["error"]["message"] == "需要以下角色：平台管理员或平台运营（平台）。"  # in words, no codes


def test_a_user_the_admin_page_cannot_create_says_every_wrong_field_at_once_in_the_readers_words(app, people):
    """An empty user name was never reported, an e-mail 'x' was taken, and the role's refusal listed role codes;
    each came one submission at a time."""
    client, csrf = browser(app, "admin")
    page = client.post("/admin/users", data={"csrf_token": csrf, "username": "", "org": "NOPE", "email": "x"},
                       headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 422
    errors = re.search(r'<[^>]*class="[^"]*error[^"]*"[^>]*>(.*?)</', page.text, re.S)
    said = errors.group(1) if errors else page.text
    for expected in ("用户名", "不含空格", "请至少选择一个角色", "请选择已登记的机构", "电子邮箱"):
        assert expected in page.text, expected
    assert "platform_admin" not in said and "role:" not in page.text and "unknown" not in page.text
    assert not user_exists(app, "")
    refused = admin_post(app, "admin", "/users", username="rev 2", org="BANK1", role="first_reviewer")
    assert refused.status_code == 422 and not user_exists(app, "rev 2")
    taken = admin_post(app, "admin", "/users", username="rev1", org="BANK1", role="first_reviewer")
    assert taken.status_code == 409  # a name taken, alone, is the conflict it was
    # a name taken, an e-mail that is none and a platform role in a bank: the role's refusal came after the others
    three = admin_post(app, "admin", "/users", username="rev1", org="BANK1", role="platform_admin", email="not-an-email")
    assert three.status_code == 422 and not user_exists(app, "not-an-email")
    for said in ("This user name is taken.", "e-mail", "Platform administrator is held only in an organisation of kind"):
        assert said in three.text, said


def test_the_admin_page_says_links_and_tokens_times_in_the_business_time_zone(app, client, people):
    """An invitation's expiry and a token's last use read as every other page's times (they said UTC)."""
    assert admin_post(app, "admin", "/users", username="rev9", org="BANK1", role="first_reviewer").status_code == 200
    assert client.get(f"{API}/me/tasks", headers=people["tokens"]["rev1"]).status_code == 200
    with app.app_context():
        rev9 = db.session.scalar(select(User).where(User.username == "rev9"))
        expires = db.session.scalar(select(UserToken.expires_at).where(UserToken.user_id == rev9.id))
        db.session.remove()
    zone = ZoneInfo(app.config["LOANFLOW_TIMEZONE"])
    local = expires.replace(tzinfo=UTC).astimezone(zone)
    page, _csrf = browser(app, "admin")
    listing = page.get("/admin/").text
    pending = re.search(r'<div class="pending-link">(.*?)</div>', listing, re.S).group(1)
    assert "UTC" not in pending and local.strftime("%Y-%m-%d %H:%M") in pending
    token_row = re.search(rf'<tr data-user-id="{people["ids"]["rev1"]}">(.*?)</tr>', listing, re.S).group(1)
    assert "never" not in token_row and re.search(r"last used \d{4}-\d\d-\d\d \d\d:\d\d", token_row)


def test_the_admin_page_registers_a_users_mobile_number_for_their_sms(app, people):
    """Invitations and notices reach a Chinese borrower by SMS: the page that registers a user takes the mobile
    number the service keeps, and says in the reader's language when it is not one."""
    client, csrf = browser(app, "op")
    wrong = client.post("/admin/users", data={"csrf_token": csrf, "username": "app2", "org": "TRADER",
                                              "role": "applicant", "mobile": "12345"},
                        headers={"Accept-Language": "zh-CN"})
    assert wrong.status_code == 422 and "手机号" in wrong.text and not user_exists(app, "app2")
    made = admin_post(app, "op", "/users", username="app2", org="TRADER", role="applicant", mobile="13912345678")
    assert made.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User.mobile).where(User.username == "app2")) == "13912345678"
        db.session.remove()


def test_a_user_name_differing_only_in_letter_case_is_taken(app, people):
    """`Rev1` was created beside `rev1`: two people the audit log, the sign-in lock (which counts names in lower case)
    and every reader take for one."""
    taken = admin_post(app, "admin", "/users", username="REV1", org="BANK1", role="first_reviewer")
    assert taken.status_code == 409 and not user_exists(app, "REV1")
    with_others = admin_post(app, "admin", "/users", username="Rev1", org="BANK1", role="first_reviewer", email="x")
    assert with_others.status_code == 422 and "This user name is taken." in with_others.text
    assert not user_exists(app, "Rev1")
