"""The console's list of the tasks that wait for external workers (`/external-tasks`): each task of a topic mapped
to `camunda.external_task` whose instance waits for it — offered, locked by a worker until a time, offered again
after a failed try, or failed into an incident — the longest waiting first, for the platform's staff (as the
instance search). When workers are down, this is where the pile shows (`workflow.external_tasks.offered`)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.services.workflow import external_tasks, queries
from app.web.paging import page_number

bp = Blueprint("external_task_pages", __name__, template_folder="templates")
STATES = {"offered": _l("waiting for a worker"), "locked": _l("a worker holds it"),
          "retrying": _l("offered again after a failed try"), "failed": _l("failed: an incident")}


@bp.route("/external-tasks")
@login_required
def index() -> ResponseReturnValue:
    page = page_number()
    locale = get_locale()
    language = locale.language if locale else "en"
    found, total = external_tasks.offered(current_user.principal, page, language)
    names = queries.process_names(sorted({t.process_id for t in found}), language)
    return render_template("external_tasks.html", tasks=found, total=total, page=page,
                           per_page=external_tasks.PER_PAGE, states=STATES, names=names, when=format_datetime)
