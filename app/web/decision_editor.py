"""The decision editor (`/decisions/<id>/edit`): the newest version's table in the vendored dmn-js
modeler (`static/decision_editor.js`); Check runs the strict check on the edited file and lists each
problem with the rule and column it concerns, Deploy makes the next version (and the processes that
use the decision). Who may is the service's (`workflow.decision_editor`)."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.services.errors import Invalid
from app.services.workflow import decision_editor
from app.services.workflow.decision_editor import TableProblem
from app.web import dmn_words
from app.web.code_words import with_parts

bp = Blueprint("decision_editor", __name__, template_folder="templates")


@bp.app_context_processor
def decision_edit_link() -> dict[str, object]:
    """Whether pages offer to edit decisions; and dmn-js's words in the reader's language (`_dmn.html`)."""
    return {"may_edit_decisions": bool(current_user.is_authenticated
                                       and decision_editor.may_edit(current_user.principal)),
            "dmn_words": dmn_words.dictionary}


def _where(p: TableProblem) -> str:
    """Where a problem is, in the reader's language (a rule's number, a column's label)."""
    if p.rule is not None and p.column:
        return _("Rule %(n)s, column %(column)s", n=p.rule, column=p.column)
    if p.rule is not None:
        return _("Rule %(n)s", n=p.rule)
    if p.column:
        return _("Column %(column)s", column=p.column)
    return _("The table")


def _problems(found: list[TableProblem]) -> list[dict]:
    return [with_parts({"element_id": p.element_id, "rule_id": p.rule_id, "where": _where(p), "reason": p.reason,
                        "severity": p.severity}) for p in found]


@bp.route("/decisions/<decision_id>/edit")
@login_required
def edit(decision_id: str) -> ResponseReturnValue:
    decision = decision_editor.decision_for_edit(current_user.principal, decision_id)
    return render_template("decision_editor.html", decision=decision, source_url=url_for(
        "catalogue_pages.download", process_id=decision_id, version=decision.version))


@bp.route("/decisions/<decision_id>/check", methods=["POST"])
@login_required
def check(decision_id: str) -> ResponseReturnValue:
    found = decision_editor.check(current_user.principal, decision_id, request.get_data())
    return jsonify(problems=_problems(found), ok=not any(p.severity == "error" for p in found))


@bp.route("/decisions/<decision_id>/deploy", methods=["POST"])
@login_required
def deploy(decision_id: str) -> ResponseReturnValue:
    content = request.get_data()
    try:
        results = decision_editor.deploy(current_user.principal, decision_id, content)
    except Invalid:
        found = decision_editor.check(current_user.principal, decision_id, content)
        return jsonify(problems=_problems(found), ok=False), 422
    new = [r for r in results if r.status == "new"]
    said = [_("%(id)s version %(n)s", id=r.process_id, n=r.version) for r in new]
    return jsonify(ok=True, versions=[{"id": r.process_id, "kind": r.kind, "version": r.version} for r in new],
                   message=_("Deployed: %(versions)s.", versions=", ".join(said)) if said
                   else _("Nothing changed: the table is the same as the newest version."))
