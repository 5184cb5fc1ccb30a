"""Repayments: taking a notified payment once, offline vouchers confirmed by finance, pay-off quotes, credit.

A payment is allocated by `app.lending.apply_payment` (penalties → fees → interest → principal,
oldest instalment first, the current bill included even before its due date; above that it
prepays principal, giving a new schedule version; a payment covering the pay-off quote closes
the loan, and anything beyond is the borrower's credit) and booked as one balanced journal entry.
These functions leave the commit to their caller (a request, a CLI command, an engine step).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from app.extensions import db
from app.lending import LoanAccount, Prepayment, apply_payment, payoff_quote
from app.lending.errors import LendingError
from app.lending.money import parse_money
from app.models import Instalment, Loan, Organisation, Payment
from app.models.loan import PAYMENT_CHANNELS, ZERO
from app.services import clock, context
from app.services.context import lazy_gettext as _l
from app.services.context import readable
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, Text
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.ledger.journal import lock_ledger
from app.services.ledger.loans import (
    amounts_overdue,
    bill_settled_interest,
    business_today,
    invalid,
    load_state,
    loan_is,
    loan_visible,
    owed,
    require_on_loan,
    save_account,
    visible_loan,
)
from app.services.ledger.posting import loan_accounts, payment_amounts, post_event
from app.services.workflow.documents import SCANS, get_document, kept_name, sniffed_as


@dataclass(frozen=True)
class PaymentNotice:
    """A payment as a channel reports it; `idempotency_key` is the channel's own id for it."""

    loan_id: int
    idempotency_key: str
    amount: Decimal | str
    channel: str = "online"
    prepayment: str = Prepayment.SHORTEN_TERM.value
    received_on: date | None = None
    document_id: int | None = None


@dataclass(frozen=True)
class PaymentOutcome:
    payment: Payment
    duplicate: bool = False  # the same notification came before: nothing was booked this time


PAYMENT_IS: dict[str, Text] = {"pending": _l("the payment is pending"), "booked": _l("the payment is booked"),
                               "rejected": _l("the payment is rejected")}


def payment_is(status: str) -> Text:
    """`the payment is <status>` (a conflict's message): the status's code in English, its word in Chinese."""
    found = PAYMENT_IS.get(status)
    return found if found is not None else _l("the payment is %(status)s", status=status)


def take_payment(notice: PaymentNotice) -> PaymentOutcome:
    """Record a payment; book it at once unless it is offline (then it waits for finance)."""
    amount, mode = _check(notice)
    lock_ledger()
    state = load_state(notice.loan_id, lock=True)
    existing = find_payment(notice.idempotency_key)
    if existing is not None:
        if (existing.loan_id, existing.amount, existing.channel) != (notice.loan_id, amount, notice.channel):
            raise Conflict(_l("this idempotency key was used for another payment"))
        return PaymentOutcome(existing, duplicate=True)
    if state.loan.status != "active":
        raise Conflict(loan_is(state.loan.status))
    payment = Payment(loan_id=notice.loan_id, idempotency_key=notice.idempotency_key, channel=notice.channel,
                      amount=amount, prepayment=mode.value, status="pending",
                      received_on=notice.received_on or business_today(), document_id=notice.document_id,
                      allocation={})
    db.session.add(payment)
    db.session.flush()
    if notice.channel != "offline":
        _book(payment, payment.received_on)
    return PaymentOutcome(payment)


def take_payment_and_commit(notice: PaymentNotice,
                            then: Callable[[Payment], None] | None = None) -> PaymentOutcome:
    """`take_payment` in its own transaction; a concurrent twin that won the race is a duplicate.
    `then` completes a new payment in the same transaction, under the loan's lock (what refuses it rolls it back).

    The twin loses on the unique key (PostgreSQL, where the loan's row lock makes that rare) or on
    SQLite's write lock; either way the payment that won is answered.
    """
    try:
        outcome = take_payment(notice)
        if then is not None and not outcome.duplicate:
            then(outcome.payment)
        db.session.commit()
    except (IntegrityError, OperationalError):
        db.session.rollback()
        existing = find_payment(notice.idempotency_key)
        if existing is None:
            raise
        return PaymentOutcome(existing, duplicate=True)
    except Exception:
        db.session.rollback()
        raise
    return outcome


def confirm_payment(payment_id: int, user_id: int | None = None) -> Payment:
    """Finance confirms an offline payment: it is booked today.

    A payment is decided once: confirming one that is booked or rejected already (a second click,
    a racing colleague) is a conflict that changes nothing, as is confirming one of a loan no
    longer active.
    """
    payment, loan_status = _decision(payment_id)
    if payment.status != "pending":
        raise Conflict(payment_is(payment.status))
    if loan_status != "active":
        raise Conflict(loan_is(loan_status))
    _settle(payment, "booked", user_id)
    _book(payment, business_today())
    return payment


def reject_payment(payment_id: int, user_id: int | None = None, reason: str | None = None) -> Payment:
    """Finance found no money for an offline voucher: nothing is booked; `reason` is kept for the
    borrower. Only a pending payment is rejected: a booked one, or one rejected already (a second
    click, a racing colleague), is a conflict."""
    payment, _ = _decision(payment_id)
    _settle(payment, "rejected", user_id)
    if reason is not None:
        payment.reject_reason = reason
        db.session.flush()
    return payment


def _decision(payment_id: int) -> tuple[Payment, str]:
    """The payment as committed now, with its loan's lock held (and the ledger's, shared) for the
    rest of the transaction: decisions on one payment, or on one loan, run one after the other."""
    lock_ledger()
    loan_id = _load(payment_id).loan_id
    state = load_state(loan_id, lock=True)
    return _load(payment_id), state.loan.status


def _settle(payment: Payment, status: str, user_id: int | None) -> None:
    """Move a pending payment to `status`, guarded: the row changes only while it is pending, so
    whatever lock a caller forgot, one decision wins and the other is a conflict."""
    changed = db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status == "pending")
        .values(status=status, confirmed_at=clock.now(), confirmed_by_id=user_id)
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise Conflict(payment_is(_load(payment.id).status))
    db.session.refresh(payment)


def quote_payoff(loan_id: int, on: date | None = None) -> dict[str, Any]:
    """What settles the loan on `on`: overdue dues, principal not yet due, interest to date, the fee."""
    state = load_state(loan_id)
    on = on or business_today()
    try:
        quote = payoff_quote(state.account, on)
    except LendingError as exc:
        raise invalid(exc) from None
    credit_balance = state.loan.credit_balance
    return {"on": on.isoformat(), "dues": str(quote.dues), "principal": str(quote.principal),
            "interest": str(quote.interest), "fee": str(quote.fee), "total": str(quote.total),
            "credit": str(credit_balance), "to_pay": str(max(quote.total - credit_balance, ZERO))}


def refund_credit(loan_id: int, on: date | None = None) -> Decimal:
    """Pay the borrower's credit back out (through the clearing account); returns the amount.

    A loan holding no credit (refunded already, by a racing request too) is a conflict.
    """
    lock_ledger()
    state = load_state(loan_id, lock=True)
    amount = state.loan.credit_balance
    if amount <= 0:
        raise Conflict(_l("the loan holds no credit"))
    post_event("credit_refund", on or business_today(), {"credit": amount}, loan_accounts(state.loan), loan_id=loan_id)
    state.loan.credit_balance = ZERO
    return amount


def find_payment(idempotency_key: str) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.idempotency_key == idempotency_key)
                             .execution_options(populate_existing=True))


def _load(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    if payment is None:
        raise NotFound(_l("payment not found"))
    return payment


def _check(notice: PaymentNotice) -> tuple[Decimal, Prepayment]:
    fields: dict[str, list[str | Text]] = {}
    amount = ZERO
    try:
        amount = parse_money(notice.amount, "amount")
        if amount <= 0:
            fields["amount"] = [_l("must be positive")]
    except LendingError as exc:
        fields["amount"] = [readable(exc)]
    if notice.channel not in PAYMENT_CHANNELS:
        fields["channel"] = [_l("must be one of %(choices)s", choices=", ".join(PAYMENT_CHANNELS))]
    if not notice.idempotency_key or len(notice.idempotency_key) > 255:
        fields["idempotency_key"] = [_l("is required (at most 255 characters)")]
    try:
        mode = Prepayment(notice.prepayment)
    except ValueError:
        fields["prepayment"] = [_l("must be shorten_term or reduce_instalment")]
        mode = Prepayment.SHORTEN_TERM
    if fields:
        raise Invalid(_l("the payment is not valid"), fields)
    return amount, mode


# Money the lender takes, not the borrower's early repayment: the proceeds of the pledged goods' forced sale
# (`collateral.disposal`) and the price a debt buyer pays (`collections.decisions`) close or reduce the loan without
# the product's early-repayment fee (it took ¥6,000.00 of a 600,000.00 loan's surplus from the borrower).
FEE_FREE_CHANNELS = frozenset({"disposal", "debt_sale"})


def _fee_free(account: LoanAccount) -> LoanAccount:
    schedule = account.schedule
    terms = replace(schedule.terms, early_repayment_fee_percent=ZERO)
    return replace(account, schedule=replace(schedule, terms=terms))


def _book(payment: Payment, on: date) -> None:
    """Allocate and post a payment on `on`; the borrower's credit is used with it."""
    state = load_state(payment.loan_id)
    loan = state.loan
    credit_used = loan.credit_balance
    account = _fee_free(state.account) if payment.channel in FEE_FREE_CHANNELS else state.account
    try:
        result = apply_payment(replace(account, credit=ZERO), on, payment.amount + credit_used,
                               Prepayment(payment.prepayment))
    except LendingError as exc:
        raise invalid(exc) from None
    version = loan.schedule_version
    reason = "payment"
    if result.account.schedule.version != version:
        reason = "payoff" if result.settled else payment.prepayment
    rows = save_account(state, result.account, on, payment.id, reason)
    accounts = loan_accounts(loan)
    bill_settled_interest(loan.id, rows, on, accounts)
    lines = result.allocation.lines
    parts = {part: sum((getattr(line, part) for line in lines), ZERO)
             for part in ("penalties", "fees", "interest", "principal")}
    post_event("fee_charged", on, {"fees": result.fee}, accounts, loan_id=loan.id, payment_id=payment.id)
    post_event("payment", on, payment_amounts(
        payment.amount, penalties=parts["penalties"], fees=parts["fees"] + result.fee,
        interest=parts["interest"] + result.closing_interest, principal=parts["principal"] + result.prepaid_principal,
        credit_used=credit_used, credit_added=result.credit_added,
    ), accounts, loan_id=loan.id, payment_id=payment.id, memo=f"{payment.channel} {payment.idempotency_key}")
    loan.credit_balance = result.credit_added
    payment.status, payment.booked_on = "booked", on
    payment.allocation = {
        **{part: str(amount) for part, amount in parts.items()},
        "prepaid_principal": str(result.prepaid_principal), "fee": str(result.fee),
        "closing_interest": str(result.closing_interest), "credit_used": str(credit_used),
        "credit_added": str(result.credit_added), "settled": result.settled,
        "schedule_version": loan.schedule_version,
        "instalments": [{"number": line.number, "penalties": str(line.penalties), "fees": str(line.fees),
                         "interest": str(line.interest), "principal": str(line.principal)} for line in lines],
    }
    db.session.flush()


# -- the API: payments as a user sees and records them -----------------------------------------

API_KEY_PREFIX = "api:{loan_id}:"  # keys sent over the API are the caller's own, per loan


@dataclass(frozen=True)
class PaymentView:
    """A payment as the API shows it: the row and the idempotency key as its caller sent it."""

    payment: Payment
    idempotency_key: str


def payment_view(payment: Payment) -> PaymentView:
    return PaymentView(payment, client_key(payment))


def loan_payments(principal: Principal, loan_id: int) -> list[PaymentView]:
    loan = visible_loan(principal, loan_id)
    return [payment_view(p) for p in db.session.scalars(select(Payment).where(Payment.loan_id == loan.id)
                                                        .order_by(Payment.id)
                                                        .execution_options(populate_existing=True))]


def quote_payoff_for(principal: Principal, loan_id: int, on: date | None = None) -> dict[str, Any]:
    """`quote_payoff` for a loan the user may see (404 otherwise), active, on a date it may be quoted on
    (`quotable_on`)."""
    loan = visible_loan(principal, loan_id)
    return quote_payoff(loan.id, quotable_on(loan, on))


def quotable_on(loan: Loan, on: date | None) -> date:
    """The date a quote of the loan is for (default today), if it may be quoted on it: the loan is active (409
    otherwise: a settled or written-off loan has nothing to repay early) and the date is no later than its last
    due date, or today once that has passed (after it nothing is early: what is left is due; a date decades
    ahead was quoted). 422 on `date` otherwise; a date before the disbursement is the money code's to refuse."""
    if loan.status != "active":
        raise Conflict(loan_is(loan.status))
    today = business_today()
    last = max(row.due_date for row in load_state(loan.id).account.schedule.instalments)
    on = on or today
    if on > max(last, today):
        message = (_l("No later than %(last)s, the loan's last due date.", last=last.isoformat()) if last >= today
                   else _l("No later than today, %(today)s: the loan's last due date has passed.",
                           today=today.isoformat()))
        raise Invalid(_l("the quote is not valid"), {"date": [message]})
    return on


def client_key(payment: Payment) -> str:
    """The idempotency key as its caller sent it (API keys are stored with the loan's prefix)."""
    prefix = API_KEY_PREFIX.format(loan_id=payment.loan_id)
    key = payment.idempotency_key
    return key[len(prefix):] if key.startswith(prefix) else key


VOUCHER_TYPES = SCANS  # what a transfer voucher may be, sniffed: a PDF, PNG or JPEG


@dataclass(frozen=True)
class Voucher:
    """A transfer voucher as uploaded: its name and its bytes (the type is judged from the bytes)."""

    filename: str
    content: bytes


def _checked_voucher(voucher: Voucher) -> tuple[str, str]:
    """(safe file name, sniffed type); `Invalid` naming `voucher` for an empty file or one that is not a
    PDF, PNG or JPEG, `DocumentTooLarge` (413) past the document size limit."""
    if not voucher.content:
        raise Invalid(_l("the voucher is not valid"), {"voucher": [_l("the file is empty")]})
    content_type = sniffed_as(voucher.content, voucher.filename, VOUCHER_TYPES)
    if content_type is None:
        raise Invalid(_l("the voucher is not valid"), {"voucher": [_l("must be a PDF, PNG or JPEG file")]})
    name = kept_name(voucher.filename, content_type, "voucher")
    return name, content_type


def _refuse_a_transfer_reported_before(loan_id: int, reference: str | None, voucher: bytes | None,
                                       but: int | None = None) -> None:
    """`Conflict` naming `reference` or `voucher` when another transfer of the loan awaiting finance or booked has
    the same bank reference (spaces and case aside) or the very same voucher file: one transfer reported twice
    and confirmed twice booked twice what arrived. A rejected transfer's may be sent again; `but` is the
    payment itself when its voucher is attached."""
    wanted = "".join((reference or "").split()).upper()
    digest = hashlib.sha256(voucher).hexdigest() if voucher else None
    others = db.session.scalars(select(Payment).where(
        Payment.loan_id == loan_id, Payment.channel == "offline", Payment.id != (but or 0),
        Payment.status.in_(("pending", "booked"))).order_by(Payment.id))
    for other in others:
        said = {"date": other.received_on.isoformat(), "amount": f"¥{other.amount:,.2f}"}
        if wanted and "".join((other.reference or "").split()).upper() == wanted:
            raise Conflict(_l("this transfer was reported already"), {"reference": [
                _l("this bank reference was reported on %(date)s (%(amount)s): a transfer is reported once",
                   **said)]})
        if digest is not None and other.voucher_sha256 == digest:
            raise Conflict(_l("this transfer was reported already"), {"voucher": [
                _l("this voucher file was sent with the transfer reported on %(date)s (%(amount)s)", **said)]})


def _keep_voucher(payment: Payment, voucher: Voucher) -> None:
    name, content_type = _checked_voucher(voucher)
    _refuse_a_transfer_reported_before(payment.loan_id, None, voucher.content, but=payment.id)
    payment.voucher_filename, payment.voucher_content_type = name, content_type
    payment.voucher_sha256 = hashlib.sha256(voucher.content).hexdigest()
    payment.voucher = voucher.content


def record_offline_payment(principal: Principal, loan_id: int, amount: Decimal, idempotency_key: str,
                           prepayment: str = Prepayment.SHORTEN_TERM.value,
                           document_id: int | None = None, received_on: date | None = None,
                           reference: str | None = None, voucher: Voucher | None = None) -> PaymentOutcome:
    """The borrower (or the platform admin) records a transfer with its voucher; finance confirms it.

    `received_on` is the transfer's date (default today; not in the future, not before the
    disbursement), `reference` the bank's, `voucher` the file (PDF, PNG or JPEG, kept with the payment).
    The same key on the same loan again answers the payment recorded first (`duplicate`).
    Commits.
    """
    loan = visible_loan(principal, loan_id)
    require_on_loan(principal, loan, "payments.record")
    if voucher is not None:
        _checked_voucher(voucher)
    if received_on is not None and not loan.disbursed_on <= received_on <= business_today():
        raise Invalid(_l("the payment is not valid"),
                      {"received_on": [_l("must be between the disbursement and today")]})
    if document_id is not None:
        try:
            get_document(principal, document_id)
        except NotFound:
            raise Invalid(_l("the voucher is not a document you can see"),
                          {"document_id": [_l("no such document")]}) from None
    key = API_KEY_PREFIX.format(loan_id=loan.id) + idempotency_key
    if loan.status == "active" and find_payment(key) is None:  # as an online payment: a typo is no credit
        to_pay = Decimal(quote_payoff(loan.id)["to_pay"])
        if amount > to_pay:
            raise Invalid(_l("the payment is not valid"), {"amount": [
                _l("at most %(amount)s, what settles the loan today", amount=f"¥{to_pay:,.2f}")]})
    notice = PaymentNotice(loan.id, key, amount, channel="offline", prepayment=prepayment, document_id=document_id,
                           received_on=received_on)

    def described(payment: Payment) -> None:
        """The transfer's reference and voucher, with the payment and under the loan's lock: a transfer the loan
        has already is not reported again, even by two reports at once (the second waits for the first)."""
        _refuse_a_transfer_reported_before(loan.id, reference, voucher.content if voucher is not None else None,
                                           but=payment.id)
        payment.reference = reference or None
        if voucher is not None:
            _keep_voucher(payment, voucher)
    return take_payment_and_commit(notice, described)


def attach_voucher(principal: Principal, loan_id: int, payment_id: int, voucher: Voucher) -> PaymentView:
    """The borrower attaches (or replaces) the voucher of an offline payment still awaiting finance;
    a decided one is a conflict. Commits."""
    loan = visible_loan(principal, loan_id)
    require_on_loan(principal, loan, "payments.record")
    payment = _of_loan(loan.id, payment_id)
    if payment.channel != "offline":
        raise Conflict(_l("only an offline payment has a voucher"))
    if payment.status != "pending":
        raise Conflict(payment_is(payment.status))
    try:
        _keep_voucher(payment, voucher)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return payment_view(payment)


def voucher_of(principal: Principal, loan_id: int, payment_id: int) -> Payment:
    """The payment with its voucher, for whoever sees the loan; 404 when it has none."""
    payment = _of_loan(visible_loan(principal, loan_id).id, payment_id)
    if payment.voucher_filename is None:
        raise NotFound(_l("the payment has no voucher"))
    return payment


def _of_loan(loan_id: int, payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id, populate_existing=True)
    if payment is None or payment.loan_id != loan_id:
        raise NotFound(_l("payment not found"))
    return payment


def decide_payment(principal: Principal, loan_id: int, payment_id: int, confirm: bool,
                   reason: str | None = None,
                   rejected: Callable[[Loan, Payment], None] | None = None) -> PaymentView:
    """The loan's funder's finance (or the platform admin) confirms or rejects an offline payment; a
    rejection needs its `reason`, which the borrower sees on the loan (`rejected` is called with the
    loan and the payment in the same transaction: `signing.offline_repayments` tells the borrower). Commits."""
    loan = visible_loan(principal, loan_id)
    require_on_loan(principal, loan, "payments.confirm")
    _of_loan(loan.id, payment_id)
    reason = (reason or "").strip()
    if not confirm and not reason:
        raise Invalid(_l("the rejection is not valid"), {"reason": [_l("give the reason the borrower will see")]})
    try:
        if confirm:
            decided = confirm_payment(payment_id, principal.id)
        else:
            decided = reject_payment(payment_id, principal.id, reason[:1000])
            if rejected is not None:
                rejected(loan, decided)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return payment_view(decided)


# -- early repayment: what paying off, or prepaying a part, would do on a date ------------------

def quote_early_repayment(principal: Principal, loan_id: int, on: date | None = None, amount: Decimal | None = None,
                          mode: str = Prepayment.SHORTEN_TERM.value) -> dict[str, Any]:
    """For a loan the user may see (404 otherwise): without `amount`, the full pay-off on `on` (default
    today: principal, interest to the date, the product's early-repayment fee, total; `quote_payoff`);
    with `amount`, what a payment of it on `on` would do (`apply_payment` on the loan as stored,
    nothing kept): what it pays of the bills, the principal it prepays, the fee, and the schedule
    after it in `mode` (shorten_term or reduce_instalment). `Invalid` (422) for a date before the
    disbursement or the last payment, an amount that is not positive, or an unknown mode."""
    loan = visible_loan(principal, loan_id)
    try:
        prepayment = Prepayment(mode)
    except ValueError:
        raise Invalid(_l("the quote is not valid"),
                      {"mode": [_l("must be shorten_term or reduce_instalment")]}) from None
    on = quotable_on(loan, on)
    try:
        payoff = quote_payoff(loan.id, on)
    except Invalid as exc:
        raise _about_date(exc) from None
    answer: dict[str, Any] = {**payoff, "kind": "payoff" if amount is None else "partial", "mode": prepayment.value,
                              "prepayment": None}
    if amount is None:
        return answer
    if amount <= 0:
        raise Invalid(_l("the quote is not valid"), {"amount": [_l("must be positive")]})
    if amount > Decimal(payoff["to_pay"]):  # more than settles the loan is no prepayment (it was quoted as one)
        raise Invalid(_l("the quote is not valid"), {"amount": [_l(
            "At most ¥%(payoff)s, what pays off the whole loan on %(on)s.", payoff=f"{Decimal(payoff['to_pay']):,.2f}",
            on=payoff["on"])]})
    state = load_state(loan.id)
    credit = state.loan.credit_balance
    try:
        result = apply_payment(replace(state.account, credit=ZERO), date.fromisoformat(payoff["on"]), amount + credit,
                               prepayment)
    except LendingError as exc:
        raise _about_date(invalid(exc)) from None
    schedule = result.account.schedule
    rows = [_quoted_row(row, result.account) for row in schedule.instalments]
    answer["prepayment"] = {
        "amount": f"{amount:.2f}", "credit_used": f"{credit:.2f}", "settled": result.settled,
        "bills_paid": f"{sum((line.total for line in result.allocation.lines), ZERO):.2f}",
        "prepaid_principal": f"{result.prepaid_principal:.2f}", "fee": f"{result.fee:.2f}",
        "credit_left": f"{result.credit_added:.2f}",
        "level_payment": None if schedule.level_payment is None else f"{schedule.level_payment:.2f}",
        "instalments_left": sum(1 for row in rows if Decimal(row["owed"]) > 0), "schedule": rows,
    }
    return answer


def _about_date(exc: Invalid) -> Invalid:
    """The money code's refusal of a date (before the disbursement, before the last payment) names the field, saying
    what a quote's date may be."""
    return exc if exc.fields else Invalid(exc.message, {"date": [QUOTE_TOO_EARLY]})


QUOTE_TOO_EARLY = _l("No quote for this date: it is before the loan began or its last payment.")


def _quoted_row(row: Any, account: LoanAccount) -> dict[str, Any]:
    """One instalment of the schedule after the quoted payment, adding up: principal, interest, fees and penalties
    less what is paid of them (this payment included) is what is still owed (`LoanAccount.owed_on`)."""
    penalties = account.penalties.get(row.number, ZERO)
    total = row.principal + row.interest + row.fees + penalties
    owed = account.owed_on(row).total
    return {"number": row.number, "due_date": row.due_date.isoformat(), "principal": f"{row.principal:.2f}",
            "interest": f"{row.interest:.2f}", "fees": f"{row.fees:.2f}", "penalties": f"{penalties:.2f}",
            "total": f"{total:.2f}", "paid": f"{total - owed:.2f}", "balance": f"{row.balance:.2f}",
            "owed": f"{owed:.2f}"}


# -- finance's monitoring: what falls due this week, what is overdue, what awaits confirmation ----

BUCKET_ORDER = ("1-30", "31-60", "61-90", "91+")


def may_monitor(principal: Principal) -> bool:
    """Platform staff, and the users who confirm a funder's payments (its finance)."""
    return principal.is_platform or policy.may_ever(principal, "payments.confirm")


def monitor(principal: Principal, today: date | None = None) -> dict[str, Any]:
    """The loans the reader sees (platform staff every loan, a funder's finance their funder's): bills
    of active loans due in the seven days from `today` and not paid, active loans still owing overdue bills by the
    batch's bucket (most days past due first) with what their overdue instalments owe, and offline
    payments awaiting confirmation; each loan's borrower by name. 403 for anyone else."""
    if not may_monitor(principal):
        raise Forbidden(_l("the monitoring page is finance's"))
    today = today or business_today()
    visible = loan_visible(principal)
    due = [(loan, row, owed(row)) for row, loan in db.session.execute(
        select(Instalment, Loan).join(Loan, Loan.id == Instalment.loan_id)
        .where(visible, Loan.status == "active", Instalment.is_current.is_(True),
               Instalment.status.in_(("pending", "overdue")),
               Instalment.due_date >= today, Instalment.due_date <= today + timedelta(days=6))
        .order_by(Instalment.due_date, Loan.id)).all()]
    flagged = list(db.session.scalars(select(Loan).where(visible, Loan.status == "active", Loan.dpd > 0)
                                      .order_by(Loan.dpd.desc(), Loan.id)))
    owing = amounts_overdue([loan.id for loan in flagged])
    # the batch's days past due stay until it runs again: a loan whose overdue bills were paid since owes
    # nothing overdue, as its page says (LoanView.overdue), and is not listed as overdue with ¥0.00
    overdue_loans = [loan for loan in flagged if owing[loan.id] > 0]
    overdue = [(bucket, [loan for loan in overdue_loans if loan.bucket == bucket]) for bucket in BUCKET_ORDER]
    awaiting = [(loan, payment) for payment, loan in db.session.execute(
        select(Payment, Loan).join(Loan, Loan.id == Payment.loan_id)
        .where(visible, Payment.status == "pending", Payment.channel == "offline")
        .order_by(Payment.created_at, Payment.id)).all()]
    shown = {loan.borrower_org_id for loan, *_rest in due + awaiting} | {loan.borrower_org_id for loan in overdue_loans}
    borrowers = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_(shown))).all()) if shown else {}
    return {"today": today, "due": [entry for entry in due if entry[2] > 0], "overdue": overdue,
            "awaiting": awaiting, "may_decide": policy.may_ever(principal, "payments.confirm"),
            "borrowers": borrowers,  # whose loan each row is, by the loan's borrower organisation
            "amounts_overdue": owing}


def voucher_limit() -> int:
    """The largest voucher accepted, in bytes (the documents' limit)."""
    return int(context.config("MAX_DOCUMENT_BYTES"))


def may_record(principal: Principal, loan_id: int) -> bool:
    """Whether the loan page offers this user the bank-transfer form (an active loan they see; 404 otherwise)."""
    loan = visible_loan(principal, loan_id)
    return loan.status == "active" and policy.allowed(principal, "payments.record", parties={
        "borrower": loan.borrower_org_id, "funder": loan.funder_org_id})


def may_decide(principal: Principal, loan_id: int) -> bool:
    """Whether the loan page offers this user to confirm or reject its transfers."""
    loan = visible_loan(principal, loan_id)
    return loan.status == "active" and policy.allowed(principal, "payments.confirm", parties={
        "borrower": loan.borrower_org_id, "funder": loan.funder_org_id})
