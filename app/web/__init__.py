"""Server-rendered pages: sign-in, the task inbox, task forms, applications and deals, products,
administration."""
from __future__ import annotations

from flask import Flask, request
from flask_babel import get_locale
from werkzeug.exceptions import HTTPException

from app.api.errors import http_error_response, service_error_response
from app.services.errors import ServiceError
from app.web.error_pages import http_error_page, service_error_page, upload_size_hint


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_web(app: Flask) -> None:
    from app.web import admin, applications, auth, collateral, inbox, leads, notices, products, vocabulary
    from app.web.i18n import local_date, moment, money, percent
    from app.web.money_input import money_format_hint

    for blueprint in (auth.bp, inbox.bp, admin.bp, notices.bp, applications.bp, products.bp, leads.bp,
                      collateral.bp):
        app.register_blueprint(blueprint)
    from app.web import loans as loan_pages  # issue 15: the loans pages
    app.register_blueprint(loan_pages.bp)
    from app.web import collections as collections_pages  # issue 15: the collections cases
    app.register_blueprint(collections_pages.bp)
    from app.web import catalogue  # issue 16: the process catalogue
    app.register_blueprint(catalogue.bp)
    from app.web import instances as instance_pages  # issue 16: instance search and the instance page
    app.register_blueprint(instance_pages.bp)
    from app.web import repair  # issue 16: retry, cancel with a reason, move instances between versions
    app.register_blueprint(repair.bp)
    from app.web import decision_editor, form_editor  # issue 16: the decision and form editors
    app.register_blueprint(decision_editor.bp)
    app.register_blueprint(form_editor.bp)
    from app.web import modeler  # issue 16: the analyst's modeler
    app.register_blueprint(modeler.bp)
    from app.web import insight  # issue 16: heatmap, task waiting times, portfolio dashboard
    app.register_blueprint(insight.bp)
    from app.web import operator_mappings  # issue 17: which operator runs a Camunda service task
    app.register_blueprint(operator_mappings.bp)
    from app.web import group_mappings  # issue 17: which role is offered a Camunda group's user tasks
    app.register_blueprint(group_mappings.bp)
    from app.web import start_page  # issue 17: a person starts an instance with its start form
    app.register_blueprint(start_page.bp)
    from app.web import deploy_files  # issue 17: a project's diagrams and forms deployed from the browser
    app.register_blueprint(deploy_files.bp)
    from app.web import tokens  # issue 17: one's own API tokens (Camunda Modeler's deploy signs in with one)
    app.register_blueprint(tokens.bp)
    from app.web import external_tasks  # issue 17: the tasks that wait for Camunda's external task workers
    app.register_blueprint(external_tasks.bp)
    from app.web import audit  # the audit log: the platform admin's and the auditor's, read-only
    app.register_blueprint(audit.bp)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["moment"] = moment
    from app.web.code_words import code_marked
    app.jinja_env.filters["code_marked"] = code_marked
    vocabulary.install(app.jinja_env.filters)
    app.jinja_env.globals["money_format_hint"] = money_format_hint
    app.jinja_env.globals["upload_size_hint"] = upload_size_hint

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        if _wants_json():
            return service_error_response(exc)
        return service_error_page(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if _wants_json():
            return http_error_response(exc)
        return http_error_page(exc)
