"""The operator mapping table over the API (issue 17): list, map and remove which registered operator
runs a Camunda service implementation (the platform admin: `operator_mappings.manage`)."""
from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.operator_mappings import NewOperatorMappingSchema, OperatorMappingList, OperatorMappingSchema
from app.services.workflow import operator_mappings

blp = Blueprint("operator_mappings", __name__, url_prefix="/operator-mappings",
                description="Camunda service implementations mapped to operators (platform admins)")
blp.before_request(require_user)


@blp.route("")
@blp.response(200, OperatorMappingList)
@blp.errors(403)
def list_mappings():
    """Every mapping, by kind and value, and the operators a mapping may name."""
    return {"items": operator_mappings.list_mappings(current_user()), "operators": operator_mappings.operators()}


@blp.route("", methods=["POST"])
@blp.arguments(NewOperatorMappingSchema())
@blp.response(200, OperatorMappingSchema)
@blp.errors(403, 422)
def map_operator(args):
    """Map an implementation to a registered operator; diagrams deployed from now on call it."""
    return operator_mappings.map_operator(current_user(), **args)  # kind, value, operator, parameters


@blp.route("/<int:mapping_id>", methods=["DELETE"])
@blp.response(204)
@blp.errors(403, 404)
def remove_mapping(mapping_id):
    """Remove a mapping; deployed versions keep the operator they were deployed with."""
    operator_mappings.remove_mapping(current_user(), mapping_id)
    return "", 204
