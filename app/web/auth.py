"""Sign-in, sign-out, invitations, password resets and the language switch."""
from __future__ import annotations

import math
import re
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import limiter
from app.services.clock import now
from app.services.errors import Invalid, NotFound, Unauthorized
from app.services.identity import accounts
from app.web.session import sign_in, sign_out

bp = Blueprint("auth", __name__, template_folder="templates")

_TAB_OR_NEWLINE = re.compile("[\t\n\r]")  # browsers drop these anywhere in a URL
_C0_OR_SPACE = "".join(map(chr, range(0x21)))  # ... and these at either end
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def safe_next(target: str | None) -> str:
    """Where to go after a form: a path of this site, read the way a browser reads it; the inbox
    for anything else (another host, a scheme, control characters), never an error."""
    fallback = url_for("inbox.index")
    if not target:
        return fallback
    path = _TAB_OR_NEWLINE.sub("", target).strip(_C0_OR_SPACE)
    if not path.startswith("/") or _CONTROL.search(path):
        return fallback
    for reading in (path, unquote(path)):  # as given, and decoded once more (`%2F%2Fevil`)
        if "\\" in reading:  # browsers read `/\\host` as `//host`
            return fallback
        cleaned = _TAB_OR_NEWLINE.sub("", reading).strip(_C0_OR_SPACE)
        parts = urlsplit(cleaned)
        if parts.scheme or parts.netloc or cleaned.startswith("//") or not cleaned.startswith("/"):
            return fallback
    return path


def _locked_message(exc: accounts.SignInLocked) -> str:
    minutes = max(1, math.ceil((exc.until - now()).total_seconds() / 60))
    until = exc.until.strftime("%H:%M")
    if exc.scope == "account":
        return _("Too many failed sign-ins for this account: it is locked for %(minutes)s more minute(s), until "
                 "%(until)s UTC. An administrator can unlock it sooner.", minutes=minutes, until=until)
    return _("Too many failed sign-ins from your network address: wait %(minutes)s minute(s), until %(until)s UTC, "
             "and try again.", minutes=minutes, until=until)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    error = None
    if request.method == "POST":
        try:
            principal = accounts.authenticate(request.form.get("username", "").strip(),
                                              request.form.get("password", ""), request.remote_addr)
        except accounts.SignInLocked as exc:  # said alike for a name that exists and one that does not
            error = _locked_message(exc)
        except Unauthorized:  # one answer for every failure: it tells nothing about the account
            error = _("Wrong username or password, or too many failed attempts: wait a moment and try again.")
        else:
            sign_in(principal)
            return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    sign_out()
    return redirect(url_for("auth.login"))


def _password_problem(problem: str) -> str:
    """A reason the password policy gave, in the reader's language (never the service's English)."""
    messages = {
        accounts.PASSWORD_TOO_SHORT: _("The password needs at least %(n)s characters.", n=accounts.MIN_PASSWORD_LENGTH),
        accounts.PASSWORD_TOO_LONG: _("The password may have at most %(n)s characters.", n=accounts.MAX_PASSWORD_LENGTH),
        accounts.PASSWORD_HAS_NAME: _("The password must not contain your user name, your name, your organisation's "
                                      "name or your e-mail."),
        accounts.PASSWORD_GUESSABLE: _("The password is too easy to guess: use several uncommon words, or a longer mix "
                                       "of letters, digits and symbols."),
    }
    return messages.get(problem, _("The password is too weak."))


def _set_password(token: str, purpose: str, template: str):
    try:
        account = accounts.link_account(token, purpose)
    except NotFound:
        return render_template("link_invalid.html"), 404
    errors: list[str] = []
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            errors.append(_("The two passwords differ."))
        else:
            try:
                principal = accounts.set_password_with_token(token, purpose, password, request.remote_addr)
            except Invalid as exc:
                errors += [_password_problem(p) for p in exc.fields.get("password", [])]
            except NotFound:
                return render_template("link_invalid.html"), 404
            else:
                sign_in(principal)
                flash(_("Your password is set."))
                return redirect(url_for("inbox.index"))
    return render_template(template, errors=errors, account=account,
                           min_length=accounts.MIN_PASSWORD_LENGTH), (422 if errors else 200)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    return _set_password(token, "invite", "set_password.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _set_password(token, "reset", "set_password.html")


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def request_reset():
    if request.method == "POST":
        token = accounts.request_reset(request.form.get("username", "").strip(), request.remote_addr)
        if token is not None:
            # No mail server here: the link goes to the platform's outbox log for the operator.
            current_app.logger.warning("password reset link: %s", url_for("auth.reset_password", token=token,
                                                                          _external=True))
        flash(_("If the account exists, a reset link has been sent to its administrator."))
        return redirect(url_for("auth.login"))
    return render_template("reset_request.html")


@bp.route("/language", methods=["POST"])
def choose_language():
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            accounts.set_locale(current_user.principal.id, locale)
    return redirect(safe_next(request.form.get("next")))
