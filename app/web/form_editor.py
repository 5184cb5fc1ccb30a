"""The form editor: every form file that runs (`/forms`), one form's JSON Schema and UI schema edited as
text (`/forms/<name>/edit`) with a live preview rendered by the task page's own code (`schema_form`
and `_fields.html`, `POST /forms/<name>/preview`; `static/form_editor.js` asks for it as one types),
and Save, which deploys the form and the new versions of the processes that use it. Who may is the
service's (`workflow.form_editor`)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.services.errors import Invalid
from app.services.workflow import catalogue, form_editor
from app.services.workflow.labels import localized
from app.web.schema_form import fields_of

bp = Blueprint("form_editor", __name__, template_folder="templates")


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


@bp.app_context_processor
def forms_link() -> dict[str, bool]:
    return {"may_see_forms": bool(current_user.is_authenticated and catalogue.may_read(current_user.principal))}


@bp.route("/forms")
@login_required
def index() -> ResponseReturnValue:
    return render_template("forms.html", entries=form_editor.forms(current_user.principal, _language()))


def _page(form: form_editor.EditableForm, schema_text: str, ui_text: str | None,
          errors: dict[str, list[str]], status: int = 200) -> ResponseReturnValue:
    return render_template("form_editor.html", form=form, schema_text=schema_text, ui_text=ui_text,
                           errors=errors, preview=_preview_parts(schema_text, ui_text)), status


def _details(exc: Invalid) -> list[str]:
    """The refusal's particulars (the checker's words), without repeating its message."""
    said = str(exc.message)
    return [str(m) for messages in exc.fields.values() for m in messages if str(m) != said]


# The preview's help for a choice whose options the process gives when the task opens (`form_choices`).
CHOICES_FROM_DATA = _l("The process gives the choices when the task opens.")


def _preview_parts(schema_text: str, ui_text: str | None) -> dict:
    """What the task page would render for these schemas, in the reader's language, or why it cannot."""
    try:
        schema, ui = form_editor.preview(current_user.principal, schema_text, ui_text)
    except Invalid as exc:
        return {"error": exc.message, "details": _details(exc)}
    language = _language()
    return {"fields": fields_of(schema, ui, {}, language=language, no_choices=CHOICES_FROM_DATA),
            "help": localized(schema, "description", language), "title": localized(schema, "title", language)}


@bp.route("/forms/<name>/edit", methods=["GET", "POST"])
@login_required
def edit(name: str) -> ResponseReturnValue:
    form = form_editor.form_for_edit(current_user.principal, name, _language())
    if request.method == "GET":
        return _page(form, form.schema_text, form.ui_text, {})
    schema_text = request.form.get("schema", "")
    ui_text = request.form.get("ui") if form.ui_text is not None else None
    try:
        results = form_editor.save(current_user.principal, name, schema_text, ui_text)
    except Invalid as exc:
        return _page(form, schema_text, ui_text, {"_form": [exc.message], "details": _details(exc)}, 422)
    new = [r for r in results if r.status == "new"]
    if new:
        flash(_("Form saved. New versions: %(versions)s.", versions=", ".join(
            _("%(id)s version %(n)s", id=r.process_id, n=r.version) for r in new)))
    else:
        flash(_("Form saved. No process version changed."))
    return redirect(url_for("form_editor.edit", name=name))


@bp.route("/forms/<name>/preview", methods=["POST"])
@login_required
def preview(name: str) -> ResponseReturnValue:
    form = form_editor.form_for_edit(current_user.principal, name, _language())
    ui_text = request.form.get("ui") if form.ui_text is not None else None
    parts = _preview_parts(request.form.get("schema", ""), ui_text)
    # a preview of what cannot be rendered is still an answer: the fragment says why (data-state="error")
    return render_template("_form_preview.html", preview=parts)
