"""Process instances: start, list, read, history, cancel."""
from io import BytesIO

from flask import send_file
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.common import PageArgs
from app.schemas.migrations import CancelSchema
from app.schemas.processes import (
    EventPage,
    InstanceDetailSchema,
    InstanceListArgs,
    InstancePage,
    InstanceSchema,
    StartInstanceSchema,
)
from app.services.errors import NotFound
from app.services.workflow import documents, instances, queries

blp = Blueprint("process_instances", __name__, url_prefix="/process-instances",
                description="Running and finished process instances")
blp.before_request(require_user)


@blp.route("", methods=["POST"])
@blp.arguments(StartInstanceSchema())
@blp.response(201, InstanceSchema)
@blp.alt_response(200, schema=InstanceSchema, description="the same idempotency key again: the instance it started")
@blp.errors(403, 409, 422)
def start(args):
    """Start an instance; 422 when the process is not deployed or the data does not fit its start form. With an
    `idempotency_key`, the same key again from the same user answers the instance it started (200, with its
    state now), however many such requests race; the key with another process or business key is 409."""
    started = instances.start(args["process_id"], current_user(), args["business_key"], args["data"],
                              args["parties"], start_key=args["idempotency_key"])
    return started, 200 if started.get("duplicate") else 201


@blp.route("")
@blp.arguments(InstanceListArgs(), location="query")
@blp.response(200, InstancePage)
def list_instances(args):
    return queries.list_instances(current_user(), **args)


@blp.route("/<int:instance_id>")
@blp.response(200, InstanceDetailSchema)
@blp.errors(404)
def get_instance(instance_id):
    return queries.instance_detail(current_user(), instance_id)


@blp.route("/<int:instance_id>/events")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, EventPage)
@blp.errors(404)
def events(args, instance_id):
    return queries.list_events(current_user(), instance_id, args["page"], args["per_page"])


@blp.route("/<int:instance_id>/cancel", methods=["POST"])
@blp.arguments(CancelSchema(), required=False)  # no body: cancel without a reason (older callers)
@blp.response(200, InstanceSchema)
@blp.errors(403, 404, 409)
def cancel(args, instance_id):
    """Cancel the instance; an optional body {"reason": ...} goes to its history."""
    queries.get_instance(current_user(), instance_id)  # 404 for deals the caller may not see, before any 403
    instances.cancel_instance(instance_id, current_user(), args["reason"])
    return queries.instance_detail(current_user(), instance_id)


class PartiesSchema(Schema):
    parties = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


@blp.route("/<int:instance_id>/parties", methods=["PUT"])
@blp.arguments(PartiesSchema())
@blp.response(200, InstanceDetailSchema)
@blp.errors(403, 404, 409)
def set_parties(args, instance_id):
    """Rebind the deal's parties (platform admins and operators only)."""
    queries.get_instance(current_user(), instance_id)
    instances.set_parties(instance_id, args["parties"], current_user())
    return queries.instance_detail(current_user(), instance_id)


class DocumentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    task_id = fields.Integer(allow_none=True)
    field = fields.String(allow_none=True)
    kind = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    created_at = fields.DateTime()


@blp.route("/<int:instance_id>/documents")
@blp.response(200, DocumentSchema(many=True))
@blp.errors(404)
def list_documents(instance_id):
    queries.get_instance(current_user(), instance_id)
    return documents.instance_documents(current_user(), instance_id)


def _document_content_types(func):
    """Document the bytes of each content type a stored document can have: those `documents.sniff` accepts,
    and text/plain for .csv and .txt files."""
    for content_type in (*documents.ALLOWED, "text/plain"):
        func = blp.alt_response(200, schema={"type": "string", "format": "binary"}, content_type=content_type,
                                description="the document's bytes, as uploaded", success=True)(func)
    return func


@blp.route("/<int:instance_id>/documents/<int:document_id>/content")
@_document_content_types
@blp.errors(404)
def document_content(instance_id, document_id):
    """The document's bytes, as uploaded (404 unless the instance is yours to see)."""
    document = documents.get_document(current_user(), document_id)
    if document.instance_id != instance_id:
        raise NotFound(_l("document not found"))
    return send_file(BytesIO(document.content), mimetype=document.content_type, as_attachment=True,
                     download_name=document.filename)
