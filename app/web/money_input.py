"""An amount typed into a form: `1,000,000.00`, `1000000`, `¥1,000,000.5`, full-width digits too.

Commas are accepted only between groups of three digits (`1,00` is a typo, not one hundred), at
most two decimals, at most 15 digits before the point. `money_format_hint()` is the sentence a
money input shows under itself; a refusal's ValueError carries `money_format_error()`.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from flask_babel import gettext as _

MAX_WHOLE_DIGITS = 15
_AMOUNT = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?", re.ASCII)


def money_format_hint() -> str:
    return _("Amount in yuan, for example 1,000,000.00: commas between thousands are optional, "
             "at most two decimals.")


def money_format_error() -> str:
    return _("Write the amount like 1,000,000.00 (commas optional, at most two decimals).")


def parse_money(text: str) -> Decimal:
    """The amount `text` means, or ValueError(money_format_error()) when it is not one (`Enter the amount.` when
    nothing is written)."""
    # NFKC reads full-width digits, comma, point and yen sign (a Chinese input method's) as ASCII
    cleaned = unicodedata.normalize("NFKC", text).strip().removeprefix("¥").strip()
    if not cleaned:  # nothing written: asked for, not told how to write it
        raise ValueError(_("Enter the amount."))
    if not _AMOUNT.fullmatch(cleaned):
        raise ValueError(money_format_error())
    plain = cleaned.replace(",", "")
    if len(plain.lstrip("-").split(".")[0].lstrip("0")) > MAX_WHOLE_DIGITS:
        raise ValueError(money_format_error())
    return Decimal(plain)
