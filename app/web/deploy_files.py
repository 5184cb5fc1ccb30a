"""Deploy files (`/processes/deploy-files`): an analyst brings a set of files drawn elsewhere — a Camunda
project's diagrams and the forms they name (`.form`, `.html`, `.json`) — checks them together and deploys them
in one step, without the server's forms folder. The check and the deploy are the service's
(`workflow.file_sets`: `definitions.deploy`); this page reads the upload and shows what was said, each finding
in the reader's language, and the versions made."""
from __future__ import annotations

import base64
import binascii
import json

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app.services.errors import Invalid
from app.services.identity.directory import Principal
from app.services.workflow import deployment, file_sets
from app.services.workflow.diagram_reasons import in_language

bp = Blueprint("deploy_files_pages", __name__, template_folder="templates")


@bp.route("/processes/deploy-files", methods=["GET", "POST"])
@login_required
def deploy_files() -> ResponseReturnValue:
    principal = current_user.principal
    deployment.check_may_deploy(principal)  # before the upload is read
    if request.method == "GET":
        return render_template("deploy_files.html", errors={}, findings=None, deployed=None)
    limit = deployment.upload_limit() + 1
    files = [(u.filename or "", u.stream.read(limit)) for u in request.files.getlist("files") if u.filename]
    files = files or _kept(request.form.getlist("kept"))  # the files a clean check showed, deployed from there
    deploying = request.form.get("action") == "deploy"
    findings, deployed, errors, status = None, None, {}, 200
    try:
        if deploying:
            deployed = file_sets.deploy(principal, files)
            findings = [w for v in deployed for w in v.warnings]
        else:
            findings = [p.to_dict() for p in file_sets.check(principal, files)]
    except deployment.DiagramRefused as exc:  # the check's findings, by file (checked once)
        status, findings = 422, [p.to_dict() for p in exc.problems]
    except Invalid as exc:  # files of another kind, a name twice: said at the field, the others checked all the same
        status, errors = 422, exc.fields
        findings = _checked(principal, file_sets.takeable(files)) if len(files) > 1 else None
    if findings is not None:
        findings = [f | {"reason": in_language(f["reason"])} for f in findings]
    clean = not deploying and not errors and findings is not None and not any(f["severity"] == "error"
                                                                               for f in findings)
    return render_template("deploy_files.html", errors=errors, findings=findings, deployed=deployed,
                           checked=not deploying, kept=_keep(files) if clean else None), status


def _checked(principal: Principal, files: list[tuple[str, bytes]]) -> list[dict] | None:
    """What the check says of the files a refused set would take (None when it can say nothing)."""
    try:
        return [p.to_dict() for p in file_sets.check(principal, files)] if files else None
    except deployment.DiagramRefused as exc:
        return [p.to_dict() for p in exc.problems]
    except Invalid:
        return None


def _keep(files: list[tuple[str, bytes]]) -> list[str]:
    """The checked files as the page carries them to the deploy: each its name and bytes, base64 (the browser
    cannot be asked to choose them again without the person doing it)."""
    return [json.dumps([name, base64.b64encode(content).decode("ascii")]) for name, content in files]


def _kept(values: list[str]) -> list[tuple[str, bytes]]:
    """What `_keep` wrote, read back; a value that is not is left out (the set is checked again as it comes)."""
    found: list[tuple[str, bytes]] = []
    for value in values:
        try:
            name, content = json.loads(value)
            found.append((str(name), base64.b64decode(str(content), validate=True)))
        except (ValueError, TypeError, binascii.Error):
            continue
    return found
