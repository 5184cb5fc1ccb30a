"""The task inbox, the task page with its form, and document downloads."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from app.api.errors import status_of
from app.schemas.common import MAX_PAGE
from app.services.errors import ErrorKind, ServiceError
from app.services.notices import reminders
from app.services.signing import identity_codes
from app.services.signing import progress as signing_progress
from app.services.workflow import documents, inbox, queries, task_view, tasks
from app.services.workflow.labels import localized
from app.services.workflow.uploads import PENDING_DOCUMENT, Upload
from app.text_input import is_whole
from app.web.auth import safe_next
from app.web.schema_form import FormParseError, fields_of, parse_submission

bp = Blueprint("inbox", __name__, template_folder="templates")
PER_PAGE = 20
# A refused form answers with its own status for these kinds, 422 for the rest.
FORM_REFUSALS = frozenset({ErrorKind.FORBIDDEN, ErrorKind.CONFLICT, ErrorKind.TOO_LARGE, ErrorKind.INVALID})
NOT_YOURS = frozenset({ErrorKind.FORBIDDEN, ErrorKind.NOT_FOUND})  # answered as such, never a redirect


def _principal():
    return current_user.principal


def _language() -> str:
    """The page's language code (`zh`, `en`): business content is shown in it."""
    locale = get_locale()
    return locale.language if locale is not None else "en"


def _filters() -> inbox.InboxFilters:
    args = request.args
    due_before = None
    if args.get("due_before"):
        try:
            due_before = datetime.fromisoformat(args["due_before"]).replace(tzinfo=UTC)
        except ValueError:
            due_before = None
    try:
        page = min(max(1, int(args.get("page", 1))), MAX_PAGE)  # past MAX_PAGE the offset overflows
    except ValueError:
        page = 1
    return inbox.InboxFilters(
        view=str(args.get("view")) if args.get("view") in inbox.VIEWS else "mine", process_id=args.get("process") or None,
        element_id=args.get("task") or None, business_key=args.get("key") or None,
        party=args.get("party") or None, due_before=due_before, q=args.get("q") or None,
        sort=str(args.get("sort")) if args.get("sort") in inbox.SORTS else "due", page=page, per_page=PER_PAGE,
        language=_language())


@bp.route("/")
@login_required
def index():
    filters = _filters()
    result = inbox.inbox(_principal(), filters)
    pages = max(1, -(-result["total"] // PER_PAGE))
    assignees = tasks.assignable_for(_principal(), result["items"]) if filters.view == "team" else {}
    return render_template("inbox.html", result=result, filters=filters, counts=inbox.counts(_principal()),
                           pages=pages, assignees=assignees)


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task_page(task_id: int):
    principal = _principal()
    detail = queries.task_detail(principal, task_id, _language())  # 404 for tasks this user may not see
    schema, ui = detail["form"] or {"type": "object", "properties": {}}, detail["ui_form"] or {}
    errors: dict[str, list[str]] = {}
    values: dict | None = None  # posted back after an error; else what the task was done with, or starts with
    status = 200
    if request.method == "POST" and request.form.get("send_code"):  # 获取验证码: the form stays as typed
        values = posted_values()
        try:
            sent = identity_codes.send_code(principal, task_id, request.form.get("mobile", ""))
        except ServiceError as exc:
            errors = exc.fields or {"_form": [exc.message]}
            status = 422 if exc.kind is ErrorKind.INVALID else status_of(exc)
        else:
            flash(_("The verification code was sent to %(mobile)s by SMS. (Simulator: its sandbox code is %(code)s.)",
                    mobile=sent["mobile"], code=sent["sandbox_code"]) if sent["sandbox_code"]
                  else _("The verification code was sent to %(mobile)s by SMS.", mobile=sent["mobile"]))
    elif request.method == "POST":
        uploads: list[Upload] = []
        try:
            data = parse_submission(schema, ui, request.form, request.files, upload_keeper(uploads))
            tasks.complete_task(task_id, data, principal, uploads)
        except FormParseError as exc:  # said with what the form's checks find in the fields that did read
            others = tasks.answer_problems(task_id, exc.data, principal)
            errors = {**{name: said for name, said in others.items() if name not in exc.fields}, **exc.fields}
            values, status = posted_values(), 422
        except ServiceError as exc:
            errors = exc.fields or {"_form": [exc.message]}  # the services' messages are in the reader's language
            values, status = posted_values(), status_of(exc) if exc.kind in FORM_REFUSALS else 422
        else:
            return _after_completion(principal, task_id)
    page = task_view.task_page(principal, task_id, _language())
    if values is None:
        values = detail["data"] or page["form_values"]
    can_work = tasks.may_work(task_id, principal)
    return render_template("task.html", view=page, task=page["task"], fields=fields_of(
                               schema, ui, nested_values(values), language=_language()), errors=errors,
                           assignees=tasks.assignable_users(task_id, principal), can_work=can_work,
                           may_remind=reminders.may_remind(task_id, principal),
                           four_eyes=not can_work and tasks.four_eyes_refused(task_id, principal),
                           docs=documents.instance_documents(principal, detail["instance_id"]),
                           form_help=localized(schema, "description", _language())), status


def _after_completion(principal, task_id: int):
    """Where a completed task leads: a failed identity verification says so, with the attempts left, on the
    task to try again in; anything else says the task is done."""
    attempt = signing_progress.identity_attempt(principal, task_id)
    if attempt is None or attempt["verified"]:
        flash(_("Task completed."))
        return redirect(url_for("inbox.index"))
    if attempt["remaining"] and attempt["retry_task_id"]:
        flash(_("Identity verification failed: %(reason)s. Attempts left: %(n)s. Please check your details and try "
                "again.", reason=attempt["reason"], n=attempt["remaining"]), "error")
        return redirect(url_for("inbox.task_page", task_id=attempt["retry_task_id"]))
    flash(_("Identity verification failed: %(reason)s. No attempts are left: the signing has stopped.",
            reason=attempt["reason"]), "error")
    return redirect(url_for("inbox.index"))


def upload_keeper(uploads: list[Upload]) -> Callable[[str, FileStorage], str]:
    """`parse_submission`'s callback for a form's files: each checked now (the wrong type refused next to its
    field) and added to `uploads`, its field's value a placeholder the service makes `document:<id>`."""
    def keep(name: str, upload: FileStorage) -> str:
        content = upload.read()
        documents.sniff(content, upload.filename or "")
        uploads.append(Upload(name, upload.filename or "upload", content))
        return PENDING_DOCUMENT
    return keep


def posted_values() -> dict:
    """The posted fields to refill the form with: a name posted several times (the choices ticked in a group
    of checkboxes) keeps all its values."""
    return {name: values if len(values) > 1 else values[0] for name, values in request.form.lists()}


def nested_values(values: dict) -> dict:
    """Flat posted names (`items.0.amount`) back into nested values, to refill a form."""
    out: dict = {}
    for key, value in values.items():
        if key == "csrf_token":
            continue
        target = out
        parts = key.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    for key, value in list(out.items()):
        if isinstance(value, dict) and value and all(is_whole(k) for k in value):
            out[key] = [value[k] for k in sorted(value, key=int)]
    return out


def _task_action(action, task_id: int) -> None:
    """Claim or release: refusals the user should see become flashes; 403/404 are answered as such."""
    try:
        action(task_id, _principal())
    except ServiceError as exc:
        if exc.kind in NOT_YOURS:  # not yours to see / to do: its error page says why, never a redirect as if it worked
            raise
        flash(exc.message, "error")


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    _task_action(tasks.claim_task, task_id)
    return redirect(safe_next(request.form.get("next")))


@bp.route("/tasks/<int:task_id>/assign", methods=["POST"])
@login_required
def assign(task_id: int):
    """A team lead gives the task to one of the people who may work it."""
    username = (request.form.get("username") or "").strip()
    try:
        tasks.assign_task(task_id, username, _principal())
    except ServiceError as exc:
        if exc.kind in NOT_YOURS:
            abort(status_of(exc))
        flash(exc.message, "error")
    else:
        flash(_("Task assigned to %(user)s.", user=username))
    if request.form.get("next"):  # assigned from a list: back to it
        return redirect(safe_next(request.form.get("next")))
    return redirect(url_for("inbox.task_page", task_id=task_id))


@bp.route("/tasks/<int:task_id>/remind", methods=["POST"])
@login_required
def remind(task_id: int):
    """催办: the task's holder, or its group, is reminded that it waits (refused within the hour: said why)."""
    try:
        sent = reminders.remind(task_id, _principal())
    except ServiceError as exc:
        if exc.kind in NOT_YOURS:
            abort(status_of(exc))
        flash(exc.message, "error")
    else:
        flash(ngettext("Reminder sent: %(num)d person was notified.", "Reminder sent: %(num)d people were notified.",
                       sent["recipients"]))
    if request.form.get("next"):  # reminded from the deal's page: back to it
        return redirect(safe_next(request.form.get("next")))
    return redirect(url_for("inbox.task_page", task_id=task_id))


@bp.route("/tasks/<int:task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id: int):
    _task_action(tasks.unclaim_task, task_id)
    return redirect(url_for("inbox.index"))


@bp.route("/documents/<int:document_id>")
@login_required
def document(document_id: int):
    doc = documents.get_document(_principal(), document_id)
    from io import BytesIO

    return send_file(BytesIO(doc.content), mimetype=doc.content_type, as_attachment=True,
                     download_name=doc.filename)
