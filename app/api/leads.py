"""Leads over the API: a channel posts its leads with `X-Channel-Key` (no user, no CSRF) and reads
their outcome; the platform's operators enter leads with their own token and read them all.

A channel sees only its own leads (another channel's is 404, as one that does not exist); a
wrong or disabled key is 401. The same `external_ref` from the same channel again answers 200 with
the lead made the first time.
"""
from flask import g, request
from flask_babel import gettext

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.leads import LeadListArgs, LeadPage, LeadSchema, NewLeadSchema
from app.services.errors import Forbidden
from app.services.origination import leads

CHANNEL_HEADER = "X-Channel-Key"
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"channelKey": []}]

blp = Blueprint("leads", __name__, description="Leads from channels and operators (acquisition)")


@blp.before_request
def caller() -> None:
    """A channel (its key in X-Channel-Key) or a user (a bearer token or the session)."""
    g.channel = None
    if CHANNEL_HEADER in request.headers:
        g.channel = leads.authenticate_channel(request.headers.get(CHANNEL_HEADER, "").strip())
        return
    require_user()


@blp.route("/leads", methods=["POST"])
@blp.doc(security=SECURITY)
@blp.arguments(NewLeadSchema())
@blp.response(201, LeadSchema)
@blp.alt_response(200, schema=LeadSchema, description="the channel's external_ref again: the lead made first")
@blp.errors(401, 403, 409)
def create_lead(args):
    """A lead: from a channel (X-Channel-Key), or entered by a platform operator."""
    if g.channel is not None:
        outcome = leads.submit_lead(g.channel, args)
        return leads.lead_view(outcome.lead), 200 if outcome.repeated else 201
    return leads.lead_detail(leads.enter_lead(current_user(), args)), 201


@blp.route("/leads")
@blp.doc(security=SECURITY)
@blp.arguments(LeadListArgs(), location="query")
@blp.response(200, LeadPage)
@blp.errors(401, 403)
def list_leads(args):
    """Every lead, newest first, with the duplicate marker (the platform's operators)."""
    if g.channel is not None:
        raise Forbidden(gettext("A channel reads its leads one by one: GET /leads/{id}."))
    return leads.list_leads(current_user(), **args)


@blp.route("/leads/<int:lead_id>")
@blp.doc(security=SECURITY)
@blp.response(200, LeadSchema)
@blp.errors(401, 403, 404)
def get_lead(lead_id):
    """A lead: a channel its own (status and reason), the platform's operators any (all of it)."""
    if g.channel is not None:
        return leads.get_channel_lead(g.channel, lead_id)
    return leads.get_lead(current_user(), lead_id)
