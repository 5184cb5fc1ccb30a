"""The two identifiers a borrower is known by: the PRC resident ID number and the unified social credit code.

Pure functions. `valid_id_number` checks an 18-character resident identity number (GB 11643-1999):
17 digits, the first 6 a region code, the next 8 a real birth date, then a check character computed
with ISO 7064 MOD 11-2 (`X` stands for 10). `valid_credit_code` checks an 18-character unified
social credit code (GB 32100-2015): characters from the code's 31-symbol alphabet (digits and
upper-case letters without I, O, S, V, Z), the last one a MOD 31 check character. Neither asks a
registry whether the number was issued. Letters may be written in lower case.

`make_id_number` and `make_credit_code` append the check character to a 17-character body: the
demo data and the tests build valid identifiers with them.
"""
from __future__ import annotations

from datetime import date

ID_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, ...
ID_CHECK = "10X98765432"  # indexed by the weighted sum mod 11

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = tuple(3 ** i % 31 for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, ...
_CREDIT_VALUE = {c: i for i, c in enumerate(CREDIT_ALPHABET)}


def _id_body_ok(body: str) -> bool:
    if len(body) != 17 or not body.isascii() or not body.isdigit():
        return False
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return False
    return born.year >= 1900


def _id_check(body: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def valid_id_number(value: str) -> bool:
    """True when `value` is an 18-character resident ID number with a real birth date and its check character."""
    if not isinstance(value, str) or len(value) != 18 or not value.isascii():
        return False
    body, check = value[:17], value[17].upper()
    return _id_body_ok(body) and _id_check(body) == check


def make_id_number(body17: str) -> str:
    """`body17` (region code, birth date YYYYMMDD, 3-digit sequence) with its check character appended.

    Raises ValueError when the body is not 17 digits holding a real birth date from 1900 on.
    """
    if not _id_body_ok(body17):
        raise ValueError("an ID number's body is 17 digits: region, birth date YYYYMMDD, sequence")
    return body17 + _id_check(body17)


def _credit_check(body: str) -> str:
    total = sum(_CREDIT_VALUE[c] * w for c, w in zip(body, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def valid_credit_code(value: str) -> bool:
    """True when `value` is an 18-character unified social credit code whose check character is right."""
    if not isinstance(value, str) or len(value) != 18 or not value.isascii():
        return False
    code = value.upper()
    if any(c not in _CREDIT_VALUE for c in code):
        return False
    return _credit_check(code[:17]) == code[17]


def make_credit_code(body17: str) -> str:
    """`body17` (upper-cased) with its check character appended; ValueError when it is not 17 code characters."""
    body = body17.upper() if isinstance(body17, str) and body17.isascii() else ""
    if len(body) != 17 or any(c not in _CREDIT_VALUE for c in body):
        raise ValueError(f"a credit code's body is 17 characters of {CREDIT_ALPHABET}")
    return body + _credit_check(body)
