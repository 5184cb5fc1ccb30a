"""The group mapping table over the API (issue 17): list, map and remove which role is offered the
user tasks a diagram offers to a Camunda group (the platform admin: `group_mappings.manage`)."""
from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.group_mappings import GroupMappingList, GroupMappingSchema, NewGroupMappingSchema
from app.services.workflow import group_mappings

blp = Blueprint("group_mappings", __name__, url_prefix="/group-mappings",
                description="Camunda groups mapped to roles (platform admins)")
blp.before_request(require_user)


@blp.route("")
@blp.response(200, GroupMappingList)
@blp.errors(403)
def list_mappings():
    """Every mapping, by group, and the roles a group may be mapped to."""
    return {"items": group_mappings.list_mappings(current_user()), "roles": group_mappings.roles()}


@blp.route("", methods=["POST"])
@blp.arguments(NewGroupMappingSchema())
@blp.response(200, GroupMappingSchema)
@blp.errors(403, 422)
def map_group(args):
    """Map a group to a role; diagrams deployed from now on offer its tasks to that role."""
    return group_mappings.map_group(current_user(), args["group"], args["role"])


@blp.route("/<int:mapping_id>", methods=["DELETE"])
@blp.response(204)
@blp.errors(403, 404)
def remove_mapping(mapping_id):
    """Remove a mapping; deployed versions keep the roles they were deployed with."""
    group_mappings.remove_mapping(current_user(), mapping_id)
    return "", 204
