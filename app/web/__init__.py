"""Server-rendered pages: sign-in, the task inbox, task forms, administration."""
from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from app.api.errors import http_error_response, service_error_response, status_of
from app.services.errors import ServiceError


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _page_message(exc: HTTPException) -> str | None:
    """What an error page says, in the reader's language where the words are ours."""
    if exc.code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return _("The request is larger than this site accepts (at most %(size)s MiB at once). "
                 "Send smaller files.", size=f"{limit / 2 ** 20:g}")
    return exc.description


def register_web(app: Flask) -> None:
    from app.web import admin, auth, inbox
    from app.web.i18n import local_date, money

    for blueprint in (auth.bp, inbox.bp, admin.bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["local_date"] = local_date

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        if _wants_json():
            return service_error_response(exc)
        status = status_of(exc)
        return render_template("error.html", status=status, message=exc.message), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if _wants_json():
            return http_error_response(exc)
        return render_template("error.html", status=exc.code, message=_page_message(exc)), exc.code or 500
