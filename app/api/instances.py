"""Process instances: start, list, read, history, cancel."""
from flask_smorest import Blueprint

from app.api.auth import current_user, require_user
from app.schemas.common import PageArgs
from app.schemas.processes import (
    EventPage,
    InstanceDetailSchema,
    InstanceListArgs,
    InstancePage,
    InstanceSchema,
    StartInstanceSchema,
)
from app.services import instances, queries

blp = Blueprint("process_instances", __name__, url_prefix="/process-instances",
                description="Running and finished process instances")
blp.before_request(require_user)


@blp.route("", methods=["POST"])
@blp.arguments(StartInstanceSchema)
@blp.response(201, InstanceSchema)
def start(args):
    instance_id = instances.start_instance(args["process_id"], current_user(), args["business_key"],
                                           args["data"], args["parties"])
    return queries.instance_detail(current_user(), instance_id)


@blp.route("")
@blp.arguments(InstanceListArgs, location="query")
@blp.response(200, InstancePage)
def list_instances(args):
    return queries.list_instances(current_user(), **args)


@blp.route("/<int:instance_id>")
@blp.response(200, InstanceDetailSchema)
def get_instance(instance_id):
    return queries.instance_detail(current_user(), instance_id)


@blp.route("/<int:instance_id>/events")
@blp.arguments(PageArgs, location="query")
@blp.response(200, EventPage)
def events(args, instance_id):
    return queries.list_events(current_user(), instance_id, args["page"], args["per_page"])


@blp.route("/<int:instance_id>/cancel", methods=["POST"])
@blp.response(200, InstanceSchema)
def cancel(instance_id):
    instances.cancel_instance(instance_id, current_user())
    return queries.instance_detail(current_user(), instance_id)
