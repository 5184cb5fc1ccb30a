"""Process definitions: list the deployed versions, upload a diagram."""
from flask import request
from flask_babel import lazy_gettext as _l

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.processes import DeploymentResultSchema, ProcessDefinitionSchema
from app.services.errors import Invalid
from app.services.workflow import deployment, file_sets

blp = Blueprint("process_definitions", __name__, url_prefix="/process-definitions",
                description="Deployed BPMN processes and DMN decisions")
blp.before_request(require_user)


@blp.route("")
@blp.response(200, ProcessDefinitionSchema(many=True))
@blp.errors(403)
def list_definitions():
    return deployment.processes_for(current_user())


@blp.route("", methods=["POST"])
@blp.response(201, DeploymentResultSchema)
@blp.errors(403, 422)
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"},
                            "description": "a .bpmn or .dmn file; or several, in repeated `file` fields, with the "
                                           "forms they name (.form, .html, .json), deployed together"}}}}}})
def upload_definition():
    """Upload one .bpmn or .dmn file in the multipart field `file`; or several `file` fields, diagrams and the
    forms they name (a Camunda project's), checked and deployed together (`file_sets`)."""
    deployment.check_may_deploy(current_user())
    uploads = [u for u in request.files.getlist("file") if u.filename]
    if not uploads:
        raise Invalid(_l("upload a diagram in the multipart field 'file'"), fields={"file": [_l("missing")]})
    limit = deployment.upload_limit() + 1
    name = _name(uploads[0].filename)
    if len(uploads) == 1 and not deployment.is_diagram_name(name) and not name.lower().endswith(file_sets.FORM_SUFFIXES):
        raise Invalid(_l("only .bpmn and .dmn files (or .bpmn20.xml, .dmn11.xml) can be deployed"),
                      fields={"file": [_l("wrong file type")]})
    if len(uploads) > 1 or not deployment.is_diagram_name(name):
        return {"processes": file_sets.deploy(current_user(), [(u.filename or "", u.stream.read(limit))
                                                               for u in uploads], "file")}
    results = deployment.deploy_and_commit([deployment.DiagramFile(name, uploads[0].stream.read(limit))],
                                           current_user().id)
    return {"processes": results}


def _name(filename: str | None) -> str:
    return (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
