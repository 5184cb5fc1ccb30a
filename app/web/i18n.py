"""The interface language: the user's choice, else the browser's, else Simplified Chinese."""
from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    if current_user and getattr(current_user, "is_authenticated", False):
        locale = current_user.principal.locale
        if locale in languages:
            return str(locale)
    best = request.accept_languages.best_match(languages)
    return str(best or current_app.config["BABEL_DEFAULT_LOCALE"])
