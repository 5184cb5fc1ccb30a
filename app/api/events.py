"""Messages to waiting instances, and incidents of instances that cannot go on."""
from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.events import DeliverySchema, IncidentListArgs, IncidentPage, IncidentSchema, MessageSchema
from app.services.workflow import incidents, messages

blp = Blueprint("events", __name__, description="Messages and incidents")
blp.before_request(require_user)


@blp.route("/messages", methods=["POST"])
@blp.arguments(MessageSchema())
@blp.response(200, DeliverySchema)
@blp.errors(403, 404)
def post_message(args):
    """Deliver a message to every instance with that business key waiting for it (404 if none waits)."""
    return messages.post_message(current_user(), args["name"], args["correlation_key"], args["payload"],
                                 durable=args["durable"], dedup_key=args["dedup_key"])


@blp.route("/incidents")
@blp.arguments(IncidentListArgs(), location="query")
@blp.response(200, IncidentPage)
@blp.errors(403)
def list_incidents(args):
    return incidents.list_incidents(current_user(), **args)


@blp.route("/incidents/<int:incident_id>")
@blp.response(200, IncidentSchema)
@blp.errors(403, 404)
def get_incident(incident_id):
    return incidents.incident_for(current_user(), incident_id)


@blp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
@blp.response(200, IncidentSchema)
@blp.errors(403, 404, 409)
def retry(incident_id):
    return incidents.retry_incident(incident_id, current_user())
