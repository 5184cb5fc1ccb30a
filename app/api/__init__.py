"""The JSON API under /api/v1: thin blueprints that load, call one service and dump."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.api.errors import install_error_handlers
from app.extensions import csrf


def register_api(app: Flask, api: Api) -> None:
    from app.api import (
        applications,
        callbacks,
        camunda_rest,
        collateral,
        collections,
        definitions,
        events,
        group_mappings,
        health,
        instances,
        leads,
        loans,
        me,
        migrations,
        notices,
        operator_mappings,
        products,
        tasks,
        users,
    )

    install_error_handlers(app, api)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("channelKey", {"type": "apiKey", "in": "header", "name": "X-Channel-Key"})
    for blp in (health.blp, definitions.blp, instances.blp, tasks.blp, events.blp, me.blp, loans.blp,
                users.blp, leads.blp, products.blp, applications.blp, notices.blp, callbacks.blp,
                collateral.blp, collections.blp, migrations.blp, operator_mappings.blp, group_mappings.blp):
        api.register_blueprint(blp, url_prefix="/api/v1" + (blp.url_prefix or ""))
        csrf.exempt(blp)  # bearer callers need none; session callers are checked in app/api/auth.py;
        # providers' callbacks are authenticated by their signature
    app.register_blueprint(camunda_rest.bp)  # Camunda Modeler's deploy and run: bearer tokens only, no session
    csrf.exempt(camunda_rest.bp)

