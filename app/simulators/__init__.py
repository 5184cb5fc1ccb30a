"""The simulators of the outside services the platform calls (risk platform, SMS and e-mail gateway),
served by the app under `/simulators/`, apart from the product's pages.

An edge like `app/web`: it reads no table and steps no engine, it calls services. Two parts: the
machine APIs the adapters' real clients speak (`api.py`: Bearer `SIMULATOR_API_KEY`, JSON, no
CSRF), and the pages for platform staff (`pages.py`), each saying on screen that it is a simulator.
"""
from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("simulators", __name__, url_prefix="/simulators", template_folder="templates")


def register_simulators(app: Flask) -> None:
    from app.extensions import csrf
    from app.simulators import api, esign_api, esign_pages, pages, payments_api, payments_pages  # noqa: F401 - their routes join the blueprint

    app.register_blueprint(bp)
    for view in (*api.VIEWS, *esign_api.VIEWS, *payments_api.VIEWS):
        csrf.exempt(view)  # machines authenticate with the key and send no cookie
