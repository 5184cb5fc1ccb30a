"""Schemas of the loan ledger's API. Money is a string with two decimals both ways ("1066.19"), never a JSON number."""
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from marshmallow import Schema, ValidationError, fields, validate

from app.lending.errors import LendingError
from app.lending.money import parse_money
from app.lending.terms import Prepayment
from app.models.loan import LOAN_STATUSES
from app.schemas.common import PageArgs, RowId, page_schema

# The amounts the API takes, as the spec states them: what `parse_money` accepts, positive.
AMOUNT_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"


class Money(fields.Field):
    """An amount as a string with two decimals; as input, a string of the digits 0-9 with at most two
    decimals, positive and at most 9999999999999.99 (what both databases store exactly)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"type": "string", "pattern": AMOUNT_PATTERN, "example": "1066.19"})
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{Decimal(value):.2f}"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError('must be a string such as "1066.19", not a number')
        if value.startswith("-"):
            raise ValidationError("must be positive")
        try:
            amount = parse_money(value, attr or "amount")
        except LendingError as exc:
            raise ValidationError(gettext(exc.template, **exc.params)) from None  # in the reader's language
        if amount <= 0:
            raise ValidationError("must be positive")
        return amount


def _rate(value: Decimal) -> str:
    return format(value.normalize(), "f")


class InstalmentSchema(Schema):
    """An instalment (`InstalmentView`): its row, and what is still owed on it."""

    number = fields.Integer(attribute="row.number")
    status = fields.String(attribute="row.status")
    start_date = fields.Date(attribute="row.start_date")
    due_date = fields.Date(attribute="row.due_date")
    principal_due = Money(attribute="row.principal_due")
    interest_due = Money(attribute="row.interest_due")
    fee_due = Money(attribute="row.fee_due")
    penalty_due = Money(attribute="row.penalty_due")
    principal_paid = Money(attribute="row.principal_paid")
    interest_paid = Money(attribute="row.interest_paid")
    fee_paid = Money(attribute="row.fee_paid")
    penalty_paid = Money(attribute="row.penalty_paid")
    interest_waived = Money(attribute="row.interest_waived")
    fee_waived = Money(attribute="row.fee_waived")
    penalty_waived = Money(attribute="row.penalty_waived")
    owed = fields.Function(lambda view: f"{view.owed:.2f}")
    balance = Money(attribute="row.balance")
    prepayments = fields.Function(lambda view: [{"date": on, "principal": f"{Decimal(a):.2f}"}
                                                for on, a in view.row.prepayments])
    overdue_on = fields.Date(attribute="row.overdue_on", allow_none=True)
    paid_on = fields.Date(attribute="row.paid_on", allow_none=True)


class ScheduleVersionSchema(Schema):
    version = fields.Integer(attribute="version.version")
    current = fields.Boolean()
    reason = fields.String(attribute="version.reason")
    effective_on = fields.Date(attribute="version.effective_on")
    level_payment = Money(attribute="version.level_payment", allow_none=True)
    payment_id = fields.Integer(attribute="version.payment_id", allow_none=True)
    instalments = fields.List(fields.Nested(InstalmentSchema))


class BalancesSchema(Schema):
    # a loan's balances by posting role (`loans.loan_position`)
    principal_outstanding = Money(attribute="loan_portfolio")
    interest_receivable = Money()
    penalty_receivable = Money()
    fee_receivable = Money()
    credit = fields.Function(lambda b: f"{-b['overpayment_liability']:.2f}")


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
    """A payment (`PaymentView`): its row, and the idempotency key as its caller sent it."""

    id = fields.Integer(attribute="payment.id")
    loan_id = fields.Integer(attribute="payment.loan_id")
    idempotency_key = fields.Raw(dump_only=True)
    channel = fields.String(attribute="payment.channel")
    amount = Money(attribute="payment.amount")
    prepayment = fields.String(attribute="payment.prepayment")
    status = fields.String(attribute="payment.status")
    received_on = fields.Date(attribute="payment.received_on")
    booked_on = fields.Date(attribute="payment.booked_on", allow_none=True)
    document_id = fields.Integer(attribute="payment.document_id", allow_none=True)
    confirmed_at = fields.DateTime(attribute="payment.confirmed_at", allow_none=True)
    confirmed_by_id = fields.Integer(attribute="payment.confirmed_by_id", allow_none=True)
    created_at = fields.DateTime(attribute="payment.created_at")
    allocation = fields.Dict(attribute="payment.allocation")
    reference = fields.String(attribute="payment.reference", allow_none=True)
    reject_reason = fields.String(attribute="payment.reject_reason", allow_none=True)
    voucher_filename = fields.String(attribute="payment.voucher_filename", allow_none=True)
    voucher_content_type = fields.String(attribute="payment.voucher_content_type", allow_none=True)


class OfflinePaymentSchema(Schema):
    amount = Money(required=True)
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    prepayment = fields.String(load_default=Prepayment.SHORTEN_TERM.value,
                               validate=validate.OneOf([m.value for m in Prepayment]))
    document_id = RowId(load_default=None, allow_none=True)
    received_on = fields.Date(load_default=None, allow_none=True)  # the transfer's date (default today)
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class RejectPaymentSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


VOUCHER_UPLOAD = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "the voucher: PDF, PNG or JPEG"}}}}}}


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


# A ledger balance: credit accounts are negative ("-10933.81"), so its pattern is not an input amount's.
SIGNED_AMOUNT = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "example": "-1066.19"}


class TrialBalanceSchema(Schema):
    scope = fields.String()
    balances = fields.Dict(keys=fields.String(), values=Money(metadata=SIGNED_AMOUNT))
    total = Money(metadata=SIGNED_AMOUNT)


# -- issue 15: online repayment and the early-repayment quote ------------------------------------

PREPAYMENT_MODES = [m.value for m in Prepayment]


class OnlineRepaymentSchema(Schema):
    amount = Money(required=True)
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    prepayment = fields.String(load_default=Prepayment.SHORTEN_TERM.value, validate=validate.OneOf(PREPAYMENT_MODES),
                               metadata={"description": "what the amount beyond the bills does to the schedule: "
                                                        "shorten_term (fewer instalments, the same instalment) or "
                                                        "reduce_instalment (the same count, a smaller instalment)"})


class RepaymentOrderSchema(Schema):
    """An online repayment (`online_repayments.OrderView`): the collection order at the payment gateway."""

    id = fields.Integer(attribute="row.id")
    loan_id = fields.Integer(attribute="row.loan_id")
    order_id = fields.String(attribute="row.order_id")
    idempotency_key = fields.String()
    status = fields.String(attribute="row.status", metadata={"enum": ["pending", "succeeded", "failed", "closed"]})
    amount = Money(attribute="row.amount")
    prepayment = fields.String(attribute="row.prepayment", metadata={"enum": PREPAYMENT_MODES})
    pay_url = fields.String(metadata={"description": "the payment gateway's page where the borrower pays"})
    failure_reason = fields.String(attribute="failure_text", allow_none=True, metadata={
        "description": "why it failed, in the reader's language: the cause the gateway named, else its own words"})
    failure_code = fields.String(attribute="row.failure_code", allow_none=True, metadata={
        "description": "the cause the gateway named (insufficient_funds, account_frozen, account_closed, "
                       "limit_exceeded, declined), when it named one"})
    payment_id = fields.Integer(attribute="row.payment_id", allow_none=True)
    created_at = fields.DateTime(attribute="row.created_at")
    settled_at = fields.DateTime(attribute="row.settled_at", allow_none=True)


class EarlyRepaymentArgs(Schema):
    on = fields.Date(data_key="date", load_default=None)
    amount = Money(load_default=None)
    mode = fields.String(load_default=Prepayment.SHORTEN_TERM.value,
                         validate=validate.OneOf([m.value for m in Prepayment]))


class QuotedInstalmentSchema(Schema):
    number = fields.Integer()
    due_date = fields.String()
    principal = fields.String()
    interest = fields.String()
    fees = fields.String()
    penalties = fields.String(metadata={"description": "penalty interest and charges booked on it"})
    total = fields.String(metadata={"description": "principal + interest + fees + penalties"})
    paid = fields.String(metadata={"description": "paid or waived of it, the quoted payment included"})
    balance = fields.String()
    owed = fields.String(metadata={"description": "total - paid"})


class PrepaymentQuoteSchema(Schema):
    amount = fields.String()
    credit_used = fields.String()
    settled = fields.Boolean()
    bills_paid = fields.String()
    prepaid_principal = fields.String()
    fee = fields.String()
    credit_left = fields.String()
    level_payment = fields.String(allow_none=True)
    instalments_left = fields.Integer()
    schedule = fields.List(fields.Nested(QuotedInstalmentSchema))


class EarlyRepaymentQuoteSchema(PayoffQuoteSchema):
    """The full pay-off on the date (the pay-off quote's fields) and, with an amount, the partial prepayment."""

    kind = fields.String(metadata={"enum": ["payoff", "partial"]})
    mode = fields.String()
    prepayment = fields.Nested(PrepaymentQuoteSchema, allow_none=True)
