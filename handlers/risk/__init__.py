"""The risk adapter: a bureau summary, a big-data score and grade, blacklist hits and a report id for
a person's ID number or an enterprise's unified social credit code.

`RiskProvider` is the interface; `HttpRiskClient` speaks to a configured provider and `SimulatedRisk`
answers in process, deterministically from the data. Both raise `handlers.errors.ProviderError`
(refused) or `ProviderUnavailable` (down).
"""
from __future__ import annotations

from .client import HttpRiskClient
from .model import GRADES, SUBJECT_KINDS, RiskProvider, RiskReport, RiskRequest
from .simulator import GRADE_BANDS, SimulatedRisk, grade_of

__all__ = ["GRADES", "GRADE_BANDS", "SUBJECT_KINDS", "HttpRiskClient", "RiskProvider", "RiskReport", "RiskRequest",
           "SimulatedRisk", "grade_of"]
