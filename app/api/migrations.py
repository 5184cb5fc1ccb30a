"""Moving process instances to another version of their process: one (preview, then move) or all of a
version matching a filter (`/process-migrations`, preview true or false)."""
from dataclasses import asdict

from flask_babel import get_locale

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.migrations import (
    BulkMigrationAnswer,
    BulkMigrationSchema,
    MigrateArgs,
    MigrationPreviewArgs,
    MigrationPreviewSchema,
)
from app.services.workflow import migration

blp = Blueprint("migrations", __name__, description="Instance migration between process versions")
blp.before_request(require_user)


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def _preview_dict(found: migration.InstancePreview) -> dict:
    return {**asdict(found), "movable": found.movable}


@blp.route("/process-instances/<int:instance_id>/migration-preview", methods=["POST"])
@blp.arguments(MigrationPreviewArgs())
@blp.response(200, MigrationPreviewSchema)
@blp.errors(403, 404)
def preview(args, instance_id):
    """What moving the instance to another version would do: each element it is in, movable or why not."""
    return _preview_dict(migration.preview(current_user(), instance_id, args["to_version"], _language()))


@blp.route("/process-instances/<int:instance_id>/migrate", methods=["POST"])
@blp.arguments(MigrateArgs())
@blp.response(200, MigrationPreviewSchema)
@blp.errors(403, 404, 409, 422)
def migrate(args, instance_id):
    """Move a waiting instance to another version (409 when an element it is in cannot move)."""
    return _preview_dict(migration.migrate(current_user(), instance_id, args["to_version"], args["reason"],
                                           _language()))


@blp.route("/process-migrations", methods=["POST"])
@blp.arguments(BulkMigrationSchema())
@blp.response(200, BulkMigrationAnswer)
@blp.errors(403, 404, 422)
def bulk(args):
    """Every instance of a version matching the filter: listed (preview) or moved, each in its own step."""
    where = migration.BulkFilter(args["status"], args["element_id"], args["business_key"])
    common = (current_user(), args["process_id"], args["from_version"], args["to_version"])
    if args["preview"]:
        found = migration.preview_bulk(*common, where, _language())
        return {"preview": True, "instances": [_preview_dict(f) for f in found], "results": []}
    results = migration.migrate_bulk(*common, args["reason"] or "", where, _language())
    return {"preview": False, "instances": [], "results": [asdict(r) for r in results]}
