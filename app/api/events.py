"""Messages to waiting instances, and incidents of instances that cannot go on."""
from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.events import DeliverySchema, IncidentListArgs, IncidentPage, IncidentSchema, MessageSchema
from app.services.identity.access import require_role
from app.services.workflow import incidents, messages, queries

blp = Blueprint("events", __name__, description="Messages and incidents")
blp.before_request(require_user)


@blp.route("/messages", methods=["POST"])
@blp.arguments(MessageSchema())
@blp.response(200, DeliverySchema)
@blp.errors(403, 404)
def post_message(args):
    """Deliver a message to every instance with that business key waiting for it (404 if none waits)."""
    require_role(current_user(), "platform_admin", "operator")
    return messages.deliver_message(args["name"], args["correlation_key"], args["payload"], current_user().id,
                                    durable=args["durable"], dedup_key=args["dedup_key"])


@blp.route("/incidents")
@blp.arguments(IncidentListArgs(), location="query")
@blp.response(200, IncidentPage)
@blp.errors(403)
def list_incidents(args):
    require_role(current_user(), "platform_admin", "operator", "analyst", "auditor")
    return incidents.list_incidents(**args)


@blp.route("/incidents/<int:incident_id>")
@blp.response(200, IncidentSchema)
@blp.errors(403, 404)
def get_incident(incident_id):
    incident = _visible_incident(incident_id)
    require_role(current_user(), "platform_admin", "operator", "analyst", "auditor")
    return incidents.incident_dict(incident)


@blp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
@blp.response(200, IncidentSchema)
@blp.errors(403, 404, 409)
def retry(incident_id):
    _visible_incident(incident_id)
    require_role(current_user(), "platform_admin", "operator")
    return incidents.retry_incident(incident_id, current_user())


def _visible_incident(incident_id: int):
    """The incident if the caller may see its instance: another organisation's incidents are 404, not 403."""
    incident = incidents.get_incident(incident_id)
    queries.get_instance(current_user(), incident.instance_id)
    return incident
