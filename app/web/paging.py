"""The page number a list page was asked for: a whole number from 1 to MAX_PAGE, anything else 1."""
from __future__ import annotations

from flask import request

from app.schemas.common import MAX_PAGE


def page_number() -> int:
    try:
        return min(max(1, int(request.args.get("page", 1))), MAX_PAGE)
    except ValueError:
        return 1
