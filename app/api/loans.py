"""Booked loans over the API: loans with their bills and balances, schedule versions, payments, pay-off quotes,
offline repayments confirmed by finance, and the trial balance.

Who sees what is `app.services.ledger.loans.loan_visible`: platform staff every loan, a borrower's
applicants their own, a funder's staff their funder's; another organisation's loan is 404.
Money is a string with two decimals both ways ("1066.19"), never a JSON number.
"""
from io import BytesIO

from flask import request, send_file
from flask_babel import lazy_gettext as _l

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.loans import (
    VOUCHER_UPLOAD,
    EarlyRepaymentArgs,
    EarlyRepaymentQuoteSchema,
    LoanDetailSchema,
    LoanListArgs,
    LoanPage,
    OfflinePaymentSchema,
    OnlineRepaymentSchema,
    PaymentSchema,
    PayoffArgs,
    PayoffQuoteSchema,
    RejectPaymentSchema,
    RepaymentOrderSchema,
    ScheduleVersionSchema,
    TrialBalanceSchema,
)
from app.services.errors import Invalid
from app.services.ledger import journal as ledger
from app.services.ledger import loans, repayments
from app.services.signing import offline_repayments, online_repayments

blp = Blueprint("loans", __name__, description="Booked loans, their bills, payments and the ledger")
blp.before_request(require_user)

@blp.route("/loans")
@blp.arguments(LoanListArgs(), location="query")
@blp.response(200, LoanPage)
def list_loans(args):
    return loans.list_loans(current_user(), **args)


@blp.route("/loans/<int:loan_id>")
@blp.response(200, LoanDetailSchema)
@blp.errors(404)
def get_loan(loan_id):
    return loans.loan_detail(current_user(), loan_id)


@blp.route("/loans/<int:loan_id>/schedule-versions")
@blp.response(200, ScheduleVersionSchema(many=True))
@blp.errors(404)
def schedule_versions(loan_id):
    return loans.schedule_versions(current_user(), loan_id)


@blp.route("/loans/<int:loan_id>/payments")
@blp.response(200, PaymentSchema(many=True))
@blp.errors(404)
def list_payments(loan_id):
    return repayments.loan_payments(current_user(), loan_id)


@blp.route("/loans/<int:loan_id>/payments", methods=["POST"])
@blp.arguments(OfflinePaymentSchema())
@blp.response(201, PaymentSchema)
@blp.alt_response(200, schema=PaymentSchema, description="the same idempotency key again: the payment recorded first")
@blp.errors(403, 404, 409)
def record_payment(args, loan_id):
    """Record an offline repayment (a bank transfer with its voucher); it waits for the funder's finance."""
    outcome = repayments.record_offline_payment(current_user(), loan_id, args["amount"], args["idempotency_key"],
                                                args["prepayment"], args["document_id"], args["received_on"],
                                                args["reference"])
    return repayments.payment_view(outcome.payment), 200 if outcome.duplicate else 201


@blp.route("/loans/<int:loan_id>/payments/<int:payment_id>/voucher", methods=["POST"])
@blp.response(200, PaymentSchema)
@blp.errors(403, 404, 409, 413, 422)
@blp.doc(requestBody=VOUCHER_UPLOAD)
def attach_voucher(loan_id, payment_id):
    """The borrower attaches the transfer voucher (multipart `file`: PDF, PNG or JPEG, judged from the
    content) to an offline payment awaiting confirmation; it replaces one attached before."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_l("upload the voucher in the multipart field 'file'"), fields={"file": [_l("missing")]})
    content = upload.stream.read(repayments.voucher_limit() + 1)
    return repayments.attach_voucher(current_user(), loan_id, payment_id, repayments.Voucher(upload.filename, content))


def _voucher_content_types(func):
    """The bytes of each content type a voucher can have (`repayments.VOUCHER_TYPES`)."""
    for content_type in repayments.VOUCHER_TYPES:
        func = blp.alt_response(200, schema={"type": "string", "format": "binary"}, content_type=content_type,
                                description="the voucher's bytes, as uploaded", success=True)(func)
    return func


@blp.route("/loans/<int:loan_id>/payments/<int:payment_id>/voucher")
@_voucher_content_types
@blp.errors(404)
def download_voucher(loan_id, payment_id):
    """The voucher's bytes (whoever sees the loan; 404 when the payment has none)."""
    payment = repayments.voucher_of(current_user(), loan_id, payment_id)
    response = send_file(BytesIO(payment.voucher or b""), mimetype=payment.voucher_content_type,
                         as_attachment=True, download_name=payment.voucher_filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/loans/<int:loan_id>/payments/<int:payment_id>/confirm", methods=["POST"])
@blp.response(200, PaymentSchema)
@blp.errors(403, 404, 409)
def confirm_payment(loan_id, payment_id):
    """Finance confirms the money arrived: the payment is booked today.

    A payment is decided once: one confirmed or rejected already (a second click, a colleague at
    the same moment) is a 409 and nothing is booked again; so is one of a loan no longer active.
    """
    return repayments.decide_payment(current_user(), loan_id, payment_id, confirm=True)


@blp.route("/loans/<int:loan_id>/payments/<int:payment_id>/reject", methods=["POST"])
@blp.arguments(RejectPaymentSchema())
@blp.response(200, PaymentSchema)
@blp.errors(403, 404, 409)
def reject_payment(args, loan_id, payment_id):
    """Finance found no money for the voucher: nothing is booked; `reason` (required) is shown to the
    borrower and sent them as a notice. Only a pending payment is rejected: a booked or already
    rejected one is a 409."""
    return offline_repayments.decide(current_user(), loan_id, payment_id, confirm=False, reason=args["reason"])


@blp.route("/loans/<int:loan_id>/payoff-quote")
@blp.arguments(PayoffArgs(), location="query")
@blp.response(200, PayoffQuoteSchema)
@blp.errors(404, 409)
def payoff_quote(args, loan_id):
    """What settles the loan on `date` (default today, at latest its last due date): dues, principal, interest to
    the date, the fee. 409 for a loan that is not active."""
    return repayments.quote_payoff_for(current_user(), loan_id, args["on"])


@blp.route("/loans/<int:loan_id>/early-repayment-quote")
@blp.arguments(EarlyRepaymentArgs(), location="query")
@blp.response(200, EarlyRepaymentQuoteSchema)
@blp.errors(404, 409)
def early_repayment_quote(args, loan_id):
    """Paying early on `date` (default today, at latest the loan's last due date): without `amount` the full
    pay-off (principal, interest to the date, the product's early-repayment fee, total); with it (at most the
    pay-off), a partial prepayment and the schedule after it in `mode` (shorten_term or reduce_instalment).
    Nothing is kept. 409 for a loan that is not active."""
    return repayments.quote_early_repayment(current_user(), loan_id, args["on"], args["amount"], args["mode"])


@blp.route("/loans/<int:loan_id>/repayments/online", methods=["POST"])
@blp.arguments(OnlineRepaymentSchema())
@blp.response(201, RepaymentOrderSchema)
@blp.alt_response(200, schema=RepaymentOrderSchema, description="the same idempotency key again: the order placed first")
@blp.errors(403, 404, 409)
def pay_online(args, loan_id):
    """The borrower pays online: a collection order at the payment gateway, paid at its `pay_url`; the
    gateway's signed notification books the payment. Amount at most what settles the loan today; what it
    pays beyond the bills prepays principal as `prepayment` says (default shorten_term): an early
    repayment confirmed and paid. The same key with another amount or mode is 409."""
    placed = online_repayments.order(current_user(), loan_id, args["amount"], args["idempotency_key"],
                                     args["prepayment"])
    return placed, 200 if placed.duplicate else 201


@blp.route("/loans/<int:loan_id>/repayments/online")
@blp.response(200, RepaymentOrderSchema(many=True))
@blp.errors(404)
def online_repayments_of(loan_id):
    """The loan's online repayments, newest first, with their status (a failed one with its reason)."""
    return online_repayments.orders_of(current_user(), loan_id)


@blp.route("/ledger/trial-balance")
@blp.response(200, TrialBalanceSchema)
@blp.errors(403)
def trial_balance():
    """Every account's balance (zero in total): the whole ledger, or a funder's loans for its finance."""
    scope, balance = ledger.trial_balance_for(current_user())
    return {"scope": scope, "balances": balance.balances, "total": balance.total}
