"""The money side of lending as pure functions on Decimal: terms, schedules, payments, prepayment, overdue.

No Flask and no database here; services and the end-of-day batch call these functions.
"""
from app.lending.account import LoanAccount, PayoffQuote, apply_payment, open_account, payoff_quote
from app.lending.allocation import Allocation, Due, allocate_payment
from app.lending.codec import schedule_to_dict, terms_from_mapping
from app.lending.errors import LendingError, LoanStateError, TermsError
from app.lending.prepayment import prepay
from app.lending.product import LoanProduct, check_rate_cap, private_lending_cap
from app.lending.schedule import Instalment, Schedule, generate_schedule
from app.lending.simulator import simulate, simulate_request
from app.lending.terms import Amortization, InterestMethod, InterestPeriod, LoanTerms, Prepayment

__all__ = [
    "Allocation", "Amortization", "Due", "Instalment", "InterestMethod", "InterestPeriod", "LendingError",
    "LoanAccount", "LoanProduct", "LoanStateError", "LoanTerms", "PayoffQuote", "Prepayment", "Schedule",
    "TermsError", "allocate_payment", "apply_payment", "check_rate_cap", "generate_schedule", "open_account",
    "payoff_quote", "prepay", "private_lending_cap", "schedule_to_dict", "simulate", "simulate_request",
    "terms_from_mapping",
]
