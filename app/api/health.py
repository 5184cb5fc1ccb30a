"""GET /healthz: the app answers and its database is reachable."""
from marshmallow import Schema, fields, validate
from sqlalchemy import text

from app.api.json_body import Blueprint
from app.extensions import db

blp = Blueprint("health", __name__, description="Liveness")


class HealthSchema(Schema):
    status = fields.String(required=True, validate=validate.Equal("ok"))


@blp.route("/healthz")
@blp.response(200, HealthSchema)
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
