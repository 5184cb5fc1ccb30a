"""Booked loans over the API: loans with their bills and balances, schedule versions, payments, pay-off quotes,
offline repayments confirmed by finance, and the trial balance.

Who sees what is `app.services.loans.loan_visible`: platform staff every loan, a borrower's
applicants their own, a funder's staff their funder's; another organisation's loan is 404.
Money is a string with two decimals both ways ("1066.19"), never a JSON number.
"""
import re
from decimal import Decimal
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from app.api.auth import current_user, require_user
from app.lending.terms import Prepayment
from app.models.loan import LOAN_STATUSES
from app.schemas.common import PageArgs, page_schema
from app.services import ledger, loans, repayments

blp = Blueprint("loans", __name__, description="Booked loans, their bills, payments and the ledger")
blp.before_request(require_user)

AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,2})?$")


class Money(fields.Field):
    """An amount as a string with two decimals; as input, a string of digits with at most two decimals."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"type": "string", "pattern": AMOUNT.pattern, "example": "1066.19"})
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{Decimal(value):.2f}"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError('must be a string such as "1066.19", not a number')
        if not AMOUNT.match(value):
            raise ValidationError('must be a positive amount with at most two decimals, such as "1066.19"')
        amount = Decimal(value).quantize(Decimal("0.01"))
        if amount <= 0:
            raise ValidationError("must be positive")
        return amount


def _rate(value: Decimal) -> str:
    return format(value.normalize(), "f")


class InstalmentSchema(Schema):
    number = fields.Integer()
    status = fields.String()
    start_date = fields.Date()
    due_date = fields.Date()
    principal_due = Money()
    interest_due = Money()
    fee_due = Money()
    penalty_due = Money()
    principal_paid = Money()
    interest_paid = Money()
    fee_paid = Money()
    penalty_paid = Money()
    interest_waived = Money()
    fee_waived = Money()
    penalty_waived = Money()
    owed = fields.Function(lambda row: f"{loans.owed(row):.2f}")
    balance = Money()
    prepayments = fields.Function(lambda row: [{"date": on, "principal": f"{Decimal(a):.2f}"}
                                               for on, a in row.prepayments])
    overdue_on = fields.Date(allow_none=True)
    paid_on = fields.Date(allow_none=True)


class ScheduleVersionSchema(Schema):
    version = fields.Integer(attribute="version.version")
    current = fields.Boolean()
    reason = fields.String(attribute="version.reason")
    effective_on = fields.Date(attribute="version.effective_on")
    level_payment = Money(attribute="version.level_payment", allow_none=True)
    payment_id = fields.Integer(attribute="version.payment_id", allow_none=True)
    instalments = fields.List(fields.Nested(InstalmentSchema))


class BalancesSchema(Schema):
    principal_outstanding = Money(attribute="loan_principal")
    interest_receivable = Money()
    penalty_receivable = Money()
    fee_receivable = Money()
    credit = fields.Function(lambda b: f"{-b['borrower_credit']:.2f}")


class LoanSchema(Schema):
    id = fields.Integer(attribute="loan.id")
    business_key = fields.String(attribute="loan.business_key")
    product_code = fields.String()
    status = fields.String(attribute="loan.status")
    borrower_org_id = fields.Integer(attribute="loan.borrower_org_id")
    funder_org_id = fields.Integer(attribute="loan.funder_org_id", allow_none=True)
    principal = Money(attribute="loan.principal")
    currency = fields.String(attribute="loan.currency")
    annual_rate = fields.Function(lambda view: _rate(view.loan.annual_rate))
    disbursed_on = fields.Date(attribute="loan.disbursed_on")
    closed_on = fields.Date(attribute="loan.closed_on", allow_none=True)
    last_payment_on = fields.Date(attribute="loan.last_payment_on", allow_none=True)
    schedule_version = fields.Integer(attribute="loan.schedule_version")
    credit_balance = Money(attribute="loan.credit_balance")
    dpd = fields.Integer(attribute="loan.dpd")
    bucket = fields.String(attribute="loan.bucket")


class LoanDetailSchema(LoanSchema):
    schedule = fields.Nested(ScheduleVersionSchema)
    balances = fields.Nested(BalancesSchema)


LoanPage = page_schema(LoanSchema, "LoanPage")


class LoanListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(LOAN_STATUSES))
    business_key = fields.String(validate=validate.Length(min=1, max=128))


class PaymentSchema(Schema):
    id = fields.Integer()
    loan_id = fields.Integer()
    idempotency_key = fields.Function(repayments.client_key)
    channel = fields.String()
    amount = Money()
    prepayment = fields.String()
    status = fields.String()
    received_on = fields.Date()
    booked_on = fields.Date(allow_none=True)
    document_id = fields.Integer(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    confirmed_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    allocation = fields.Dict()


class OfflinePaymentSchema(Schema):
    amount = Money(required=True)
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    prepayment = fields.String(load_default=Prepayment.SHORTEN_TERM.value,
                               validate=validate.OneOf([m.value for m in Prepayment]))
    document_id = fields.Integer(load_default=None, allow_none=True)


class PayoffArgs(Schema):
    on = fields.Date(data_key="date", load_default=None)


class PayoffQuoteSchema(Schema):
    on = fields.String()
    dues = fields.String()
    principal = fields.String()
    interest = fields.String()
    fee = fields.String()
    total = fields.String()
    credit = fields.String()
    to_pay = fields.String()


class TrialBalanceSchema(Schema):
    scope = fields.String()
    balances = fields.Dict(keys=fields.String(), values=Money())
    total = Money()


@blp.route("/loans")
@blp.arguments(LoanListArgs, location="query")
@blp.response(200, LoanPage)
def list_loans(args):
    return loans.list_loans(current_user(), **args)


@blp.route("/loans/<int:loan_id>")
@blp.response(200, LoanDetailSchema)
def get_loan(loan_id):
    return loans.loan_detail(current_user(), loan_id)


@blp.route("/loans/<int:loan_id>/schedule-versions")
@blp.response(200, ScheduleVersionSchema(many=True))
def schedule_versions(loan_id):
    return loans.schedule_versions(current_user(), loan_id)


@blp.route("/loans/<int:loan_id>/payments")
@blp.response(200, PaymentSchema(many=True))
def list_payments(loan_id):
    return repayments.loan_payments(current_user(), loan_id)


@blp.route("/loans/<int:loan_id>/payments", methods=["POST"])
@blp.arguments(OfflinePaymentSchema)
@blp.response(201, PaymentSchema)
@blp.alt_response(200, schema=PaymentSchema, description="the same idempotency key again: the payment recorded first")
def record_payment(args, loan_id):
    """Record an offline repayment (a bank transfer with its voucher); it waits for the funder's finance."""
    outcome = repayments.record_offline_payment(current_user(), loan_id, args["amount"], args["idempotency_key"],
                                                args["prepayment"], args["document_id"])
    return outcome.payment, 200 if outcome.duplicate else 201


@blp.route("/loans/<int:loan_id>/payments/<int:payment_id>/confirm", methods=["POST"])
@blp.response(200, PaymentSchema)
def confirm_payment(loan_id, payment_id):
    """Finance confirms the money arrived: the payment is booked today (twice is once)."""
    return repayments.decide_payment(current_user(), loan_id, payment_id, confirm=True)


@blp.route("/loans/<int:loan_id>/payments/<int:payment_id>/reject", methods=["POST"])
@blp.response(200, PaymentSchema)
def reject_payment(loan_id, payment_id):
    """Finance found no money for the voucher: nothing is booked."""
    return repayments.decide_payment(current_user(), loan_id, payment_id, confirm=False)


@blp.route("/loans/<int:loan_id>/payoff-quote")
@blp.arguments(PayoffArgs, location="query")
@blp.response(200, PayoffQuoteSchema)
def payoff_quote(args, loan_id):
    """What settles the loan on `date` (default today): dues, principal, interest to the date, the fee."""
    return repayments.quote_payoff_for(current_user(), loan_id, args["on"])


@blp.route("/ledger/trial-balance")
@blp.response(200, TrialBalanceSchema)
def trial_balance():
    """Every account's balance (zero in total): the whole ledger, or a funder's loans for its finance."""
    scope, balance = ledger.trial_balance_for(current_user())
    return {"scope": scope, "balances": balance.balances, "total": balance.total}
