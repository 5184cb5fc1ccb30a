"""The start page: a person of the platform starts an instance of a process by filling the form its none start
event asks (`/processes/<id>/new-instance`), as Camunda's Tasklist starts a process with its start form — a
Camunda `camunda:formData` start form, a `.form` or embedded HTML form a `camunda:formKey` names, Camunda 8's
`zeebe:formDefinition`. The form is checked as the API's start checks it (`instances.start`), files posted in
it are kept as the new instance's documents, and the page goes on to the instance. The form carries a key
made when the page was drawn: sent twice (a double click, the answer reloaded, the browser's Back and the
button again), it starts one instance and the second sending goes to it (`start_keys`). Who may: the platform's
admins and operators (`instances.start`), and the analysts who may try a process they deploy (as the modeler's
test instance, `definitions.deploy`); a process without a start form has no start page (the API, a calling
process or the modeler's test instance starts it)."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.api.errors import status_of
from app.services.errors import Forbidden, ServiceError
from app.services.workflow import catalogue, instances, start_forms, start_keys
from app.services.workflow.labels import localized
from app.services.workflow.uploads import Upload
from app.web.inbox import FORM_REFUSALS, nested_values, posted_values, upload_keeper
from app.web.modeler import INSTANCE_STATUS
from app.web.schema_form import FormParseError, fields_of, parse_submission

bp = Blueprint("start_pages", __name__, template_folder="templates")
MAX_BUSINESS_KEY = 128  # as the API's (`StartInstanceSchema`) and the instances' column
MAY_NOT_START = _l("Starting an instance on its start page needs the role of a platform administrator, an operator or "
                   "a business analyst.")


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


@bp.app_context_processor
def start_link() -> dict[str, bool]:
    return {"may_start_instances": bool(current_user.is_authenticated
                                        and start_forms.may_start_on_page(current_user.principal))}


@bp.route("/processes/<process_id>/new-instance", methods=["GET", "POST"])
@login_required
def new_instance(process_id: str) -> ResponseReturnValue:
    principal = current_user.principal
    if not start_forms.may_start_on_page(principal):
        raise Forbidden(MAY_NOT_START, code="may_not_start")
    entry = catalogue.process_entry(principal, process_id, _language())  # 404: no such process
    found = instances.start_form_and_ui(process_id) if entry.kind == "process" else None
    if found is None:
        abort(404, _("This process has no start form: the API, a calling process or a test instance starts it."))
    schema, ui = found
    errors: dict[str, list[str]] = {}
    values: dict = {}
    business_key = ""
    start_key = secrets.token_urlsafe(16)  # this drawing of the form's: a refused sending keeps it
    status = 200
    if request.method == "POST":
        business_key = request.form.get("business_key", "").strip()
        start_key = request.form.get("start_key", "").strip()[:start_keys.MAX_KEY] or start_key
        uploads: list[Upload] = []
        try:
            if len(business_key) > MAX_BUSINESS_KEY:
                raise FormParseError({"business_key": [_("At most %(n)d characters.", n=MAX_BUSINESS_KEY)]})
            data = parse_submission(schema, ui, request.form, request.files, upload_keeper(uploads))
            started = instances.start(process_id, principal, business_key or None, data, uploads=uploads,
                                      access_checked=True,  # asked above: an analyst's start is a test
                                      start_key=start_key)
        except FormParseError as exc:
            errors, values, status = exc.fields, posted_values(), 422
        except start_keys.KeyUsed as exc:  # sent before with another business key (the browser's Back, then changed)
            errors = {"_form": [_("This form was sent already and started instance %(id)s. The form below is a new "
                                  "one: send it to start another instance.", id=exc.instance_id)]}
            values, status, start_key = posted_values(), 409, secrets.token_urlsafe(16)
        except ServiceError as exc:  # the services' messages are in the reader's language
            errors = exc.fields or {"_form": [exc.message]}
            values, status = posted_values(), status_of(exc) if exc.kind in FORM_REFUSALS else 422
        else:
            now = INSTANCE_STATUS.get(started["status"], started["status"])
            if started.get("duplicate"):  # the form sent again: where the first sending went
                flash(_("This form was sent already: it started instance %(id)s, now %(status)s.", id=started["id"],
                        status=now))
            else:
                flash(_("Instance %(id)s started: %(status)s.", id=started["id"], status=now))
            return redirect(url_for("instance_pages.show", instance_id=started["id"]))
    return render_template("instance_start.html", entry=entry, business_key=business_key, start_key=start_key,
                           errors=errors,
                           fields=fields_of(schema, ui, nested_values(values), language=_language()),
                           form_help=localized(schema, "description", _language())), status
