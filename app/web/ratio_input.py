"""A ratio typed into a form as people write one: a percentage (`80%`, `80`, `80.5%`, full-width `８０％`) or
the ratio itself (`0.80`).

A number with a percent sign, or above 1 without one, is a percentage; 1 or less without one is the ratio
(0.80 is 80%, as the API and the demo write it; `1` is 100%). What the ratio may be (above 0, at most 1, at most
4 decimals) is the service's to check; a text that is no number is refused here with `ratio_format_error()`.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from flask_babel import gettext as _

_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(%?)", re.ASCII)
HUNDRED = Decimal(100)


def ratio_format_error() -> str:
    return _("Write a percentage above 0% and at most 100%, at most two decimals, like 80% (0.80 reads as 80% too).")


def parse_ratio(text: str) -> Decimal:
    """The ratio `text` means (`80%`, `80` and `0.80` are all 0.80), or ValueError(ratio_format_error())."""
    # NFKC reads a Chinese input method's full-width digits, point and percent sign as ASCII
    found = _NUMBER.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if found is None:
        raise ValueError(ratio_format_error())
    number = Decimal(found.group(1))
    return number / HUNDRED if found.group(2) or number > 1 else number
