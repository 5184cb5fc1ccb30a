"""Messages to waiting instances, signals to all that wait for them, and incidents of instances that cannot go on."""
from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.events import (
    DeliverySchema,
    IncidentListArgs,
    IncidentPage,
    IncidentSchema,
    MessageSchema,
    SignalDeliverySchema,
    SignalSchema,
)
from app.schemas.migrations import RetrySchema
from app.services.workflow import incidents, messages, signals

blp = Blueprint("events", __name__, description="Messages, signals and incidents")
blp.before_request(require_user)


@blp.route("/messages", methods=["POST"])
@blp.arguments(MessageSchema())
@blp.response(200, DeliverySchema)
@blp.errors(403, 404, 422)
def post_message(args):
    """Deliver a message to every instance with that business key waiting for it; when none waits, start the
    process whose message start event takes it, with that business key (`delivered_to`: the new instance);
    404 if none waits and no process starts on it."""
    return messages.post_message(current_user(), args["name"], args["correlation_key"], args["payload"],
                                 durable=args["durable"], dedup_key=args["dedup_key"])


@blp.route("/signals", methods=["POST"])
@blp.arguments(SignalSchema())
@blp.response(200, SignalDeliverySchema)
@blp.errors(403)
def send_signal(args):
    """Broadcast a signal to every instance waiting for it, whatever its business key, and start an instance
    of every process whose newest version has a signal start event for it; `delivered_to` lists the waiting
    instances that took it (empty when none waits), `started` the instances it started. An object payload
    goes into the catching task's data (or the variable the catch event names)."""
    return signals.send_signal(current_user(), args["name"], args["payload"])


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
@blp.arguments(RetrySchema(), required=False)  # no body: retry without a note
@blp.response(200, IncidentSchema)
@blp.errors(403, 404, 409)
def retry(args, incident_id):
    """Run the failed task again; an optional body {"note": ...} goes to the history."""
    return incidents.retry_incident(incident_id, current_user(), args["note"])
