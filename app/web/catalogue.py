"""The process catalogue for the platform's staff: every process and decision (`/processes`), one with
its versions and the chosen version's diagram (`/processes/<id>?version=N`, drawn in the browser by the
vendored bpmn-js viewer, `static/catalogue.js`), and any version's file as deployed. Who may read it is
the service's (`workflow.catalogue`)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, get_locale, ngettext
from flask_login import current_user, login_required

from app.services.workflow import catalogue, version_diff

bp = Blueprint("catalogue_pages", __name__, template_folder="templates")
EQUAL_VERSIONS = "Choose two different versions to compare."  # English: the error page shows its translation
MEDIA_TYPES = {".bpmn": "application/xml", ".dmn": "application/xml"}


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


@bp.app_context_processor
def catalogue_link() -> dict[str, bool]:
    return {"may_see_catalogue": bool(current_user.is_authenticated and catalogue.may_read(current_user.principal))}


@bp.route("/processes")
@login_required
def index() -> ResponseReturnValue:
    return render_template("catalogue.html", entries=catalogue.catalogue(current_user.principal, _language()),
                           startable=catalogue.startable(current_user.principal))


@bp.route("/processes/<process_id>")
@login_required
def show(process_id: str) -> ResponseReturnValue:
    entry = catalogue.process_entry(current_user.principal, process_id, _language())
    chosen = request.args.get("version", type=int) or entry.versions[0].version
    if chosen not in {v.version for v in entry.versions}:
        abort(404)
    return render_template("catalogue_process.html", entry=entry, chosen=chosen, when=format_datetime,
                           every=_span)


def _span(span: timedelta) -> str:
    """The time between two timer starts in its largest whole unit ("90 minutes", not "2 hours")."""
    seconds = int(span.total_seconds())
    if seconds % 86400 == 0:
        return ngettext("%(num)d day", "%(num)d days", seconds // 86400)
    if seconds % 3600 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", seconds // 3600)
    if seconds % 60 == 0:
        return ngettext("%(num)d minute", "%(num)d minutes", seconds // 60)
    return ngettext("%(num)d second", "%(num)d seconds", seconds)


@bp.route("/processes/<process_id>/diff")
@login_required
def diff(process_id: str) -> ResponseReturnValue:
    entry = catalogue.process_entry(current_user.principal, process_id, _language())
    known = {v.version for v in entry.versions}
    chosen = (request.args.get("from", type=int), request.args.get("to", type=int))
    if chosen[0] is None or chosen[1] is None or chosen[0] == chosen[1]:
        abort(400, EQUAL_VERSIONS)
    if not set(chosen) <= known:
        abort(404)
    result = version_diff.diff(current_user.principal, process_id, chosen[0], chosen[1], _language())
    marked = [f"{e.element_id}:added" for e in result.added] + [f"{e.element_id}:changed" for e in result.changed]
    return render_template("catalogue_diff.html", entry=entry, diff=result, markers=" ".join(marked))


@bp.route("/processes/<process_id>/versions/<int:version>/diagram")
@login_required
def diagram(process_id: str, version: int) -> ResponseReturnValue:
    """The version drawn in the reader's language (the viewer's source; Download gives the file as deployed)."""
    response = Response(catalogue.version_diagram(current_user.principal, process_id, version, _language()),
                        mimetype="application/xml")
    response.headers["Cache-Control"] = "private, no-store"  # it follows the reader's language
    return response


@bp.route("/processes/<process_id>/versions/<int:version>/download")
@login_required
def download(process_id: str, version: int) -> ResponseReturnValue:
    filename, source = catalogue.version_source(current_user.principal, process_id, version)
    suffix = filename[filename.rfind("."):].lower() if "." in filename else ""
    response = Response(source, mimetype=MEDIA_TYPES.get(suffix, "application/octet-stream"))
    response.headers.set("Content-Disposition", "attachment", filename=f"{process_id}-v{version}{suffix}")
    return response
