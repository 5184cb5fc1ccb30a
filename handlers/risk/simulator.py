"""The risk simulator: a provider that answers from the data alone, the same report for the same request.

The score starts from a SHA-256 hash of the subject (its kind and identifier) and is lowered by the
band of the amount asked (`AMOUNT_BANDS`); the grade follows from the score (`GRADE_BANDS`); the bureau
summary and the report id are hashed from the request too. A subject on the blacklist gets the
lowest score and grade and the hit `blacklist`. The blacklist is the caller's: a set of identifiers
or a function asking the platform's table. Identifiers are checked as a bureau would: a malformed ID
number or credit code is refused with `ProviderError`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from decimal import Decimal

from handlers.errors import ProviderError
from handlers.identifiers import valid_credit_code, valid_id_number

from .model import SCORE_MAX, SCORE_MIN, RiskReport, RiskRequest

PROVIDER = "simulator"
BLACKLIST_HIT = "blacklist"
# (lowest score of the grade, grade), best first; below the last bound the grade is E
GRADE_BANDS: tuple[tuple[int, str], ...] = ((750, "A"), (680, "B"), (600, "C"), (520, "D"))
# (amount up to, points taken off the score), smallest first; above the last bound LARGEST_PENALTY
AMOUNT_BANDS: tuple[tuple[Decimal, int], ...] = (
    (Decimal("100000"), 0), (Decimal("1000000"), 10), (Decimal("5000000"), 25), (Decimal("20000000"), 45))
LARGEST_PENALTY = 70
_BASE_LOW, _BASE_SPAN = 420, 461  # the hashed base score lies in 420..880


def grade_of(score: int) -> str:
    """The grade of a score: A from 750, B from 680, C from 600, D from 520, E below."""
    for bound, grade in GRADE_BANDS:
        if score >= bound:
            return grade
    return "E"


def amount_penalty(amount: Decimal) -> int:
    """Points a larger amount takes off the score."""
    for bound, penalty in AMOUNT_BANDS:
        if amount <= bound:
            return penalty
    return LARGEST_PENALTY


def normalized_subject(subject: str) -> str:
    """The identifier as the simulator compares it: no surrounding space, letters in upper case."""
    return subject.strip().upper()


class SimulatedRisk:
    """A `RiskProvider` computed in process; `blacklist` is a set of identifiers or a predicate on one.

    The predicate receives the identifier normalised (`normalized_subject`), as do set entries.
    """

    def __init__(self, blacklist: Callable[[str], bool] | Collection[str] = ()) -> None:
        if callable(blacklist):
            self._listed: Callable[[str], bool] = blacklist
        else:
            listed = frozenset(normalized_subject(s) for s in blacklist)
            self._listed = listed.__contains__

    def assess(self, request: RiskRequest) -> RiskReport:
        subject = normalized_subject(request.subject)
        valid = valid_id_number if request.subject_kind == "id_number" else valid_credit_code
        if not valid(subject):
            what = "ID number" if request.subject_kind == "id_number" else "unified social credit code"
            raise ProviderError(f"{subject} is not a valid {what}", provider=PROVIDER)
        amount = Decimal(request.amount).quantize(Decimal("0.01"))
        blacklisted = bool(self._listed(subject))
        digest = hashlib.sha256(f"{request.subject_kind}:{subject}".encode()).digest()
        base = _BASE_LOW + int.from_bytes(digest[:4], "big") % _BASE_SPAN
        score = SCORE_MIN if blacklisted else max(SCORE_MIN, min(SCORE_MAX, base - amount_penalty(amount)))
        grade = "E" if blacklisted else grade_of(score)
        bureau = {
            "overdue_accounts": (0 if score >= 680 else 1 + digest[4] % 2) + (1 if score < 520 else 0),
            "open_loans": digest[5] % 5,
            "enquiries_6m": digest[6] % 4 + (2 if score < 600 else 0),
        }
        key = f"{request.subject_kind}|{subject}|{amount}|{request.product_kind}|{int(blacklisted)}"
        report_id = "SIM-" + hashlib.sha256(key.encode()).hexdigest()[:20].upper()
        return RiskReport(report_id=report_id, score=score, grade=grade, blacklisted=blacklisted,
                          hits=[BLACKLIST_HIT] if blacklisted else [], bureau=bureau, provider=PROVIDER)
