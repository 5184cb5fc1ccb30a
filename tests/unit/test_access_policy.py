"""The one access policy (`app/services/identity/policy.py`): its table names known roles on sides
they can be held on, every row is used, and no role code is written outside the policy's modules."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models.identity import ORG_KINDS, ROLES
from app.services.errors import Forbidden
from app.services.identity import grants, policy
from app.services.identity.directory import Principal
from app.services.identity.policy import POLICY, Side

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
# The modules that may name roles: the table, the other halves of the policy (what a user sees and
# is offered; where a role may be held and who grants it), the role vocabulary, and the demo's seed.
ROLE_MODULES = {"app/services/identity/policy.py", "app/services/identity/access.py",
                "app/services/identity/grants.py", "app/models/identity.py", "app/demo.py",
                "app/demo_signing.py"}
QUOTED_ROLE = re.compile(rf"""['"]({'|'.join(ROLES)})['"]""")


def _sources() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _strings(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_no_role_code_outside_the_access_policy():
    found = [f"{_relative(path)}:{line} {value!r}" for path in _sources() if _relative(path) not in ROLE_MODULES
             for line, value in _strings(path) if value in ROLES]
    assert not found, ("role codes outside the access policy: ask app.services.identity.policy "
                       f"(or access/grants) instead: {found}")


VENDOR = APP / "static" / "vendor"


def test_no_role_code_in_templates_or_scripts():
    found = [f"{_relative(path)}:{n} {m.group(1)}"
             for path in sorted([*APP.rglob("*.html"), *APP.rglob("*.js")])
             if VENDOR not in path.parents  # third parties' prebuilt files (axe-core) are not our pages
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             for m in QUOTED_ROLE.finditer(line)]
    assert not found, f"role codes in pages: give the page a value from a service instead: {found}"


def test_the_scans_see_a_role_code_where_one_is_written(tmp_path):
    """The two scans above would notice one: they are not empty by construction."""
    module = tmp_path / "m.py"
    module.write_text('def f(p):\n    return p.has_role("team_lead")\n', encoding="utf-8")
    assert [v for _line, v in _strings(module) if v in ROLES] == ["team_lead"]
    assert QUOTED_ROLE.search("{% if user.has_role('operator') %}")
    assert any(_relative(p) == "app/services/identity/access.py" for p in _sources())


def test_every_grant_names_known_roles_on_a_side_they_can_be_held_on():
    problems = []
    for action, grant_list in POLICY.items():
        assert grant_list, f"{action}: no grant"
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", action), action
        for grant in grant_list:
            unknown = grant.roles - set(ROLES)
            if unknown or not grant.roles:
                problems.append(f"{action}: unknown roles {sorted(unknown)}")
            if grant.side is Side.PLATFORM:
                problems += [f"{action}: {r} is never held in a platform organisation" for r in sorted(grant.roles)
                             if grants.PLATFORM not in grants.ROLE_ORG_KINDS.get(r, ())]
            elif grant.side is Side.PARTY:
                if grant.party not in ORG_KINDS:
                    problems.append(f"{action}: unknown party {grant.party!r}")
                problems += [f"{action}: {r} does not work for the deal's {grant.party}" for r in sorted(grant.roles)
                             if grants.ROLE_PARTY.get(r) != grant.party]
            else:
                assert grant.side is Side.OWN_ORGANISATION and grant.party is None, action
    assert not problems, problems


# The calls that name an action, and where the action is among their arguments: the policy's own
# functions (called as `policy.<name>`) and the services' helpers that hand an action on to them.
POLICY_FUNCTIONS = {"require": 1, "allowed": 1, "grant_for": 1, "may_ever": 1}
FORWARDERS = {"require_on_loan": 2}


def _asked_actions() -> list[tuple[str, int, object]]:
    """(module, line, action) for every call that asks the policy, the action as written."""
    asked = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # a forwarder hands on the action it was given: its callers are the ones that name it
        handed_on = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name in FORWARDERS
                     for n in ast.walk(f)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or id(node) in handed_on:
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "policy":
                index = POLICY_FUNCTIONS.get(func.attr)
            else:
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                index = FORWARDERS.get(name or "")
            if index is None:
                continue
            arg = node.args[index] if len(node.args) > index else next(
                (k.value for k in node.keywords if k.arg == "action"), None)
            value = arg.value if isinstance(arg, ast.Constant) else ast.unparse(arg) if arg else None
            asked.append((_relative(path), node.lineno, value))
    return asked


def test_every_action_asked_for_is_a_row_of_the_table():
    asked = _asked_actions()
    assert len(asked) >= len(POLICY)
    unknown = [f"{path}:{line} {action!r}" for path, line, action in asked if action not in POLICY]
    assert not unknown, f"actions asked for that are not in the access policy (or not written as a literal): {unknown}"


def test_every_action_is_asked_for_somewhere():
    dead = sorted(set(POLICY) - {action for _path, _line, action in _asked_actions()})
    assert not dead, f"rows of the access policy that no service asks for: {dead}"


# -- the evaluator ------------------------------------------------------------------------------

def _principal(roles: set[str], kinds: set[str], org_id: int = 7) -> Principal:
    return Principal(1, "someone", org_id, frozenset(roles), frozenset(kinds))


def test_a_platform_grant_needs_the_role_in_a_platform_organisation():
    assert policy.allowed(_principal({"analyst"}, {"platform"}), "definitions.deploy")
    assert not policy.allowed(_principal({"auditor"}, {"platform"}), "definitions.deploy")
    assert not policy.allowed(_principal({"analyst"}, {"funder"}), "definitions.deploy")


def test_a_party_grant_needs_the_callers_organisation_bound_as_that_party():
    finance = _principal({"finance"}, {"funder"}, org_id=7)
    assert policy.allowed(finance, "payments.confirm", parties={"borrower": 3, "funder": 7})
    assert not policy.allowed(finance, "payments.confirm", parties={"borrower": 7, "funder": 3})
    assert not policy.allowed(finance, "payments.confirm")  # no deal: only platform grants
    assert not policy.allowed(_principal({"finance"}, {"borrower"}), "payments.confirm", parties={"funder": 7})
    assert policy.may_ever(finance, "payments.confirm") and not policy.may_ever(finance, "payments.record")


def test_an_own_organisation_grant_needs_the_object_in_the_callers_organisation():
    lead = _principal({"team_lead"}, {"funder"}, org_id=7)
    assert policy.allowed(lead, "tasks.assign", org_id=7)
    assert not policy.allowed(lead, "tasks.assign", org_id=8)
    assert not policy.allowed(lead, "tasks.assign")  # a task bound to no organisation


def test_require_says_who_may_and_answers_the_grant_that_allowed():
    with pytest.raises(Forbidden) as refused:
        policy.require(_principal({"applicant"}, {"borrower"}), "ledger.trial_balance")
    said = str(refused.value.message)  # the roles and the party by name, never a code
    assert "Auditor" in said and "Funder finance (a party of the deal: Funder)" in said, said
    assert "ledger.trial_balance" not in said and "auditor" not in said, said
    with pytest.raises(Forbidden) as coded:
        policy.require(_principal(set(), {"funder"}), "tasks.assign", code="not_team_lead", message="no")
    assert (coded.value.code, coded.value.message) == ("not_team_lead", "no")
    staff = _principal({"auditor"}, {"platform"})
    assert policy.require(staff, "ledger.trial_balance").side is Side.PLATFORM
    finance = _principal({"finance"}, {"funder"})
    assert policy.require(finance, "ledger.trial_balance", parties={"funder": 7}).side is Side.PARTY
    with pytest.raises(KeyError):
        policy.allowed(staff, "ledger.no_such_action")
