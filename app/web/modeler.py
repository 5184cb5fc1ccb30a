"""The analyst's modeler: `/processes/<id>/edit` opens the newest version of a process in the vendored
bpmn-js modeler with our own properties panel (`static/modeler.js`), `/processes/new` starts a new one from a
minimal diagram; the page posts its drawing to `/check` (the strict check, each problem tied to its
element), `/deploy` (the next version) and `/start` (a test instance). Who may is the service's
(`workflow.modeler`: `definitions.deploy`)."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.api.errors import service_error_response
from app.services.errors import Invalid, ServiceError
from app.services.workflow import instances, modeler
from app.web.code_words import with_parts
from app.web.error_pages import service_error_page

bp = Blueprint("modeler_pages", __name__, template_folder="templates")

# What the properties panel and the page's script say, in the reader's language (modeler.js has no text).
PANEL_TEXT = {
    "properties": _l("Properties"), "nothing": _l("Select an element on the diagram to edit its properties."),
    "id": _l("Id"), "type": _l("Element"), "name": _l("Name (English)"), "name_zh": _l("Name (Chinese)"),
    "process": _l("The process"), "lane": _l("Lane"), "lane_role": _l("Who works this lane"),
    "lane_hint": _l("To change who works the task, drag it into another lane."),
    "no_lane": _l("No lane: the instance's starter and the platform's operators work it"),
    "form": _l("Form"), "ui_form": _l("Form layout (UI schema)"), "none": _l("(none)"),
    "unknown": _l("(not available here)"), "due_in": _l("Due in (ISO 8601 duration, e.g. P2D)"),
    "due_at": _l("Due at (an expression; wins over Due in)"), "priority": _l("Priority (1 most urgent, 5 least)"),
    "priority_expression": _l("Priority expression (wins over Priority)"),
    "four_eyes": _l("Four eyes: not by whoever completed this task"),
    "service_operator": _l("Service operator"), "result_variable": _l("Result variable"),
    "parameters": _l("Parameters"), "parameter": _l("Parameter"), "value": _l("Value (an expression)"),
    "add_parameter": _l("Add a parameter"), "remove": _l("Remove"), "script": _l("Script"),
    "pre_script": _l("Pre-script (runs before the task)"), "post_script": _l("Post-script (runs after the task)"),
    "condition": _l("Condition (an expression)"),
    "default_flow": _l("The gateway's default flow: taken when no condition holds"),
    "timer": _l("Timer"), "timeDate": _l("At a date and time"), "timeDuration": _l("After a duration"),
    "timeCycle": _l("Repeatedly (a cycle)"), "timer_value": _l('Timer value (an expression: "PT48H" in quotes)'),
    "message": _l("Message name"), "message_variable": _l("Variable that receives the message's payload"),
    "message_payload": _l("Payload (an expression: what the message carries)"),
    "sending": _l("Who receives it"),
    "sending_text": _l("The instances of this deal (the same business key) that wait for the message; if none "
                       "does, it starts the process whose message start event takes it."),
    "correlation": _l("Correlation"),
    "correlation_text": _l("A message reaches the instances waiting for it whose business key equals the "
                           "message's correlation key."),
    "called_process": _l("Process to call"), "called_decision": _l("Decision table to evaluate"),
    "error": _l("Error"), "warning": _l("Warning"), "whole_diagram": _l("The whole diagram"),
    "checking": _l("Checking…"), "deploying": _l("Deploying…"), "starting": _l("Starting…"),
    "no_problems": _l("No problems: the diagram may be deployed."),
    "only_warnings": _l("No errors: the diagram may be deployed (read the warnings)."),
    "has_errors": _l("Errors remain: correct them (click one to find its element), then check again."),
    "changed": _l("Changed since the last check: check it before deploying."),
    "failed": _l("The request failed. Reload the page and try again."),
    "draw_failed": _l("The diagram could not be drawn."),
}
# The kinds of element the panel names (others show their BPMN type, marked as code).
ELEMENT_TYPES = {
    "bpmn:UserTask": _l("User task"), "bpmn:ServiceTask": _l("Service task"), "bpmn:ScriptTask": _l("Script task"),
    "bpmn:BusinessRuleTask": _l("Business rule task"), "bpmn:ReceiveTask": _l("Receive task"),
    "bpmn:SendTask": _l("Send task"),
    "bpmn:ManualTask": _l("Manual task"), "bpmn:Task": _l("Task"), "bpmn:CallActivity": _l("Call activity"),
    "bpmn:SubProcess": _l("Subprocess"), "bpmn:SequenceFlow": _l("Sequence flow"),
    "bpmn:ExclusiveGateway": _l("Exclusive gateway"), "bpmn:ParallelGateway": _l("Parallel gateway"),
    "bpmn:InclusiveGateway": _l("Inclusive gateway"), "bpmn:EventBasedGateway": _l("Event-based gateway"),
    "bpmn:StartEvent": _l("Start event"), "bpmn:EndEvent": _l("End event"),
    "bpmn:IntermediateCatchEvent": _l("Intermediate catch event"),
    "bpmn:IntermediateThrowEvent": _l("Intermediate throw event"), "bpmn:BoundaryEvent": _l("Boundary event"),
    "bpmn:Lane": _l("Lane"), "bpmn:Participant": _l("Pool"),
}
INSTANCE_STATUS = {"running": _l("running"), "waiting": _l("waiting"), "error": _l("stopped with an incident"),
                   "completed": _l("completed"), "cancelled": _l("cancelled")}


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError) -> ResponseReturnValue:
    """The page's script posts JSON and reads a JSON error; a page opened in the browser gets the error page."""
    if request.method == "POST":
        return service_error_response(exc)
    return service_error_page(exc)


@bp.app_context_processor
def modeler_link() -> dict[str, bool]:
    return {"may_edit_processes": bool(current_user.is_authenticated and modeler.may_edit(current_user.principal))}


def _render(draft: modeler.Draft) -> ResponseReturnValue:
    options = modeler.editor_options(current_user.principal, _language()).to_dict()
    start_form = bool(draft.latest) and instances.start_form(draft.process_id) is not None
    return render_template("modeler.html", draft=draft, options=options, start_form=start_form,
                           text={key: str(value) for key, value in PANEL_TEXT.items()},
                           types={key: str(value) for key, value in ELEMENT_TYPES.items()})


@bp.route("/processes/<process_id>/edit")
@login_required
def edit(process_id: str) -> ResponseReturnValue:
    return _render(modeler.open_draft(current_user.principal, process_id, _language()))


@bp.route("/processes/new")
@login_required
def new() -> ResponseReturnValue:
    typed = {key: request.args.get(key, "") for key in ("process_id", "name_en", "name_zh")}
    if not request.args:
        modeler.editor_options(current_user.principal, _language())  # asks the policy before showing the form
        return render_template("modeler_new.html", typed=typed, errors={})
    try:
        draft = modeler.new_draft(current_user.principal, typed["process_id"], typed["name_en"], typed["name_zh"])
    except Invalid as exc:
        return render_template("modeler_new.html", typed=typed, errors=exc.fields), 422
    return _render(draft)


@bp.route("/processes/open", methods=["POST"])
@login_required
def open_file() -> ResponseReturnValue:
    """A diagram file drawn elsewhere (Camunda Modeler...), opened in the modeler: check it, then deploy."""
    upload = request.files.get("file")
    try:
        draft = modeler.open_file(current_user.principal, upload.filename or "" if upload else "",
                                  upload.read() if upload else b"", _language())
    except Invalid as exc:
        return render_template("modeler_new.html", typed={}, errors=exc.fields), 422
    return _render(draft)


@bp.route("/processes/<process_id>/check", methods=["POST"])
@login_required
def check(process_id: str) -> ResponseReturnValue:
    problems = modeler.check(current_user.principal, process_id, request.get_data())
    return jsonify(problems=[with_parts(p.to_dict()) for p in problems])


@bp.route("/processes/<process_id>/deploy", methods=["POST"])
@login_required
def deploy(process_id: str) -> ResponseReturnValue:
    outcome = modeler.deploy(current_user.principal, process_id, request.get_data())
    problems = [with_parts(p.to_dict()) for p in outcome.problems]
    if outcome.version is None:
        return jsonify(deployed=False, problems=problems,
                       message=_("Not deployed: the check found errors. Nothing was changed.")), 422
    message = (_("Deployed as version %(n)s.", n=outcome.version) if outcome.status == "new"
               else _("Nothing changed: the process stays at version %(n)s.", n=outcome.version))
    return jsonify(deployed=True, version=outcome.version, status=outcome.status, problems=problems,
                   message=message, link=_("Open version %(n)s in the catalogue", n=outcome.version),
                   url=url_for("catalogue_pages.show", process_id=process_id, version=outcome.version))


@bp.route("/processes/<process_id>/start", methods=["POST"])
@login_required
def start(process_id: str) -> ResponseReturnValue:
    body = request.get_json(silent=True) or {}
    started = modeler.start_test_instance(current_user.principal, process_id, str(body.get("business_key", "")))
    status = str(INSTANCE_STATUS.get(started.status, started.status))
    return jsonify(instance_id=started.instance_id, version=started.version, status=started.status,
                   message=_("Test instance %(id)s started on version %(n)s: %(status)s.", id=started.instance_id,
                             n=started.version, status=status),
                   link=_("Open instance %(id)s", id=started.instance_id),
                   url=url_for("instance_pages.show", instance_id=started.instance_id)), 201
