"""GET /healthz: the app answers and its database is reachable."""
from sqlalchemy import text

from app.api.json_body import Blueprint
from app.extensions import db

blp = Blueprint("health", __name__, description="Liveness")


@blp.route("/healthz")
@blp.response(200)
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
