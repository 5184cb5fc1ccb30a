"""The notices' service-task operator `notify.send`: a template to an organisation's users or a user.

params: `template` (a name in `app.services.notices.templates`), `to_org` (an organisation code)
with optional `roles` (a list of role codes), or `to_user` (a user name), and `params` (an object
of the template's fields). Result: `notification_ids`. A provider that is down fails the task (it
is retried); sending twice with the same task sends nothing twice.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.engine.said import said
from app.extensions import db
from app.models import Organisation, User
from app.services.notices import sending
from app.services.workflow.operators import HandlerContext, HandlerRegistry


def send(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    template, fields = params.get("template"), params.get("params") or {}
    if not isinstance(template, str) or not isinstance(fields, dict):
        raise ValueError(said("notify.send needs a template name and params as an object"))
    org_id = user_ids = None
    if params.get("to_org"):
        org_id = db.session.scalar(select(Organisation.id).where(Organisation.code == str(params["to_org"])))
        if org_id is None:
            raise ValueError(said("no organisation %(code)s", code=repr(params["to_org"])))
    if params.get("to_user"):
        user_id = db.session.scalar(select(User.id).where(User.username == str(params["to_user"])))
        if user_id is None:
            raise ValueError(said("no user %(name)s", name=repr(params["to_user"])))
        user_ids = [user_id]
    if org_id is None and user_ids is None:
        raise ValueError(said("notify.send needs to_org or to_user"))
    roles = params.get("roles") or []
    ids = sending.send(template, fields, org_id=org_id, roles=[str(r) for r in roles], user_ids=user_ids or [],
                       business_key=ctx.business_key, idempotency_key=ctx.idempotency_key)
    return {"notification_ids": ids}


def register(registry: HandlerRegistry) -> None:
    registry.register("notify.send")(send)
