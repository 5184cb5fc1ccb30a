"""Process definitions: list the deployed versions, upload a diagram."""
from flask import request
from flask_babel import lazy_gettext as _l

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.processes import DeploymentResultSchema, ProcessDefinitionSchema
from app.services.errors import Invalid
from app.services.workflow import deployment

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
    "properties": {"file": {"type": "string", "format": "binary", "description": "a .bpmn or .dmn file"}}}}}})
def upload_definition():
    """Upload one .bpmn or .dmn file in the multipart field `file`."""
    deployment.check_may_deploy(current_user())
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_l("upload a diagram in the multipart field 'file'"), fields={"file": [_l("missing")]})
    name = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if not deployment.is_diagram_name(name):
        raise Invalid(_l("only .bpmn and .dmn files (or .bpmn20.xml, .dmn11.xml) can be deployed"),
                      fields={"file": [_l("wrong file type")]})
    content = upload.stream.read(deployment.upload_limit() + 1)
    results = deployment.deploy_and_commit([deployment.DiagramFile(name, content)], current_user().id)
    return {"processes": results}
