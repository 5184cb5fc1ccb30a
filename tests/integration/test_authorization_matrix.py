"""The authorization matrix: every route of the app × every kind of user × own / other organisation.

The cases are generated from the app's route table (`app.url_map`): every route must have a rule
in RULES or a reason in SKIPPED, so a route added later without a rule fails
`test_every_route_has_a_rule_or_a_reason_to_be_skipped`. Who may *do* a guarded action comes from
the access policy's table (`app.services.identity.policy.POLICY`: action → roles and the side they
act from), read here as data and evaluated by this module's own `policy_allows` over the world's
facts (who is in which organisation, which organisations each deal binds), never by calling the
policy's or the access module's functions: if the checking code is wrong, these tests fail. Who
may *see* what (404 for another organisation's objects) is written here, from the rules in
`../shared/DESIGN.md` ("Who uses it", "Clarifications" → API and Identity) and issue 4.

The rules, as this table reads them:
- Not signed in: the API answers 401; an HTML page sends the browser to /login.
- A process instance is bound to the organisations of its deal. A user sees it (its detail, history,
  documents and incidents) when their organisation is bound to it in the org kind of one of their
  roles (a funder's reviewers and finance for its `funder`, a borrower's applicants for its
  `borrower`, ...); a `team_lead` sees every deal their organisation is a party to. Platform roles
  in a platform organisation see everything, read-only. Anyone else gets 404 — for another
  organisation's ids always 404, never 403 or 200.
- A user task is offered (claim, unclaim, complete) to users who hold its lane's role in the
  organisation bound to that role's org kind; a task without a lane to the instance's starter and
  the platform's operators; only `platform_admin` acts across organisations. Platform roles see
  every task, so what they may not do answers 403; other users get 404 for tasks not offered to
  them, even in a deal their organisation is a party to (another lane's task is not theirs to see).
- Seeing but not being allowed to do: 403 (a platform auditor completing a task, a funder's
  reviewer cancelling their own deal). A route guarded by an action of the policy answers 2xx to
  those its table allows, 403 to everyone else who sees the object: a platform grant for the role
  held in a platform organisation; a party grant for the role held in the organisation the deal
  binds as that party (with no object, the user's own organisation: a funder's trial balance); an
  own-organisation grant for the role held in the organisation the object belongs to (a task: the
  organisation its lane's party is bound to).
- A booked loan is bound to its borrower and its funder (DESIGN.md "Who uses it"): the borrower's
  applicants and the funder's staff (reviewers, finance) see it, a team lead every loan of their
  organisation, platform staff every loan; anyone else gets 404 (core enterprises and warehouses
  included). The borrower's applicants record an offline repayment, the funder's finance confirms
  or rejects it, the platform admin does both anywhere; others who see the loan get 403. The trial
  balance is for platform staff and funders' finance (their own loans), 403 for everyone else.
- Administration (/admin and /api/v1/users) is gated by role before any id is read: everyone but
  `platform_admin` and `operator` in a platform organisation gets 403 for every id in it, so the
  answer never depends on the id (user ids are not deal objects). Among administrators, issue 10's
  grant rules: the users acted on here are parties' users, below an operator's rank; a password
  reset link for someone else is a platform admin's alone (tests/integration/test_grants.py has
  the ranks, roles per organisation kind and links in detail).
- Everyone signed in lists, makes and revokes their own API tokens (/api/v1/me/tokens); another
  user's token id there is 404 for everyone, platform admins included (they use /users/{id}/tokens).
- An applicant starts only the process an active product offers (`authz_small`, here).

Objects: two deals of the same process, AUTHZ-1 bound to BANK1 / BORR1 / CORE1 / WH1 (the
organisations of the signed-in users) and AUTHZ-2 bound to BANK2 / BORR2 / CORE2 / WH2, each with
a booked loan (borrower BORRn, funder BANKn) and a pending offline payment on it. The
process forks into one user task per lane (first_reviewer, second_reviewer, finance, applicant,
core_signer, warehouse_supervisor, operator) and one task without a lane. Task scopes: `own` (the
task in the user's lane of AUTHZ-1), `sibling` (another lane of the same deal), `unlaned`, `other`
(the user's lane in AUTHZ-2). An allowed action that changes something runs on fresh objects; a
refused one runs on the shared deal and must change nothing.

HTML pages are driven through a real sign-in (POST /login with the page's CSRF token); the API
with bearer tokens. The world is built once per module and backend.
"""
from __future__ import annotations

import io
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app.engine.parser import DiagramFile
from app.extensions import db
from app.models import (
    ApiToken,
    Application,
    ApplicationDocument,
    HumanTask,
    Incident,
    InstanceParty,
    Payment,
    ProcessInstance,
    Product,
    User,
    UserRole,
    UserToken,
)
from app.models.identity import Organisation
from app.services.identity import accounts, user_admin
from app.services.identity import directory as identity
from app.services.identity.policy import POLICY, Side
from app.services.ledger import loans, repayments
from app.services.origination import applications, products
from app.services.workflow import instances, tasks
from app.services.workflow.deployment import deploy_and_commit
from app.services.workflow.documents import store_document
from handlers.identifiers import make_credit_code, make_id_number
from tests.conftest import FakeClock, _empty_tables, operators_registered

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LOAN_DISBURSED = date(2026, 11, 1)
LOAN_PRODUCT = {"code": "AUTHZ", "name": "Matrix loan", "annual_rate": "12", "min_amount": "100",
                "max_amount": "100000", "min_term": 1, "max_term": 36, "application_process": "authz_small"}
ORDER_PRODUCT = {"code": "AUTHZ-ORDER", "name": "Matrix orders", "kind": "order_financing", "annual_rate": "12",
                 "min_amount": "1000", "max_amount": "100000", "min_term": 1, "max_term": 12, "advance_ratio": "0.80"}
PASSWORD = "Matrix-Passw0rd-2026"
ANONYMOUS = "anonymous"

# --------------------------------------------------------------------------------------------
# Who is who: the users of the matrix, named by what they are (org code, roles held).
# --------------------------------------------------------------------------------------------
ACTORS: dict[str, tuple[str, list[str]]] = {
    "platform_admin": ("PLATFORM", ["platform_admin"]),
    "operator": ("PLATFORM", ["operator"]),
    "analyst": ("PLATFORM", ["analyst"]),
    "auditor": ("PLATFORM", ["auditor"]),
    "first_reviewer": ("BANK1", ["first_reviewer"]),
    "second_reviewer": ("BANK1", ["second_reviewer"]),
    "finance": ("BANK1", ["finance"]),
    "team_lead": ("BANK1", ["team_lead"]),
    "applicant": ("BORR1", ["applicant"]),
    "core_signer": ("CORE1", ["core_signer"]),
    "warehouse_supervisor": ("WH1", ["warehouse_supervisor"]),
    # A user of a funder whose only role belongs to another org kind: matches nothing.
    "no_relevant_role": ("BANK1", ["applicant"]),
    # A platform role held outside a platform organisation grants no platform powers.
    "operator_outside_platform": ("BANK1", ["operator"]),
}
# Neither of those two can be created any more (issue 10: a role only in an organisation of its
# kind); they are rows as they were made before, which must give no power.
LEGACY_ACTORS = frozenset({"no_relevant_role", "operator_outside_platform"})
ALL_ACTORS = [*ACTORS, ANONYMOUS]

ORGS = {"PLATFORM": ["platform"], "BANK1": ["funder"], "BANK2": ["funder"], "BORR1": ["borrower"],
        "BORR2": ["borrower"], "CORE1": ["core_enterprise"], "CORE2": ["core_enterprise"],
        "WH1": ["warehouse"], "WH2": ["warehouse"]}
PARTIES = {1: {"funder": "BANK1", "borrower": "BORR1", "core_enterprise": "CORE1", "warehouse": "WH1"},
           2: {"funder": "BANK2", "borrower": "BORR2", "core_enterprise": "CORE2", "warehouse": "WH2"}}
LANES = ["first_reviewer", "second_reviewer", "finance", "applicant", "core_signer", "warehouse_supervisor",
         "operator", None]
PARTY_LANES = [lane for lane in LANES if lane and lane != "operator"]

# --------------------------------------------------------------------------------------------
# The expectation table.
# --------------------------------------------------------------------------------------------
TASK_SCOPES = ("own", "sibling", "unlaned", "other")
DEAL_SCOPES = ("own", "other")

# Which lane's task `own` and `sibling` mean for each user (`other`: the `own` lane in AUTHZ-2).
TASK_TARGET = {
    "platform_admin": ("first_reviewer", "applicant"),
    "operator": ("operator", "first_reviewer"),
    "analyst": ("first_reviewer", "applicant"),
    "auditor": ("first_reviewer", "applicant"),
    "first_reviewer": ("first_reviewer", "second_reviewer"),
    "second_reviewer": ("second_reviewer", "first_reviewer"),
    "finance": ("finance", "first_reviewer"),
    "team_lead": ("first_reviewer", "applicant"),
    "applicant": ("applicant", "core_signer"),
    "core_signer": ("core_signer", "warehouse_supervisor"),
    "warehouse_supervisor": ("warehouse_supervisor", "applicant"),
    "no_relevant_role": ("first_reviewer", "applicant"),
    "operator_outside_platform": ("operator", "first_reviewer"),
    ANONYMOUS: ("first_reviewer", "applicant"),
}

ACT, SEE, HIDDEN = "act", "see", "hidden"
_PARTY_TASKS = {"own": ACT, "sibling": HIDDEN, "unlaned": HIDDEN, "other": HIDDEN}
_NO_TASKS = dict.fromkeys(TASK_SCOPES, HIDDEN)
_READ_ONLY_TASKS = dict.fromkeys(TASK_SCOPES, SEE)

TASK_ACCESS: dict[str, dict[str, str]] = {
    "platform_admin": dict.fromkeys(TASK_SCOPES, ACT),  # acts across organisations
    # its own lane anywhere and tasks without a lane; another party's lane only read-only
    "operator": {"own": ACT, "sibling": SEE, "unlaned": ACT, "other": ACT},
    "analyst": _READ_ONLY_TASKS,
    "auditor": _READ_ONLY_TASKS,
    "first_reviewer": _PARTY_TASKS,
    "second_reviewer": _PARTY_TASKS,
    "finance": _PARTY_TASKS,
    # sees its organisation's tasks (to assign them), works none; the borrower's lane is not its org's
    "team_lead": {"own": SEE, "sibling": HIDDEN, "unlaned": HIDDEN, "other": HIDDEN},
    "applicant": _PARTY_TASKS,
    "core_signer": _PARTY_TASKS,
    "warehouse_supervisor": _PARTY_TASKS,
    "no_relevant_role": _NO_TASKS,
    "operator_outside_platform": _NO_TASKS,
}

_PLATFORM_DEALS = {"own": SEE, "other": SEE}
_PARTY_DEALS = {"own": SEE, "other": HIDDEN}
_NO_DEALS = {"own": HIDDEN, "other": HIDDEN}
# Instances, and what hangs off them: history, documents, incidents.
INSTANCE_ACCESS: dict[str, dict[str, str]] = {
    "platform_admin": _PLATFORM_DEALS, "operator": _PLATFORM_DEALS,
    "analyst": _PLATFORM_DEALS, "auditor": _PLATFORM_DEALS,
    "first_reviewer": _PARTY_DEALS, "second_reviewer": _PARTY_DEALS, "finance": _PARTY_DEALS,
    "team_lead": _PARTY_DEALS, "applicant": _PARTY_DEALS, "core_signer": _PARTY_DEALS,
    "warehouse_supervisor": _PARTY_DEALS,
    "no_relevant_role": _NO_DEALS, "operator_outside_platform": _NO_DEALS,
}

# Applications once submitted (a draft is its borrower's alone: tests/integration/test_applications_api.py):
# as their deal's instance, but an order deal binds no warehouse.
APPLICATION_ACCESS: dict[str, dict[str, str]] = {**INSTANCE_ACCESS, "warehouse_supervisor": _NO_DEALS}

_LOAN_PARTY = {"own": SEE, "other": HIDDEN}
# Loans, and what hangs off them: schedule versions, payments, pay-off quotes.
LOAN_ACCESS: dict[str, dict[str, str]] = {
    "platform_admin": _PLATFORM_DEALS, "operator": _PLATFORM_DEALS,
    "analyst": _PLATFORM_DEALS, "auditor": _PLATFORM_DEALS,
    "first_reviewer": _LOAN_PARTY, "second_reviewer": _LOAN_PARTY, "finance": _LOAN_PARTY,
    "team_lead": _LOAN_PARTY, "applicant": _LOAN_PARTY,
    "core_signer": _NO_DEALS, "warehouse_supervisor": _NO_DEALS,  # the loan binds borrower and funder only
    "no_relevant_role": _NO_DEALS, "operator_outside_platform": _NO_DEALS,
}

EVERYONE = "everyone"  # any signed-in user who sees the object
TASK_WORKERS = "task_workers"  # whoever the task is offered to (TASK_ACCESS == act)
PLATFORM_STAFF = frozenset({"platform_admin", "operator", "analyst", "auditor"})  # see every deal (platform org)


@dataclass(frozen=True)
class Rule:
    """obj: what the route's id (or body) refers to — None, instance, task, document, incident,
    loan, payment (of a loan), user or token (administration: a party user's, or their API token),
    my_token (the caller's own token; `other`: someone else's) or parties (the deal a new instance is
    bound to);
    who: EVERYONE, TASK_WORKERS, or a set of users (a rule the action table does not hold);
    lists: for list routes, which objects must appear — those the user sees, or those offered;
    action: the access policy's action guarding the route: only those its table allows may."""

    obj: str | None
    who: Any = EVERYONE
    lists: str | None = None
    action: str | None = None


def guarded(obj: str | None, action: str) -> Rule:
    return Rule(obj, action=action)


RULES: dict[tuple[str, str], Rule] = {
    # HTML
    ("inbox.index", "GET"): Rule("task", EVERYONE, lists="offered"),  # group view
    ("inbox.task_page", "GET"): Rule("task", EVERYONE),
    ("inbox.task_page", "POST"): Rule("task", TASK_WORKERS),
    ("inbox.claim", "POST"): Rule("task", TASK_WORKERS),
    ("inbox.unclaim", "POST"): Rule("task", TASK_WORKERS),
    ("inbox.assign", "POST"): guarded("task", "tasks.assign"),
    ("inbox.remind", "POST"): guarded("task", "tasks.remind"),
    ("inbox.document", "GET"): Rule("document", EVERYONE),
    ("admin.index", "GET"): guarded(None, "users.administer"),
    ("admin.create_org", "POST"): guarded(None, "users.administer"),
    ("admin.set_credit_code", "POST"): guarded("org", "users.administer"),
    ("admin.create_user", "POST"): guarded(None, "users.administer"),
    ("admin.reinvite", "POST"): guarded("user", "users.administer"),
    ("admin.reset_link", "POST"): Rule("user", {"platform_admin"}, action="users.administer"),  # grants.py: ranks
    ("admin.deactivate", "POST"): guarded("user", "users.administer"),
    ("admin.activate", "POST"): guarded("user", "users.administer"),
    ("admin.unlock", "POST"): guarded("user", "users.administer"),
    ("admin.revoke_token", "POST"): guarded("token", "users.administer"),
    # API
    ("process_definitions.list_definitions", "GET"): guarded(None, "definitions.read"),
    ("process_definitions.upload_definition", "POST"): guarded(None, "definitions.deploy"),
    ("process_instances.start", "POST"): guarded("parties", "instances.start"),  # authz_small is offered
    ("process_instances.list_instances", "GET"): Rule("instance", EVERYONE, lists="visible"),
    ("process_instances.get_instance", "GET"): Rule("instance", EVERYONE),
    ("process_instances.events", "GET"): Rule("instance", EVERYONE),
    ("process_instances.cancel", "POST"): guarded("instance", "instances.cancel"),
    ("process_instances.set_parties", "PUT"): guarded("instance", "instances.set_parties"),
    ("process_instances.list_documents", "GET"): Rule("instance", EVERYONE),
    ("process_instances.document_content", "GET"): Rule("document", EVERYONE),
    ("tasks.list_tasks", "GET"): Rule("task", EVERYONE, lists="visible"),
    ("tasks.get_task", "GET"): Rule("task", EVERYONE),
    ("tasks.claim", "POST"): Rule("task", TASK_WORKERS),
    ("tasks.unclaim", "POST"): Rule("task", TASK_WORKERS),
    ("tasks.complete", "POST"): Rule("task", TASK_WORKERS),
    ("tasks.assign", "POST"): guarded("task", "tasks.assign"),
    ("tasks.remind", "POST"): guarded("task", "tasks.remind"),
    ("me.my_tasks", "GET"): Rule("task", EVERYONE, lists="offered"),  # group view
    ("me.my_tokens", "GET"): Rule(None, EVERYONE),
    ("me.create_token", "POST"): Rule(None, EVERYONE),
    ("me.revoke_token", "DELETE"): Rule("my_token", EVERYONE),
    ("users.list_users", "GET"): guarded(None, "users.administer"),
    ("users.get_user", "GET"): guarded("user", "users.administer"),
    ("users.deactivate", "POST"): guarded("user", "users.administer"),
    ("users.activate", "POST"): guarded("user", "users.administer"),
    ("users.list_tokens", "GET"): guarded("user", "users.administer"),
    ("users.revoke_token", "DELETE"): guarded("token", "users.administer"),
    ("events.post_message", "POST"): guarded(None, "messages.deliver"),
    ("events.send_signal", "POST"): guarded(None, "signals.send"),
    ("events.list_incidents", "GET"): guarded(None, "incidents.read"),
    ("events.get_incident", "GET"): guarded("incident", "incidents.read"),
    ("events.retry", "POST"): guarded("incident", "incidents.retry"),
    ("loans.list_loans", "GET"): Rule("loan", EVERYONE, lists="visible"),
    ("loans.get_loan", "GET"): Rule("loan", EVERYONE),
    ("loans.schedule_versions", "GET"): Rule("loan", EVERYONE),
    ("loans.list_payments", "GET"): Rule("loan", EVERYONE),
    ("loans.payoff_quote", "GET"): Rule("loan", EVERYONE),
    ("loans.early_repayment_quote", "GET"): Rule("loan", EVERYONE),
    ("loans.online_repayments_of", "GET"): Rule("loan", EVERYONE),
    ("loans.pay_online", "POST"): guarded("loan", "repayments.online"),
    ("loans.record_payment", "POST"): guarded("loan", "payments.record"),
    ("loans.confirm_payment", "POST"): guarded("payment", "payments.confirm"),
    ("loans.reject_payment", "POST"): guarded("payment", "payments.confirm"),
    ("loans.trial_balance", "GET"): guarded(None, "ledger.trial_balance"),
    # acquisition: the leads are the platform's admins' and operators' (a channel's key: test_acquisition.py)
    ("leads.list_leads", "GET"): guarded(None, "leads.manage"),
    ("lead_pages.index", "GET"): guarded(None, "leads.manage"),
    # in-app notices: one's own (another's notice id is 404: tests/integration/test_notices.py)
    ("notice_pages.index", "GET"): Rule(None, EVERYONE),
    ("notice_pages.mark_all_read", "POST"): Rule(None, EVERYONE),
    ("notices.list_notices", "GET"): Rule(None, EVERYONE),
    # the simulators' pages: platform staff; the blacklist platform admins and operators
    ("simulators.index", "GET"): guarded(None, "risk.simulate"),
    ("simulators.risk_page", "GET"): guarded(None, "risk.simulate"),
    ("simulators.risk_try", "POST"): guarded(None, "risk.simulate"),
    ("simulators.add_to_blacklist", "POST"): guarded(None, "risk.blacklist"),
    ("simulators.notify_page", "GET"): guarded(None, "notices.outbox"),
    ("simulators.payments_page", "GET"): guarded(None, "payments.simulate"),
    ("simulators.payments_inject", "POST"): guarded(None, "payments.simulate"),
    # origination: applications are their deal's parties' (moved by the borrower's applicant); products
    # are read by everyone signed in and written by the platform's admins and operators
    ("applications.create", "POST"): guarded(None, "applications.draft"),
    ("applications.list_applications", "GET"): Rule("application", EVERYONE, lists="visible"),
    ("applications.get_application", "GET"): Rule("application", EVERYONE),
    ("applications.update", "PATCH"): guarded("application", "applications.draft"),
    ("applications.delete", "DELETE"): guarded("application", "applications.draft"),
    ("applications.submit", "POST"): guarded("application", "applications.draft"),
    ("applications.withdraw", "POST"): guarded("application", "applications.draft"),
    ("applications.add_document", "POST"): guarded("application", "applications.draft"),
    ("applications.download_document", "GET"): Rule("application_document", EVERYONE),
    ("products.list_products", "GET"): Rule(None, EVERYONE),
    ("products.get_product", "GET"): Rule("product", EVERYONE),
    ("products.create_product", "POST"): guarded(None, "products.administer"),
    ("products.update_product", "PATCH"): guarded("product", "products.administer"),
    # the same over the pages: lists of the deals one sees; drafting pages are the borrower's applicant's
    # (403 to everyone else, as the form is), a deal's page and documents its parties'
    ("application_pages.index", "GET"): Rule("application", EVERYONE, lists="visible"),
    ("application_pages.deals", "GET"): Rule("application", EVERYONE, lists="visible"),
    ("application_pages.show", "GET"): Rule("application", EVERYONE),
    ("loan_pages.index", "GET"): Rule("loan", EVERYONE, lists="visible"),
    ("loan_pages.show", "GET"): Rule("loan", EVERYONE),
    ("loan_pages.pay_online", "POST"): guarded("loan", "repayments.online"),
    ("application_pages.document", "GET"): Rule("application_document", EVERYONE),
    ("application_pages.remove_document", "POST"): guarded("application_document", "applications.draft"),
    ("application_pages.new", "GET"): guarded(None, "applications.draft"),  # a product's form
    ("application_pages.new", "POST"): guarded(None, "applications.draft"),
    ("application_pages.edit", "GET"): guarded("application", "applications.draft"),
    ("application_pages.edit", "POST"): guarded("application", "applications.draft"),
    ("application_pages.upload", "POST"): guarded("application", "applications.draft"),
    ("application_pages.submit", "POST"): guarded("application", "applications.draft"),
    ("application_pages.withdraw", "GET"): guarded("application", "applications.draft"),  # the confirmation
    ("application_pages.withdraw", "POST"): guarded("application", "applications.draft"),
    ("application_pages.delete", "GET"): guarded("application", "applications.draft"),  # the confirmation
    ("application_pages.delete", "POST"): guarded("application", "applications.draft"),
    ("product_pages.index", "GET"): guarded(None, "products.read"),  # read by the platform staff, changed by its actors
    ("product_pages.new", "GET"): guarded(None, "products.administer"),
    ("product_pages.new", "POST"): guarded(None, "products.administer"),
    ("product_pages.edit", "GET"): guarded("product", "products.administer"),
    ("product_pages.edit", "POST"): guarded("product", "products.administer"),
    # collateral: prices are the platform's admins' and operators' (API and page); pledges are read by
    # platform staff, borrowers' applicants and funders' finance (which ones: test_pledge_prices.py)
    ("collateral.record_prices", "POST"): guarded(None, "collateral.prices"),
    ("collateral.list_pledges", "GET"): guarded(None, "collateral.read"),
    ("collateral_pages.index", "GET"): guarded(None, "collateral.read"),  # the upload on it: collateral.prices
    ("collateral_pages.upload", "POST"): guarded(None, "collateral.prices"),
    # the process catalogue: the platform's staff, as the definitions API
    ("catalogue_pages.index", "GET"): guarded(None, "definitions.read"),
    # instance search: the platform's staff; an instance's page and diagram: whoever sees the instance
    ("instance_pages.index", "GET"): guarded(None, "instances.inspect"),
    ("instance_pages.show", "GET"): Rule("instance", EVERYONE),
    ("instance_pages.diagram", "GET"): Rule("instance", EVERYONE),
    # the modeler: those who may deploy (the new process's form; the routes with an id are skipped below)
    ("modeler_pages.new", "GET"): guarded(None, "definitions.deploy"),
    # the forms that run: the platform's staff, as the catalogue (editing them: definitions.deploy)
    ("form_editor.index", "GET"): guarded(None, "definitions.read"),
    # repair: an instance's repair page is the platform's staff's (its actions: test_instance_migration.py)
    ("repair_pages.show", "GET"): guarded("instance", "incidents.read"),
    ("migrations.preview", "POST"): guarded("instance", "instances.migrate"),  # to its own version: a 200 that says so
    # insight: the tasks' waiting times are the platform's staff's; the portfolio dashboard also a
    # funder's own staff's (their own organisation's loans: test_insight.py)
    ("insight_pages.tasks", "GET"): guarded(None, "insight.read"),
    # the audit log: the platform admin and the auditor read it (test_audit_page.py)
    ("audit_pages.index", "GET"): guarded(None, "audit.read"),
    ("insight_pages.dashboard", "GET"): guarded(None, "portfolio.read"),
    # the operator mapping table (issue 17): the platform admin's; read also by the analyst and the auditor
    ("operator_mapping_pages.index", "GET"): guarded(None, "mappings.read"),
    ("operator_mappings.list_mappings", "GET"): guarded(None, "mappings.read"),
    # the group mapping table (issue 17): the platform admin's; read also by the analyst and the auditor
    ("group_mapping_pages.index", "GET"): guarded(None, "mappings.read"),
    ("group_mappings.list_mappings", "GET"): guarded(None, "mappings.read"),
}
# Pages that need a draft (or a submitted application, to withdraw) for those who may use them, even to read.
DRAFT_PAGES = frozenset({"application_pages.edit", "application_pages.delete", "application_pages.withdraw"})
# Routes that make a new row: one more of it when allowed, none when refused.
CREATES = {"applications.create": Application, "application_pages.new": Application,
           "products.create_product": Product, "product_pages.new": Product}

# Routes outside the matrix, each with its reason.
SKIPPED: dict[str, str] = {
    "static": "static files: public by design",
    "api-docs.openapi_json": "the OpenAPI description: public by design",
    "health.healthz": "liveness probe: public by design",
    "auth.login": "the sign-in page itself (used by this test to sign in)",
    "auth.logout": "signing out: only ends the caller's own session",
    "auth.accept_invitation": "public page guarded by its single-use token (test_identity.py)",
    "auth.reset_password": "public page guarded by its single-use token (test_identity.py)",
    "auth.request_reset": "public page: answers the same whether the account exists or not",
    "operator_mapping_pages.add": "operator_mappings.manage; a mapping needs a registered operator "
                                  "(test_group_mappings.py: a platform operator gets 403 and adds nothing)",
    "operator_mapping_pages.remove": "a mapping's id, behind operator_mappings.manage (test_operator_mappings.py)",
    "operator_mappings.map_operator": "operator_mappings.manage; its body names a registered operator "
                                      "(test_group_mappings.py: a platform operator gets 403 and maps nothing)",
    "operator_mappings.remove_mapping": "a mapping's id, behind operator_mappings.manage (test_operator_mappings.py)",
    "group_mapping_pages.add": "group_mappings.manage; a mapping names a role "
                               "(test_group_mappings.py: a platform operator gets 403 and adds nothing)",
    "group_mapping_pages.remove": "a mapping's id, behind group_mappings.manage (test_group_mappings.py)",
    "group_mappings.map_group": "group_mappings.manage; its body names a role "
                                "(test_group_mappings.py: a platform operator gets 403 and maps nothing)",
    "group_mappings.remove_mapping": "a mapping's id, behind group_mappings.manage (test_group_mappings.py)",
    "auth.choose_language": "public: stores the interface language in the caller's own session",
    "leads.create_lead": "a channel's key, or leads.manage; a lead starts the acquisition diagram (test_acquisition.py)",
    "leads.get_lead": "a lead's id: a channel's own (another's is 404), or leads.manage (test_acquisition.py)",
    "lead_pages.new": "leads.manage, as the list; a lead starts the acquisition diagram (test_acquisition.py)",
    "lead_pages.show": "a lead's id, behind the same guard as the list (test_acquisition.py)",
    "notice_pages.mark_read": "one's own notice only, another's is 404 for everyone (test_notices.py)",
    "notices.mark_read": "one's own notice only, another's is 404 for everyone (test_notices.py)",
    "callbacks.esign": "a provider's callback: its signature, not a user (test_callbacks.py)",
    "callbacks.payments": "a provider's callback: its signature, not a user (test_callbacks.py)",
    "simulators.risk_assess": "a machine API of the risk simulator: its key, not a user (test_simulators.py)",
    "simulators.notify_messages": "a machine API of the notify simulator: its key, not a user (test_simulators.py)",
    "simulators.identity_verify": "a machine API of the identity simulator: its key (test_signing_stage.py)",
    "simulators.identity_verifications": "the identity simulator's API at the client's path: its key (test_signing_stage.py)",
    "simulators.identity_codes": "the identity simulator's code-sending API: its key (test_signing_stage.py)",
    "simulators.remove_from_blacklist": "an entry's id; the same action as adding one (test_simulators.py)",
    "simulators.payments_orders": "a machine API of the payment gateway simulator: its key (test_payments_simulator.py)",
    "simulators.payments_query": "a machine API of the payment gateway simulator: its key (test_payments_simulator.py)",
    "simulators.payments_close": "a machine API of the payment gateway simulator: its key (test_payments_simulator.py)",
    "simulators.payments_pay": "a collection order's payer (a user of its payer organisation) or the simulator's key; "
                               "others' orders are 404 (test_online_repayment.py)",
    "simulators.payments_pay_page": "a collection order's page for its payer only (test_online_repayment.py)",
    "simulators.payments_pay_submit": "the payer's page's form: the same rule as payments_pay (test_online_repayment.py)",
    "loans.attach_voucher": "a pending offline payment's voucher (multipart file): payments.record, others' loans 404, "
                            "decided payments 409 (test_offline_repayment.py)",
    "loans.download_voucher": "a payment's voucher, for whoever sees the loan; 404 without one (test_offline_repayment.py)",
    "loan_pages.pay_offline": "the loan page's transfer form (multipart, with the voucher): payments.record, "
                              "the same service as loans.record_payment (test_offline_repayment.py)",
    "loan_pages.decide": "the loan page's confirm / reject forms: payments.confirm, the same service as "
                         "loans.confirm_payment and loans.reject_payment (test_offline_repayment.py)",
    "loan_pages.voucher": "the voucher shown in the browser: the same rule as loans.download_voucher "
                          "(test_offline_repayment.py)",
    "loan_pages.monitor": "finance's monitoring page: platform staff and funders' finance, each their own loans, "
                          "403 for others (test_offline_repayment.py)",
    "simulators.esign_create_flow": "a machine API of the e-signature simulator: its key (test_esign_simulator.py)",
    "simulators.esign_document": "a machine API of the e-signature simulator: its key (test_esign_simulator.py)",
    "simulators.esign_flows": "a signer's own flows by token or session; others' are not listed (test_esign_simulator.py)",
    "simulators.esign_sign": "only the flow's next signer, as themselves, with the sandbox code (test_esign_simulator.py)",
    "simulators.esign_sign_page": "a signer's page of a flow: only its signers (test_esign_simulator.py)",
    "simulators.esign_sign_submit": "the signing page's form: the same rule as esign_sign (test_esign_simulator.py)",
    "simulators.esign_download": "the flow's current PDF for its signers (test_esign_simulator.py)",
    "simulators.esign_ca_certificate": "the sandbox CA's certificate: public, as a provider publishes its root "
                                       "(test_esign_simulator.py)",
    "collateral.release_goods": "goods released from a pledge: the deal's warehouse supervisor (collateral.release), "
                                "404 for who cannot read the pledge, 403 for other readers; the world has no pledge "
                                "(test_margin_calls.py)",
    "collateral_pages.release": "the /collateral page's release form: the same rule as collateral.release_goods "
                                "(test_margin_calls.py)",
    "collections_pages.index": "the collections cases (collections.read): platform staff, the funder's finance and "
                               "the agency a case is bound to see their own; others 403 (test_collections.py)",
    "collections_pages.case": "one collections case: 404 for an agency it is not assigned to (test_collections.py)",
    "collections_pages.assign": "a case assigned to a collection agency: collections.assign, platform operators "
                                "(test_collections.py)",
    "collections_pages.log_contact": "a contact logged on a case: collections.contact, the agents of the organisation "
                                     "working it; 404 for who cannot see the case, 403 for its other readers "
                                     "(test_collections.py::test_only_the_agents_working_the_case_log_its_contacts)",
    "collections.list_cases": "the collections cases over the API: the same service as collections_pages.index "
                              "(test_collections.py)",
    "collections.get_case": "one case over the API: 404 for an agency it is not assigned to (test_collections.py)",
    "repair_pages.retry": "an incident retried from its instance's repair page: incidents.retry, the incident's "
                          "instance 404 for who cannot see it (test_instance_migration.py, events.retry's rule)",
    "repair_pages.cancel": "an instance cancelled with a reason from its repair page: instances.cancel, 404 before 403 "
                           "(test_instance_migration.py)",
    "repair_pages.migrate": "an instance moved to another version from its repair page: instances.migrate, 404 before "
                            "403, refused when it cannot move (test_instance_migration.py)",
    "repair_pages.bulk": "instances of a version moved by filter: definitions.read to see the page, instances.migrate "
                         "to preview or move (test_instance_migration.py)",
    "migrations.migrate": "an instance moved over the API: 404 for an instance one cannot see, then "
                          "instances.migrate; needs a second version (test_instance_migration.py)",
    "migrations.bulk": "instances of a version previewed or moved by filter over the API: instances.migrate "
                       "(test_instance_migration.py)",
    "decision_editor.edit": "a decision's newest table to edit: definitions.deploy, an unknown decision 404 "
                            "(test_decision_and_form_editor.py)",
    "decision_editor.check": "an edited table checked: as decision_editor.edit (test_decision_and_form_editor.py)",
    "decision_editor.deploy": "an edited table deployed: as decision_editor.edit, an invalid one 422 and nothing "
                              "changed (test_decision_and_form_editor.py)",
    "form_editor.edit": "a form to edit and save: definitions.deploy, an unknown form 404, an invalid one 422 and "
                        "nothing changed (test_decision_and_form_editor.py)",
    "form_editor.preview": "a form's preview: definitions.deploy, an unknown form 404 (test_decision_and_form_editor.py)",
    "catalogue_pages.show": "one process's versions: definitions.read as catalogue_pages.index, an unknown id 404 "
                            "(test_catalogue_pages.py)",
    "insight_pages.heatmap": "a process version's heatmap: definitions.read as catalogue_pages.index, an unknown "
                             "version 404 (test_insight.py)",
    "catalogue_pages.diagram": "a process version drawn in the reader's language: definitions.read as "
                               "catalogue_pages.index, an unknown version or a decision 404 (test_catalogue_pages.py)",
    "catalogue_pages.download": "a version's file as deployed: definitions.read as catalogue_pages.index, an unknown "
                                "version 404 (test_catalogue_pages.py)",
    "catalogue_pages.diff": "two versions compared: definitions.read as catalogue_pages.index, unknown versions 404, "
                            "equal ones 400 (test_version_diff.py)",
    "modeler_pages.edit": "a process's newest version in the modeler: definitions.deploy as modeler_pages.new, an "
                          "unknown id 404 (test_modeler_pages.py)",
    "modeler_pages.open_file": "a diagram file opened in the modeler (multipart): definitions.deploy, 403 for an "
                               "auditor and a borrower with or without a file (test_modeler_pages.py)",
    "modeler_pages.check": "the modeler's check of a drawing (XML body): definitions.deploy, 403 for an auditor and a "
                           "borrower (test_modeler_pages.py)",
    "modeler_pages.deploy": "the modeler's deploy (XML body): definitions.deploy, refused drawings change nothing "
                            "(test_modeler_pages.py)",
    "deploy_files_pages.deploy_files": "a set of diagrams and forms checked or deployed (GET, POST multipart): "
                                       "definitions.deploy before the upload is read, 403 for an auditor "
                                       "(test_deploy_files.py)",
    "start_pages.new_instance": "a process's start page (GET, POST multipart): instances.start's platform grant "
                                "or definitions.deploy (an analyst's test) before anything is read, 403 for an "
                                "auditor and a borrower's applicant; "
                                "no start form or an unknown id 404; data its start form refuses 422, nothing "
                                "started (test_start_page.py)",
    "external_task_pages.index": "the tasks that wait for external workers: instances.inspect (the platform's staff), "
                                 "403 otherwise (test_external_tasks.py)",
    "token_pages.index": "one's own API tokens (GET, POST): any signed-in user, their own tokens only "
                         "(test_camunda_rest.py)",
    "token_pages.revoke": "one's own token revoked: another user's token id is 404 (test_camunda_rest.py)",
    "camunda_rest.version": "Camunda Modeler's API level (/engine-rest): any good bearer token, never a session, 401 "
                            "otherwise (test_camunda_rest.py)",
    "camunda_rest.deployments": "Camunda Modeler's connection check: any good bearer token, 401 otherwise; no "
                                "listing (test_camunda_rest.py)",
    "camunda_rest.create_deployment": "a deploy from Camunda Modeler (multipart): a bearer token's "
                                      "definitions.deploy, 403 for an auditor, refused files change nothing "
                                      "(test_camunda_rest.py)",
    "camunda_rest.start_by_id": "a start from Camunda Modeler: instances.start's platform grant or definitions.deploy "
                                "(as the start page), 403 for an auditor, nothing started on a refusal "
                                "(test_camunda_rest.py)",
    "camunda_rest.fetch_and_lock": "Camunda's external task workers fetch and lock (/engine-rest): a bearer token's "
                                   "external_tasks.work (admins, operators), 403 for an auditor "
                                   "(test_external_tasks.py)",
    "camunda_rest.complete_external": "a worker completes a task it holds: external_tasks.work, another worker's "
                                      "task 400 (test_external_tasks.py)",
    "camunda_rest.bpmn_error": "a worker's BPMN error: as camunda_rest.complete_external (test_external_tasks.py)",
    "camunda_rest.failure": "a worker's failure: as camunda_rest.complete_external (test_external_tasks.py)",
    "camunda_rest.extend_lock": "a worker extends its lock: as camunda_rest.complete_external "
                                "(test_external_tasks.py)",
    "camunda_rest.unlock": "a task unlocked: external_tasks.work (test_external_tasks.py)",
    "camunda_rest.error_details": "a failed try's details: external_tasks.work, 403 for an auditor "
                                  "(test_external_tasks.py)",
    "camunda_rest.not_answered": "any other path under /engine-rest: 404 in Camunda's shape for any good token, 401 "
                                 "otherwise; it does nothing (test_camunda_runtime_rest.py)",
    "camunda_rest.list_process_definitions": "the newest versions: definitions.read (the platform's staff), 403 for a "
                                              "borrower (test_camunda_runtime_rest.py)",
    "camunda_rest.count_process_definitions": "as camunda_rest.list_process_definitions (test_camunda_runtime_rest.py)",
    "camunda_rest.get_process_definition_by_key": "as camunda_rest.list_process_definitions "
                                                  "(test_camunda_runtime_rest.py)",
    "camunda_rest.get_process_definition": "as camunda_rest.list_process_definitions, an older version through "
                                           "catalogue.version_source's check (test_camunda_runtime_rest.py)",
    "camunda_rest.process_definition_xml_by_key": "catalogue.version_source: definitions.read, 403 for a borrower "
                                                  "(test_camunda_runtime_rest.py)",
    "camunda_rest.process_definition_xml": "as camunda_rest.process_definition_xml_by_key (test_camunda_runtime_rest.py)",
    "camunda_rest.list_external_tasks": "what waits for workers: external_tasks.work, 403 for an auditor "
                                         "(test_external_tasks.py)",
    "camunda_rest.count_external_tasks": "as camunda_rest.list_external_tasks (test_external_tasks.py)",
    "camunda_rest.get_external_task": "as camunda_rest.list_external_tasks (test_external_tasks.py)",
    "camunda_rest.list_historic_process_instances": "every instance the user may see, ended or not (instance_visible): "
                                                     "a borrower sees none of another's (test_camunda_runtime_rest.py)",
    "camunda_rest.count_historic_process_instances": "as camunda_rest.list_historic_process_instances "
                                                     "(test_camunda_runtime_rest.py)",
    "camunda_rest.get_historic_process_instance": "an instance the user may see, 404 otherwise "
                                                  "(test_camunda_runtime_rest.py)",
    "camunda_rest.list_historic_variables": "queries.instance_data: the user's party scope, 404 for an instance the "
                                            "user may not see (test_camunda_runtime_rest.py)",
    "camunda_rest.set_external_task_retries": "external_tasks.work, then incidents.retry's checks for a failed task; "
                                               "403 for an auditor (test_external_tasks.py)",
    "camunda_rest.list_incidents": "the open incidents: incidents.read (the platform's staff, an auditor too) "
                                   "(test_external_tasks.py)",
    "camunda_rest.count_incidents": "as camunda_rest.list_incidents (test_external_tasks.py)",
    "camunda_rest.get_incident": "incidents.incident_for: incidents.read and the instance visible "
                                 "(test_external_tasks.py)",
    "camunda_rest.correlate_message": "Camunda's message correlation: messages.deliver (platform admins and operators), "
                                       "403 for an auditor (test_camunda_runtime_rest.py)",
    "camunda_rest.throw_signal": "Camunda's signal: signals.send, 403 for an auditor (test_camunda_runtime_rest.py)",
    "camunda_rest.list_process_instances": "the running instances the token's user may see (instance_visible) "
                                           "(test_camunda_runtime_rest.py)",
    "camunda_rest.count_process_instances": "as camunda_rest.list_process_instances (test_camunda_runtime_rest.py)",
    "camunda_rest.get_process_instance": "a running instance the user may see, 404 otherwise (test_camunda_runtime_rest.py)",
    "camunda_rest.process_instance_variables": "its data as the user's party scope reads it, 404 as "
                                               "camunda_rest.get_process_instance (test_camunda_runtime_rest.py)",
    "camunda_rest.process_instance_variable": "as camunda_rest.process_instance_variables (test_camunda_runtime_rest.py)",
    "camunda_rest.delete_process_instance": "instances.cancel (platform admins and operators), an auditor refused "
                                            "(test_camunda_runtime_rest.py)",
    "camunda_rest.list_user_tasks": "the open tasks the user may see (task_visible) (test_camunda_runtime_rest.py)",
    "camunda_rest.count_user_tasks": "as camunda_rest.list_user_tasks (test_camunda_runtime_rest.py)",
    "camunda_rest.get_user_task": "an open task the user may see, 404 otherwise (test_camunda_runtime_rest.py)",
    "camunda_rest.user_task_variables": "as camunda_rest.get_user_task, the data in the user's party scope "
                                        "(test_camunda_runtime_rest.py)",
    "camunda_rest.user_task_form_variables": "as camunda_rest.get_user_task (test_camunda_runtime_rest.py)",
    "camunda_rest.claim_user_task": "tasks.claim_task's checks, for oneself only; an auditor refused "
                                    "(test_camunda_runtime_rest.py)",
    "camunda_rest.unclaim_user_task": "tasks.unclaim_task's checks: the holder, another operator refused "
                                      "(test_camunda_runtime_rest.py)",
    "camunda_rest.assign_user_task": "tasks.assign_task's checks: a team lead or platform admin, an operator 403 "
                                     "(test_camunda_runtime_rest.py)",
    "camunda_rest.complete_user_task": "tasks.complete_task's checks: the holder, with the form's checks; another "
                                       "operator and an auditor refused (test_camunda_runtime_rest.py)",
    "camunda_rest.start_by_key": "as camunda_rest.start_by_id, the process named by its id (test_camunda_rest.py)",
    "modeler_pages.start": "a test instance from the modeler: definitions.deploy, 403 for an auditor and a borrower, "
                           "an undeployed id 404 (test_modeler_pages.py)",
    "collections.assign_case": "a case assigned over the API: collections.assign, 403 for a collections agent, 422 "
                               "for an organisation that is not an agency (test_collections.py)",
}


def access_level(obj: str | None, actor: str, scope: str) -> str:
    if obj == "task":
        return TASK_ACCESS[actor][scope]
    if obj in ("instance", "document", "incident"):
        return INSTANCE_ACCESS[actor][scope]
    if obj in ("loan", "payment"):
        return LOAN_ACCESS[actor][scope]
    if obj in ("application", "application_document"):
        return APPLICATION_ACCESS[actor][scope]
    if obj == "my_token":
        return SEE if scope == "own" else HIDDEN
    return SEE  # no object, a new deal's parties, administration's users and their tokens


def expected(rule: Rule, actor: str, scope: str) -> str:
    """'ok' (2xx/3xx), '403', '404' or 'unauthenticated' (401 / the sign-in page)."""
    if actor == ANONYMOUS:
        return "unauthenticated"
    level = access_level(rule.obj, actor, scope)
    if rule.lists:
        return "ok"  # a list answers 200; which objects it holds is checked separately
    if level == HIDDEN:
        return "404"
    if rule.who == EVERYONE:
        allowed = True
    elif rule.who == TASK_WORKERS:
        allowed = level == ACT
    else:
        allowed = actor in rule.who
    if rule.action is not None:
        allowed = allowed and policy_allows(rule.action, actor, scope, rule.obj)
    return "ok" if allowed else "403"


# --------------------------------------------------------------------------------------------
# The access policy's table, evaluated here from its rows and the world's own facts.
# --------------------------------------------------------------------------------------------
DEAL_OBJECTS = frozenset({"instance", "task", "document", "incident", "parties", "application",
                          "application_document"})
LOAN_OBJECTS = frozenset({"loan", "payment"})  # a loan binds its borrower and its funder only


def held_roles(actor: str) -> set[str]:
    """The roles that count: a legacy row's role, held outside its kind of organisation, counts for nothing."""
    return set() if actor in LEGACY_ACTORS else set(ACTORS[actor][1])


def deal_of(scope: str) -> int:
    return 2 if scope == "other" else 1


def object_parties(obj: str | None, actor: str, scope: str) -> dict[str, str]:
    """The organisations of the object's deal by party; with no object, the user's own organisation
    as each of its kinds (an action over its own deals, as a funder's trial balance)."""
    if obj is None:
        org = ACTORS[actor][0]
        return dict.fromkeys(ORGS[org], org)
    if obj in DEAL_OBJECTS:
        return PARTIES[deal_of(scope)]
    if obj in LOAN_OBJECTS:
        return {p: PARTIES[deal_of(scope)][p] for p in ("borrower", "funder")}
    return {}  # administration's users and tokens belong to no deal


def object_org(obj: str | None, actor: str, scope: str) -> str | None:
    """The organisation the object belongs to: a task's, that of its lane's party in its deal."""
    if obj != "task":
        return None
    own, sibling = TASK_TARGET[actor]
    lane = {"own": own, "sibling": sibling, "unlaned": None, "other": own}[scope]
    kind = _LANE_KIND.get(lane or "")
    return PARTIES[deal_of(scope)][kind] if kind else None


def policy_allows(action: str, actor: str, scope: str, obj: str | None) -> bool:
    """Whether a row of the access policy's table lets this user do `action` to this object."""
    if actor == ANONYMOUS:
        return False
    org, roles = ACTORS[actor][0], held_roles(actor)
    for grant in POLICY[action]:
        if not grant.roles & roles:
            continue
        if grant.side is Side.PLATFORM and "platform" in ORGS[org]:
            return True
        if grant.side is Side.PARTY and grant.party in ORGS[org] and \
                object_parties(obj, actor, scope).get(grant.party or "") == org:
            return True
        if grant.side is Side.OWN_ORGANISATION and object_org(obj, actor, scope) == org:
            return True
    return False


def scopes_of(rule: Rule) -> tuple[str, ...]:
    if rule.obj == "task":
        return TASK_SCOPES
    if rule.obj is None:
        return ("-",)
    return DEAL_SCOPES


# --------------------------------------------------------------------------------------------
# Diagrams of the matrix.
# --------------------------------------------------------------------------------------------
def _matrix_bpmn() -> bytes:
    def task_id(lane: str | None) -> str:
        return f"task_{lane or 'unlaned'}"

    lanes = "".join(f'<bpmn:lane id="lane_{lane}" name="{lane}"><bpmn:flowNodeRef>{task_id(lane)}'
                    f"</bpmn:flowNodeRef></bpmn:lane>" for lane in LANES if lane)
    body = []
    for lane in LANES:
        t = task_id(lane)
        body.append(f'<bpmn:userTask id="{t}" name="Work of {lane or "nobody in particular"}">'
                    f"<bpmn:incoming>in_{t}</bpmn:incoming><bpmn:outgoing>out_{t}</bpmn:outgoing></bpmn:userTask>"
                    f'<bpmn:sequenceFlow id="in_{t}" sourceRef="fork" targetRef="{t}"/>'
                    f'<bpmn:sequenceFlow id="out_{t}" sourceRef="{t}" targetRef="join"/>')
    fork_out = "".join(f"<bpmn:outgoing>in_{task_id(lane)}</bpmn:outgoing>" for lane in LANES)
    join_in = "".join(f"<bpmn:incoming>out_{task_id(lane)}</bpmn:incoming>" for lane in LANES)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_authz_matrix"
                  targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="authz_matrix" name="One task per lane" isExecutable="true">
    <bpmn:laneSet id="lanes">{lanes}</bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="fork"><bpmn:incoming>f0</bpmn:incoming>{fork_out}</bpmn:parallelGateway>
    {''.join(body)}
    <bpmn:parallelGateway id="join">{join_in}<bpmn:outgoing>f_end</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <bpmn:sequenceFlow id="f_end" sourceRef="join" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def _straight_bpmn(process_id: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_{process_id}"
                  targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f0</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def _waiting_bpmn(process_id: str) -> bytes:
    """A process that waits at a task without a lane (a deal that can be withdrawn)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_{process_id}"
                  targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="wait" name="Wait"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


INCIDENT_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_authz_incident" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="authz_incident" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="call" name="Call a service nobody provides">
      <bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="authz.no_such_operator" resultVariable="r"/>
      </bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f1" sourceRef="call" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# --------------------------------------------------------------------------------------------
# The world: organisations, users, two deals with documents and incidents, signed-in browsers.
# --------------------------------------------------------------------------------------------
def username(actor: str) -> str:
    return f"m_{actor}"


class World:
    def __init__(self, app, ip_prefix: str) -> None:
        self.app = app
        self.ip_prefix = ip_prefix
        self.user_ids: dict[str, int] = {}
        self.tokens: dict[str, str] = {}
        self.deals: dict[int, dict[str, Any]] = {}
        self.pool: dict[tuple[int, str | None], list[int]] = defaultdict(list)
        self.browsers: dict[str, Any] = {}
        self.csrf: dict[str, str] = {}
        self.api = app.test_client(use_cookies=False)
        self.seq = itertools.count(1)

    # -- building ---------------------------------------------------------------------------
    def build(self) -> None:
        with self.app.app_context():
            for code, kinds in ORGS.items():
                identity.create_org(code, kinds, f"Organisation {code}")
            for actor, (org, roles) in ACTORS.items():
                if actor in LEGACY_ACTORS:
                    self.user_ids[actor] = self._legacy_user(username(actor), org, roles)
                else:
                    self.user_ids[actor] = identity.create_user(username(actor), org, roles).id
                accounts.set_password_with_token(accounts.invite(username(actor)), "invite", PASSWORD)
                self.tokens[actor] = identity.issue_token(username(actor))
            # the other deal's people: assignees there, and another organisation's users
            for lane in PARTY_LANES:
                org = PARTIES[2][_LANE_KIND[lane]]
                identity.create_user(f"w2_{lane}", org, [lane])
            with operators_registered(self.app, "authz.no_such_operator"):  # removed after deploying
                deploy_and_commit([DiagramFile("authz_matrix.bpmn", _matrix_bpmn()),
                                   DiagramFile("authz_small.bpmn", _straight_bpmn("authz_small")),
                                   DiagramFile("authz_incident.bpmn", INCIDENT_BPMN),
                                   DiagramFile("order_financing.bpmn", _waiting_bpmn("order_financing"))])
            admin = identity.principal_for(username("platform_admin"))
            for n in (1, 2):
                instance_id = instances.start_instance("authz_matrix", admin, f"AUTHZ-{n}", {}, PARTIES[n])
                document_id = store_document(instance_id, None, None, f"statement-{n}.pdf", PDF, admin.id)
                db.session.commit()
                failing = instances.start_instance("authz_incident", admin, f"AUTHZ-{n}-INC", {}, PARTIES[n])
                user_id = self._user_id("w2_first_reviewer" if n == 2 else username("first_reviewer"))
                self.deals[n] = {"instance": instance_id, "key": f"AUTHZ-{n}", "tasks": self._tasks_of(instance_id),
                                 "document": document_id, "incident_instance": failing, "user": user_id,
                                 "token": identity.create_token(user_id, label=f"deal {n}").row.id}
            self._book_loans()
            products.create_product(None, ORDER_PRODUCT)
            db.session.commit()
            for n in (1, 2):
                application_id = self._application(n, submitted=True)
                self.deals[n]["application"] = application_id
                self.deals[n]["application_document"] = db.session.scalar(select(ApplicationDocument.id).where(
                    ApplicationDocument.application_id == application_id))
            db.session.remove()
        for i, actor in enumerate(ALL_ACTORS):
            self._sign_in(actor, f"{self.ip_prefix}.{i + 1}")

    @staticmethod
    def _legacy_user(name: str, org_code: str, roles: list[str]) -> int:
        org_id = db.session.scalar(select(Organisation.id).where(Organisation.code == org_code))
        user = User(username=name, org_id=org_id)
        user.roles = [UserRole(role=role) for role in roles]
        db.session.add(user)
        db.session.commit()
        return user.id

    def _sign_in(self, actor: str, ip: str) -> None:
        browser = self.app.test_client()
        browser.environ_base["REMOTE_ADDR"] = ip
        page = browser.get("/login")
        token = CSRF.search(page.text).group(1)
        if actor != ANONYMOUS:
            r = browser.post("/login", data={"csrf_token": token, "username": username(actor), "password": PASSWORD})
            assert r.status_code == 302, f"{actor} could not sign in: {r.status_code}"
            token = CSRF.search(browser.get("/").text).group(1)
        self.browsers[actor], self.csrf[actor] = browser, token

    def _book_loans(self) -> None:
        loans.create_product(LOAN_PRODUCT)
        db.session.commit()
        orgs = {o.code: o.id for o in db.session.scalars(select(Organisation))}
        for n in (1, 2):
            loan = loans.book_loan(loans.LoanRequest(
                "AUTHZ", f"AUTHZ-{n}", orgs[PARTIES[n]["borrower"]], Decimal("12000.00"), 12, LOAN_DISBURSED,
                funder_org_id=orgs[PARTIES[n]["funder"]]))
            db.session.commit()
            self.deals[n]["loan"] = loan.id
            self.deals[n]["payment"] = self._pending_payment(loan.id)

    def _pending_payment(self, loan_id: int) -> int:
        outcome = repayments.take_payment_and_commit(repayments.PaymentNotice(
            loan_id, f"authz-voucher-{next(self.seq)}", "100.00", channel="offline"))
        return outcome.payment.id

    @staticmethod
    def _application(n: int, submitted: bool) -> int:
        """An order application of AUTHZ-n's borrower with a document: a draft, or submitted."""
        applicant = identity.principal_for(username("applicant") if n == 1 else "w2_applicant")
        row = applications.create_application(applicant, {
            "product": ORDER_PRODUCT["code"], "amount": "50000.00", "term_months": 6, "purpose": f"Deal {n}",
            "funder": PARTIES[n]["funder"], "details": {"core_enterprise": PARTIES[n]["core_enterprise"],
                                                       "order_number": f"PO-{n}", "order_amount": "80000.00",
                                                       "order_due_date": "2027-06-30",
                                                       "payee_account": "6222 0210 0100 7777",
                                                       "payee_bank": "招商银行上海分行"}})
        applications.add_document(applicant, row.id, "order", "order.pdf", PDF)
        if submitted:
            applications.submit(applicant, row.id)
        return row.id

    def fresh_application(self, n: int, submitted: bool) -> int:
        with self.app.app_context():
            application_id = self._application(n, submitted)
            db.session.remove()
        return application_id

    def document_of(self, application_id: int) -> int:
        with self.app.app_context():
            document_id = db.session.scalar(select(ApplicationDocument.id).where(
                ApplicationDocument.application_id == application_id))
            db.session.remove()
        return int(document_id)

    def application_row(self, application_id: int) -> tuple[Any, ...] | None:
        """Status, purpose and version of the application, and how many documents it has (None: gone)."""
        with self.app.app_context():
            row = db.session.execute(select(Application.status, Application.purpose, Application.lock_version)
                                     .where(Application.id == application_id)).one_or_none()
            documents = db.session.scalar(select(func.count()).select_from(ApplicationDocument).where(
                ApplicationDocument.application_id == application_id))
            db.session.remove()
        return None if row is None else (*row, documents)

    def rows_of(self, model: Any) -> int:
        with self.app.app_context():
            count = db.session.scalar(select(func.count()).select_from(model))
            db.session.remove()
        return int(count or 0)

    def product_row(self, code: str) -> tuple[Any, ...]:
        """Name, whether offered, and the origination terms of a product."""
        with self.app.app_context():
            row = db.session.execute(select(Product.name, Product.active, Product.origination)
                                     .where(Product.code == code)).one()
            db.session.remove()
        return tuple(row)

    def fresh_payment(self, n: int) -> int:
        """A new pending offline payment on AUTHZ-n's loan (each used once)."""
        with self.app.app_context():
            payment_id = self._pending_payment(self.deals[n]["loan"])
            db.session.remove()
        return payment_id

    def payment_row(self, payment_id: int) -> str:
        with self.app.app_context():
            status = db.session.scalar(select(Payment.status).where(Payment.id == payment_id))
            db.session.remove()
        return str(status)

    def loan_payments(self, loan_id: int) -> int:
        with self.app.app_context():
            count = db.session.scalar(select(func.count()).select_from(Payment).where(Payment.loan_id == loan_id))
            db.session.remove()
        return int(count or 0)

    @staticmethod
    def _tasks_of(instance_id: int) -> dict[str | None, int]:
        rows = db.session.execute(select(HumanTask.lane, HumanTask.id).where(HumanTask.instance_id == instance_id))
        return {lane: task_id for lane, task_id in rows}

    @staticmethod
    def _user_id(name: str) -> int:
        return identity.principal_for(name).id

    # -- objects ------------------------------------------------------------------------------
    def new_deal(self, n: int, pool_tasks: bool = False) -> int:
        """A new deal like AUTHZ-n; with `pool_tasks` its tasks go to the pool of fresh tasks."""
        with self.app.app_context():
            admin = identity.principal_for(username("platform_admin"))
            instance_id = instances.start_instance("authz_matrix", admin, f"AUTHZ-{n}-F{next(self.seq)}", {},
                                                   PARTIES[n])
            if pool_tasks:
                for lane, task_id in self._tasks_of(instance_id).items():
                    self.pool[(n, lane)].append(task_id)
            db.session.remove()
        return instance_id

    def fresh_user(self, n: int, password: bool = False, active: bool = True) -> int:
        """A new first reviewer of AUTHZ-n's funder (each used once): with a password or only invited."""
        name = f"fresh{next(self.seq)}"
        with self.app.app_context():
            user = identity.create_user(name, PARTIES[n]["funder"], ["first_reviewer"])
            if password:
                accounts.set_password_with_token(accounts.invite(name), "invite", PASSWORD)
            if not active:
                user_admin.set_active(user, False, None)
            user_id = user.id
            db.session.remove()
        return user_id

    def fresh_token(self, user_id: int) -> int:
        with self.app.app_context():
            token_id = identity.create_token(user_id, label="fresh").row.id
            db.session.remove()
        return token_id

    def user_row(self, user_id: int) -> tuple[bool, bool, int]:
        """Active, has a password, how many links (invitations, resets) were issued."""
        with self.app.app_context():
            user = db.session.get(User, user_id)
            assert user is not None
            links = db.session.scalar(select(func.count()).select_from(UserToken).where(UserToken.user_id == user_id))
            row = (user.active, user.password_hash is not None, int(links or 0))
            db.session.remove()
        return row

    def token_revoked(self, token_id: int) -> bool:
        with self.app.app_context():
            revoked = db.session.scalar(select(ApiToken.revoked_at).where(ApiToken.id == token_id))
            db.session.remove()
        return revoked is not None

    def fresh_task(self, n: int, lane: str | None) -> int:
        """An untouched ready task of lane `lane` in a deal like AUTHZ-n (each used once)."""
        if not self.pool[(n, lane)]:
            self.new_deal(n, pool_tasks=True)
        return self.pool[(n, lane)].pop()

    def open_incident(self, n: int) -> int:
        with self.app.app_context():
            incident_id = db.session.scalar(select(Incident.id).where(
                Incident.instance_id == self.deals[n]["incident_instance"], Incident.resolved_at.is_(None))
                .order_by(Incident.id.desc()).limit(1))
            db.session.remove()
        assert incident_id is not None
        return incident_id

    def claim_for(self, task_id: int, user_id: int) -> None:
        """The task claimed by that user, written as it is (whoever they are: someone else's claim)."""
        with self.app.app_context():
            db.session.execute(HumanTask.__table__.update().where(HumanTask.id == task_id)
                               .values(state="claimed", claimed_by_id=user_id))
            db.session.commit()
            db.session.remove()

    def claim_as(self, actor: str, task_id: int) -> None:
        with self.app.app_context():
            tasks.claim_task(task_id, identity.principal_for(username(actor)))
            db.session.remove()

    def task_row(self, task_id: int) -> tuple[str, int | None, int | None]:
        with self.app.app_context():
            row = db.session.execute(select(HumanTask.state, HumanTask.claimed_by_id, HumanTask.completed_by_id)
                                     .where(HumanTask.id == task_id)).one()
            db.session.remove()
        return tuple(row)

    def instance_row(self, instance_id: int) -> tuple[str, list]:
        with self.app.app_context():
            status = db.session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == instance_id))
            parties = sorted(db.session.execute(select(InstanceParty.party, InstanceParty.org_id).where(
                InstanceParty.instance_id == instance_id)).all())
            db.session.remove()
        return status, parties

    def incident_resolved(self, incident_id: int) -> bool:
        with self.app.app_context():
            resolved = db.session.scalar(select(Incident.resolved_at).where(Incident.id == incident_id))
            db.session.remove()
        return resolved is not None


_LANE_KIND = {"first_reviewer": "funder", "second_reviewer": "funder", "finance": "funder",
              "applicant": "borrower", "core_signer": "core_enterprise", "warehouse_supervisor": "warehouse"}


@pytest.fixture(scope="module")
def world(backend_app):
    """Built once per backend: the tables emptied, the world made, its clock set."""
    app = backend_app
    app.extensions["loanflow_clock"] = FakeClock(T0)
    with app.app_context():
        _empty_tables()
        db.session.remove()
    app.extensions["loanflow_runtime"].clear_caches()
    w = World(app, "10.9.0" if app.config.get("BACKEND") == "sqlite" else "10.9.1")
    w.build()
    yield w
    app.extensions.pop("loanflow_clock", None)
    with app.app_context():
        db.session.remove()


# --------------------------------------------------------------------------------------------
# One case: which object, which request, what happened.
# --------------------------------------------------------------------------------------------
@dataclass
class Target:
    """The object of one case: the ids in the URL, and what the request body and checks need."""

    values: dict[str, int]
    deal: int = 1
    lane: str | None = None
    fresh: bool = False


def target(world: World, rule: Rule, endpoint: str, actor: str, scope: str, allowed_change: bool) -> Target:
    n = 2 if scope == "other" else 1
    deal = world.deals[n]
    if rule.obj == "task":
        own, sibling = TASK_TARGET[actor]
        lane = {"own": own, "sibling": sibling, "unlaned": None, "other": own}[scope]
        if allowed_change:
            task_id = world.fresh_task(n, lane)
            if endpoint.endswith(".unclaim"):
                world.claim_as(actor, task_id)
            return Target({"task_id": task_id}, n, lane, fresh=True)
        return Target({"task_id": deal["tasks"][lane], "instance_id": deal["instance"]}, n, lane)
    if rule.obj == "instance":
        if allowed_change:
            return Target({"instance_id": world.new_deal(n)}, n, fresh=True)
        return Target({"instance_id": deal["instance"]}, n)
    if rule.obj == "document":
        return Target({"document_id": deal["document"], "instance_id": deal["instance"]}, n)
    if rule.obj == "incident":
        return Target({"incident_id": world.open_incident(n)}, n)
    if rule.obj == "user":
        if allowed_change:
            name = endpoint.split(".", 1)[1]
            return Target({"user_id": world.fresh_user(n, password=name == "reset_link", active=name != "activate")},
                          n, fresh=True)
        return Target({"user_id": deal["user"]}, n)
    if rule.obj == "token":
        if allowed_change:
            user_id = world.fresh_user(n)
            return Target({"user_id": user_id, "token_id": world.fresh_token(user_id)}, n, fresh=True)
        return Target({"user_id": deal["user"], "token_id": deal["token"]}, n)
    if rule.obj == "my_token":
        if scope == "own" and actor != ANONYMOUS:
            return Target({"token_id": world.fresh_token(world.user_ids[actor])}, n, fresh=True)
        return Target({"token_id": deal["token"]}, n)
    if rule.obj == "loan":
        return Target({"loan_id": deal["loan"]}, n)
    if rule.obj == "payment":
        payment_id = world.fresh_payment(n) if allowed_change else deal["payment"]
        return Target({"loan_id": deal["loan"], "payment_id": payment_id}, n, fresh=allowed_change)
    if rule.obj == "application":
        if allowed_change:  # a draft to change, delete, attach to or submit; a submitted one to withdraw
            # (for its form or confirmation page as well)
            return Target({"application_id": world.fresh_application(n, submitted=endpoint.endswith(".withdraw"))},
                          n, fresh=True)
        return Target({"application_id": deal["application"]}, n)
    if rule.obj == "application_document":
        if allowed_change:  # a draft's own upload to remove
            application_id = world.fresh_application(n, submitted=False)
            return Target({"application_id": application_id, "document_id": world.document_of(application_id)}, n,
                          fresh=True)
        return Target({"application_id": deal["application"], "document_id": deal["application_document"]}, n)
    if rule.obj == "product":
        return Target({"code": ORDER_PRODUCT["code"]}, n)
    if rule.obj == "org":
        return Target({"code": PARTIES[n]["funder"]}, n)  # type: ignore[dict-item]
    return Target({}, n)


def request_args(world: World, endpoint: str, method: str, t: Target) -> dict[str, Any]:
    """The body (or query) each route needs to get past validation to the access checks."""
    deal = world.deals[t.deal]
    task_element = f"task_{t.lane or 'unlaned'}"
    n = next(world.seq)
    application_form = {  # as typed on the page
        "amount": "50,000.00", "term_months": "6", "purpose": f"changed {n}", "funder": PARTIES[t.deal]["funder"],
        "details.core_enterprise": PARTIES[t.deal]["core_enterprise"], "details.order_number": f"PO-P{n}",
        "details.order_amount": "80,000.00", "details.order_due_date": "2027-06-30",
        "details.payee_account": "6222 0210 0100 7777", "details.payee_bank": "招商银行上海分行"}
    return {
        "process_definitions.upload_definition": lambda: {
            "data": {"file": (io.BytesIO(_straight_bpmn("authz_uploaded")), "authz_uploaded.bpmn")}},
        "process_instances.start": lambda: {"json": {"process_id": "authz_small", "parties": PARTIES[t.deal]}},
        "process_instances.set_parties": lambda: {"json": {"parties": PARTIES[t.deal]}},
        "migrations.preview": lambda: {"json": {"to_version": 1}},
        "process_instances.list_instances": lambda: {"query_string": {"business_key": deal["key"]}},
        "tasks.complete": lambda: {"json": {"data": {}}},
        "tasks.assign": lambda: {"json": {"username": assignee(t)}},
        "tasks.list_tasks": lambda: {"query_string": {"instance_id": deal["instance"], "per_page": 100}},
        "me.my_tasks": lambda: {"query_string": {"view": "group", "business_key": deal["key"],
                                                 "element_id": task_element}},
        "events.post_message": lambda: {"json": {"name": "authz.ping", "correlation_key": "AUTHZ-NOBODY",
                                                 "durable": True}},
        "events.send_signal": lambda: {"json": {"name": "authz.nobody_waits"}},
        "inbox.index": lambda: {"query_string": {"view": "group", "key": deal["key"], "task": task_element}},
        "loans.list_loans": lambda: {"query_string": {"business_key": deal["key"]}},
        "loans.record_payment": lambda: {"json": {"amount": "10.00", "idempotency_key": f"authz-api-{n}"}},
        "loans.payoff_quote": lambda: {"query_string": {"date": "2026-11-28"}},
        "loans.early_repayment_quote": lambda: {"query_string": {"date": "2026-11-28", "amount": "100.00"}},
        "loans.pay_online": lambda: {"json": {"amount": "10.00", "idempotency_key": f"authz-online-{n}"}},
        "loans.reject_payment": lambda: {"json": {"reason": "no money arrived"}},
        "loan_pages.pay_online": lambda: {"data": {"amount": "10.00", "key": f"authz-web-{n}"}},
        "inbox.claim": lambda: {"data": {"next": "/"}},
        "inbox.assign": lambda: {"data": {"username": assignee(t)}},
        "admin.create_org": lambda: {"data": {"code": f"NEWORG{n}", "kind": "funder", "name": f"New {n}"}},
        "admin.set_credit_code": lambda: {"data": {"credit_code": make_credit_code(f"9132050000{n % 10**7:07d}")}},
        "admin.create_user": lambda: {"data": {"username": f"newuser{n}", "org": "BANK1",
                                               "role": "first_reviewer"}},
        "me.create_token": lambda: {"json": {"label": f"matrix {n}", "days": 1}},
        "simulators.risk_try": lambda: {"data": {"subject": make_id_number(f"11010519900101{n % 1000:03d}"),
                                                 "subject_kind": "id_number", "amount": "1000.00",
                                                 "product_kind": "credit_loan"}},
        "applications.create": lambda: {"json": {
            "product": ORDER_PRODUCT["code"], "amount": "50000.00", "term_months": 6, "funder": "BANK1",
            "details": {"core_enterprise": "CORE1", "order_number": f"PO-N{n}", "order_amount": "80000.00",
                        "order_due_date": "2027-06-30"}}},
        "applications.list_applications": lambda: {"query_string": {"per_page": 500}},
        "applications.update": lambda: {"json": {"purpose": f"changed {n}"}},
        "applications.add_document": lambda: {"data": {"kind": "invoice", "file": (io.BytesIO(PDF), "invoice.pdf")}},
        "products.create_product": lambda: {"json": {**ORDER_PRODUCT, "code": f"AUTHZ-NEW{n}"}},
        "products.update_product": lambda: {"json": {"name": f"Matrix orders {n}"}},
        "collateral.record_prices": lambda: {"json": {"prices": [
            {"goods": "Matrix goods", "unit": "t", "price": "100.00", "as_of": "2026-11-27"}]}},
        "collateral_pages.upload": lambda: {"data": {"file": (
            io.BytesIO(b"goods,unit,price,as_of\nMatrix goods,t,100.00,2026-11-27\n"), "prices.csv")}},
        "simulators.payments_inject": lambda: {"data": {"fail_next": "0", "late_next": "0", "late_minutes": "10",
                                                        "twice_next": "0"}},
        "simulators.add_to_blacklist": lambda: {"data": {"subject": make_id_number(f"11010519900101{n % 1000:03d}"),
                                                         "reason": "matrix"}},
        "application_pages.new": lambda: {"query_string": {"product": ORDER_PRODUCT["code"]},
                                          **({"data": application_form} if method == "POST" else {})},
        "application_pages.edit": lambda: {"data": application_form} if method == "POST" else {},
        "application_pages.upload": lambda: {"data": {"kind": "invoice", "file": (io.BytesIO(PDF), "invoice.pdf")}},
        "product_pages.new": lambda: {"data": {
            "code": f"AUTHZ-P{n}", "name": f"Matrix page {n}", "kind": "order_financing", "annual_rate": "12",
            "min_amount": "1,000.00", "max_amount": "100,000.00", "min_term": "1", "max_term": "12",
            "advance_ratio": "0.80"}} if method == "POST" else {},
        "product_pages.edit": lambda: {"data": {"name": f"Matrix orders {n}", "active": "1",
                                                "advance_ratio": ORDER_PRODUCT["advance_ratio"]}}
        if method == "POST" else {},
    }.get(endpoint, dict)()


def assignee(t: Target) -> str:
    """Someone who holds the task's lane role in the task's organisation."""
    if t.lane is None or t.lane == "operator":
        return username("operator")
    return username(t.lane) if t.deal == 1 else f"w2_{t.lane}"


def send(world: World, actor: str, method: str, path: str, is_html: bool, args: dict[str, Any],
         bearer: str | None = None):
    if is_html:
        args = dict(args)
        if method != "GET":
            args["data"] = {**args.get("data", {}), "csrf_token": world.csrf[actor]}
        return world.browsers[actor].open(path, method=method, **args)
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return world.api.open(path, method=method, headers=headers, **args)


def outcome(response, is_html: bool) -> str:
    if 200 <= response.status_code < 300:
        return "ok"
    if 300 <= response.status_code < 400:
        location = response.headers.get("Location", "")
        if is_html and re.match(r"^(https?://[^/]+)?/login\b", location):
            return "unauthenticated"
        return "ok"
    if response.status_code == 401 and not is_html:
        return "unauthenticated"
    return str(response.status_code)


def listed_ids(response, is_html: bool, obj: str) -> set[int]:
    if is_html:
        return {int(i) for i in re.findall(rf'data-{obj}-id="(\d+)"', response.text)}
    return {item["id"] for item in response.json["items"]}


def check_effect(world: World, endpoint: str, actor: str, t: Target) -> str | None:
    """After an allowed change: did it happen?"""
    name = endpoint.split(".", 1)[1]
    me = world.user_ids[actor]
    if name in ("claim", "unclaim", "complete", "task_page", "assign"):
        state, claimed_by, completed_by = world.task_row(t.values["task_id"])
        want = {"claim": ("claimed", me, None), "unclaim": ("ready", None, None),
                "complete": ("completed", me, me), "task_page": ("completed", me, me)}.get(name)
        if name == "assign":
            with world.app.app_context():
                want = ("claimed", world._user_id(assignee(t)), None)
                db.session.remove()
        if (state, claimed_by, completed_by) != want:
            return f"task is {(state, claimed_by, completed_by)}, expected {want}"
    if name in ("deactivate", "activate", "reinvite", "reset_link"):
        active, _password, links = world.user_row(t.values["user_id"])
        if name in ("deactivate", "activate") and active != (name == "activate"):
            return f"user is {'active' if active else 'inactive'}"
        if name in ("reinvite", "reset_link") and links < (2 if name == "reset_link" else 1):
            return "no link was issued"
    if name == "revoke_token" and not world.token_revoked(t.values["token_id"]):
        return "token not revoked"
    if name == "cancel" and world.instance_row(t.values["instance_id"])[0] != "cancelled":
        return "instance not cancelled"
    if endpoint.startswith(("applications.", "application_pages.")) and "application_id" in t.values:
        name = {"edit": "update", "upload": "add_document"}.get(name, name)
        row = world.application_row(t.values["application_id"])
        want_status = {"delete": None, "submit": "submitted", "withdraw": "withdrawn"}.get(name, "draft")
        if (row[0] if row else None) != want_status:
            return f"application is {row}, expected {want_status}"
        if name == "update" and not row[1].startswith("changed"):
            return f"purpose is {row[1]!r}"
        if name == "add_document" and row[3] != 2:
            return f"{row[3]} documents"
        if name == "remove_document" and row[3] != 0:
            return f"{row[3]} documents"
    if name in ("confirm_payment", "reject_payment"):
        want = "booked" if name == "confirm_payment" else "rejected"
        if world.payment_row(t.values["payment_id"]) != want:
            return f"payment is {world.payment_row(t.values['payment_id'])}, expected {want}"
    return None


def snapshot(world: World, rule: Rule, t: Target) -> Any:
    if rule.obj == "task":
        return world.task_row(t.values["task_id"])
    if rule.obj == "instance":
        return world.instance_row(t.values["instance_id"])
    if rule.obj == "incident":
        return world.incident_resolved(t.values["incident_id"])
    if rule.obj == "loan":
        return world.loan_payments(t.values["loan_id"])
    if rule.obj == "payment":
        return world.payment_row(t.values["payment_id"])
    if rule.obj == "user":
        return world.user_row(t.values["user_id"])
    if rule.obj in ("token", "my_token"):
        return world.token_revoked(t.values["token_id"])
    if rule.obj in ("application", "application_document"):
        return world.application_row(t.values["application_id"])
    if rule.obj == "product":
        return world.product_row(t.values["code"])
    return None


def run_case(world: World, endpoint: str, method: str, actor: str, scope: str) -> list[str]:
    rule = RULES[(endpoint, method)]
    [url_rule] = [r for r in world.app.url_map.iter_rules() if r.endpoint == endpoint and method in r.methods]
    is_html = not url_rule.rule.startswith("/api/")
    want = expected(rule, actor, scope)
    changes = method != "GET"
    t = target(world, rule, endpoint, actor, scope, allowed_change=(changes or endpoint in DRAFT_PAGES) and want == "ok")
    adapter = world.app.url_map.bind("localhost")
    path = adapter.build(endpoint, {k: v for k, v in t.values.items() if k in url_rule.arguments}, method=method)
    before = snapshot(world, rule, t) if changes else None
    rows_before = world.rows_of(CREATES[endpoint]) if changes and endpoint in CREATES else None
    label = f"{method} {path} as {actor} ({scope})"

    problems = []
    response = send(world, actor, method, path, is_html, request_args(world, endpoint, method, t),
                    world.tokens.get(actor))
    got = outcome(response, is_html)
    if got != want:
        problems.append(f"{label}: expected {want}, got {response.status_code} {response.data[:160]!r}")
    elif got == "ok" and rule.lists:
        level = access_level(rule.obj, actor, scope)
        should = level == ACT if rule.lists == "offered" else level != HIDDEN
        the_id = t.values[f"{rule.obj}_id"]
        if (the_id in listed_ids(response, is_html, rule.obj or "")) != should:
            problems.append(f"{label}: {rule.obj} {the_id} {'missing from' if should else 'leaks into'} the list")
    elif got == "ok" and changes:
        effect = check_effect(world, endpoint, actor, t)
        if effect:
            problems.append(f"{label}: answered {response.status_code} but {effect}")
    if got == want == "ok" and response.status_code == 200 and response.mimetype == "text/html":  # the header's link
        shown = 'href="/admin/"' in response.text
        if shown != policy_allows("users.administer", actor, scope, None):
            problems.append(f"{label}: the Administration link is {'shown' if shown else 'missing'}")
    if got == want == "ok" and changes and rule.obj == "product" and snapshot(world, rule, t) == before:
        problems.append(f"{label}: answered {response.status_code} but changed nothing: {before}")
    if want != "ok" and before is not None and snapshot(world, rule, t) != before:
        problems.append(f"{label}: refused with {response.status_code} but changed {before} -> "
                        f"{snapshot(world, rule, t)}")
    if rows_before is not None and world.rows_of(CREATES[endpoint]) != rows_before + (want == "ok"):
        problems.append(f"{label}: {world.rows_of(CREATES[endpoint]) - rows_before} new row(s)")
    if actor == ANONYMOUS and not is_html:  # a token that is not one: 401 as well
        bogus = send(world, actor, method, path, False, request_args(world, endpoint, method, t), "lf_not-a-token")
        if bogus.status_code != 401:
            problems.append(f"{label} with a bogus bearer token: expected 401, got {bogus.status_code}")
    return problems


# --------------------------------------------------------------------------------------------
# The tests.
# --------------------------------------------------------------------------------------------
def test_every_route_has_a_rule_or_a_reason_to_be_skipped(world):
    routes = {(r.endpoint, m) for r in world.app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}}
    unruled = sorted(f"{m} {e}" for e, m in routes if (e, m) not in RULES and e not in SKIPPED)
    assert not unruled, f"routes without an authorization rule (add them to RULES or SKIPPED): {unruled}"
    stale = sorted(f"{m} {e}" for e, m in RULES if (e, m) not in routes)
    assert not stale, f"rules for routes that no longer exist: {stale}"
    gone = sorted(e for e in SKIPPED if e not in {e for e, _m in routes})
    assert not gone, f"skipped routes that no longer exist: {gone}"


@pytest.mark.parametrize(("endpoint", "method"), sorted(RULES), ids=[f"{m} {e}" for e, m in sorted(RULES)])
def test_route_answers_each_user_as_the_rules_say(world, endpoint, method):
    problems = []
    for actor in ALL_ACTORS:
        scopes = scopes_of(RULES[(endpoint, method)])
        for scope in scopes[:1] if actor == ANONYMOUS else scopes:  # not signed in: the object does not matter
            problems += run_case(world, endpoint, method, actor, scope)
    assert not problems, f"{len(problems)} case(s) break the rules:\n" + "\n".join(problems)


def test_every_action_of_the_access_policy_is_exercised():
    """Each row of the table guards a route here, or has its own test below."""
    exercised = {rule.action for rule in RULES.values() if rule.action} | {"tasks.unclaim_others"}
    exercised |= {"collections.read", "collections.assign", "collections.contact"}  # the cases' own test (test_collections.py)
    exercised |= {"external_tasks.work"}  # the workers' own test: an operator 200, an auditor 403 (test_external_tasks.py)
    exercised |= {"collateral.release"}  # releases' own test: the warehouse 201, the borrower 403, others 404 (test_margin_calls.py)
    # changing a mapping table: test_group_mappings.py (an operator, an analyst and an auditor 403, nothing mapped)
    exercised |= {"operator_mappings.manage", "group_mappings.manage"}
    assert exercised == set(POLICY), f"not exercised: {sorted(set(POLICY) - exercised)}"


def test_releasing_someone_elses_claim_is_the_policys(world):
    """Unclaiming a task another user claimed: those the table allows (tasks.unclaim_others) put it
    back; anyone else the task is offered to gets 409 and the claim stays."""
    problems = []
    for actor in ACTORS:
        for scope in TASK_SCOPES:
            if TASK_ACCESS[actor][scope] != ACT:
                continue
            own, sibling = TASK_TARGET[actor]
            lane = {"own": own, "sibling": sibling, "unlaned": None, "other": own}[scope]
            task_id = world.fresh_task(deal_of(scope), lane)
            claimer = world.user_ids["auditor" if actor != "auditor" else "analyst"]
            world.claim_for(task_id, claimer)
            response = world.api.post(f"/api/v1/tasks/{task_id}/unclaim",
                                      headers={"Authorization": f"Bearer {world.tokens[actor]}"})
            allowed = policy_allows("tasks.unclaim_others", actor, scope, "task")
            want, state = (200, ("ready", None, None)) if allowed else (409, ("claimed", claimer, None))
            if (response.status_code, world.task_row(task_id)) != (want, state):
                problems.append(f"{actor} ({scope}) unclaiming another's claim: {response.status_code}, "
                                f"task {world.task_row(task_id)}; expected {want}, {state}")
    assert not problems, "\n".join(problems)


def test_the_expectation_table_covers_every_user_and_scope():
    for table, scopes in ((TASK_ACCESS, TASK_SCOPES), (INSTANCE_ACCESS, DEAL_SCOPES), (LOAN_ACCESS, DEAL_SCOPES),
                          (APPLICATION_ACCESS, DEAL_SCOPES)):
        assert set(table) == set(ACTORS)
        for actor, levels in table.items():
            assert set(levels) == set(scopes) and set(levels.values()) <= {ACT, SEE, HIDDEN}, actor
    # the other organisation's deal is hidden from every user who is not platform staff
    for actor in set(ACTORS) - PLATFORM_STAFF:
        assert INSTANCE_ACCESS[actor]["other"] == HIDDEN and TASK_ACCESS[actor]["other"] == HIDDEN
        assert LOAN_ACCESS[actor]["other"] == HIDDEN
