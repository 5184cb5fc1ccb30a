"""Property: the money of a forced sale — the pledged goods' disposal, a debt sold to an agency — adds up.

For any loan (any principal and term, any days late so that interest, penalty interest and the product's
1 % early-repayment fee are in play, an earlier partial payment or not), any sale price and any costs:
the price is the costs plus what the loan is paid plus the surplus returned to the borrower, to the cent;
the surplus is never negative; no early-repayment fee is charged; a price short of the debt leaves exactly
the debt not paid (the disposal's shortfall, the debt sale's write-off); the books balance. Each example
starts from empty ledger tables (as `test_ledger_properties`); on SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app.extensions import db
from app.models import AuditEntry, Instalment, Loan, Payment
from app.models.collateral import Disposal
from app.models.identity import Organisation
from app.models.loan import ZERO
from app.services.collateral import disposal
from app.services.collections import decisions
from app.services.collections.cases import AGENCY
from app.services.identity import directory as identity
from app.services.ledger import loans, repayments
from app.services.ledger.eod import run_eod
from app.services.workflow.operators import HandlerContext
from tests.integration.ledger_support import PRODUCT, assert_books_balance, business_day
from tests.integration.test_ledger_properties import _empty_ledger

START = date(2026, 3, 2)
CENT = Decimal("0.01")
KEY = "LOAN-SALE-1"
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

loans_drawn = st.fixed_dictionaries({
    "principal": st.integers(1_000_00, 2_000_000_00).map(lambda c: Decimal(c) * CENT),
    "term": st.integers(1, 12),
    "days": st.integers(0, 400),  # the sale's day, after the disbursement: on time, late, past the maturity
    "paid_before": st.one_of(st.none(), st.integers(1, 60_000_00).map(lambda c: Decimal(c) * CENT)),
})


def _org(code: str, kind: str) -> int:
    org_id = db.session.scalar(select(Organisation.id).where(Organisation.code == code))
    if org_id is None:
        org_id = identity.create_org(code, [kind], f"Organisation {code}").id
        db.session.commit()
    return org_id


def _loan(clock, drawn: dict) -> tuple[Loan, date]:
    """A fresh loan of the drawn terms on a product with a 1 % early-repayment fee and penalty interest, the
    batch run up to the sale's day, and an earlier payment of the borrower's if drawn."""
    db.session.execute(delete(Disposal))
    db.session.execute(delete(AuditEntry))
    _empty_ledger()
    business_day(clock, START)
    loans.create_product({**PRODUCT, "code": "SALE", "early_repayment_fee_percent": "1"})
    loan = loans.book_loan(loans.LoanRequest("SALE", KEY, _org("PROPS", "borrower"), drawn["principal"],
                                             drawn["term"], START))
    db.session.commit()
    run_eod(START)
    today = START
    if drawn["paid_before"] is not None:
        today = START + timedelta(days=drawn["days"] // 2)
        business_day(clock, today)
        run_eod(today)
        if db.session.get(Loan, loan.id).status == "active":
            repayments.take_payment(repayments.PaymentNotice(loan.id, "before", drawn["paid_before"]))
        db.session.commit()
    today = START + timedelta(days=drawn["days"])
    business_day(clock, today)
    run_eod(today)
    db.session.commit()
    return db.session.get(Loan, loan.id), today


def _debt(loan_id: int) -> tuple[Decimal, Decimal]:
    """What the loan owes on the books less the borrower's credit (a cent an earlier prepayment could not split
    into principal and its fee is kept as credit, and the next payment uses it first), and what would settle it
    today without the fee (the pay-off quote)."""
    quote = repayments.quote_payoff(loan_id)
    credit = db.session.get(Loan, loan_id).credit_balance
    return disposal.owed(loan_id) - credit, Decimal(quote["to_pay"]) - Decimal(quote["fee"])


def _interest_billed(loan_id: int) -> Decimal:
    return sum(db.session.scalars(select(Instalment.interest_billed).where(
        Instalment.loan_id == loan_id, Instalment.is_current).execution_options(populate_existing=True)), ZERO)


def _paid_to_loan(payment: Payment | None) -> Decimal:
    if payment is None:
        return ZERO
    assert payment.status == "booked"
    assert Decimal(payment.allocation["fee"]) == 0, payment.allocation  # no early-repayment fee
    return payment.amount - Decimal(payment.allocation["credit_added"])


@SETTINGS
@given(drawn=loans_drawn, price_cents=st.integers(0, 3_000_000_00), cost_share=st.integers(0, 100))
# CI's SQLite run drew it: the ¥9.59 prepayment keeps a cent as credit, and the cent the goods fetched pays two
@example(drawn={"principal": Decimal("1000.00"), "term": 1, "days": 0, "paid_before": Decimal("9.59")},
         price_cents=1, cost_share=0)
def test_a_disposal_splits_the_price_into_costs_the_loan_and_the_surplus_exactly(ctx, clock, drawn, price_cents,
                                                                                 cost_share):
    loan, today = _loan(clock, drawn)
    if loan.status != "active":
        return  # paid off before the goods were sold
    debt, payoff = _debt(loan.id)
    billed = _interest_billed(loan.id)
    price = Decimal(price_cents) * CENT
    costs = (price * cost_share / 100).quantize(CENT)
    disposal.open_disposal(KEY, {"reason": "liquidation"})
    sold = disposal.record_sale(KEY, "Buyer", str(price), str(costs), today.isoformat(), None)
    if loan.status != "active":
        disposal.return_surplus(KEY)
    db.session.commit()
    row = db.session.scalar(select(Disposal))
    loan = db.session.get(Loan, loan.id)
    payment = db.session.get(Payment, row.payment_id) if row.payment_id else None
    paid = _paid_to_loan(payment)
    surplus = row.surplus or ZERO
    net = price - costs
    assert (row.price, row.costs) == (price, costs)
    assert price == costs + paid + surplus, (price, costs, paid, surplus)
    assert surplus >= 0 and Decimal(sold["surplus"]) == surplus
    if net >= payoff:
        assert loan.status == "closed" and loan.credit_balance == 0
        assert (paid, surplus, row.shortfall) == (payoff, net - payoff, ZERO)
    else:
        assert loan.status == "active" and surplus == 0 and paid == net
        # the debt on the books less what the loan was paid, plus the interest of the current bill that the
        # proceeds paid before the batch billed it (the instalment is paid as scheduled and the loan runs on to its
        # due dates: docs/post-loan.md, the debt sale's known gap); never a negative debt
        early = _interest_billed(loan.id) - billed
        assert row.shortfall == max(debt + early - net, ZERO) == disposal.owed(loan.id), (
            debt, early, net, row.shortfall)
    assert_books_balance(loan.id)


@SETTINGS
@given(drawn=loans_drawn, discount=st.integers(1, 99), paid_meanwhile=st.booleans())
@example(drawn={"principal": Decimal("1000.00"), "term": 1, "days": 0, "paid_before": Decimal("9.59")},
         discount=50, paid_meanwhile=False)  # a cent of credit: the price is a discount of the debt less it
@example(drawn={"principal": Decimal("1000.00"), "term": 1, "days": 0, "paid_before": Decimal("999.42")},
         discount=97, paid_meanwhile=True)  # ¥0.16 paid on a ¥10.32 debt leaves 3 % of it ¥0.31: sold as agreed
def test_a_debt_sale_books_the_price_without_a_fee_and_writes_off_exactly_the_rest(ctx, clock, drawn, discount,
                                                                                   paid_meanwhile):
    loan, today = _loan(clock, drawn)
    if loan.status != "active":
        return
    buyer = _org("AGENCY1", AGENCY)
    context = HandlerContext(instance_id=None, business_key=KEY, element_id="price_sale", idempotency_key="p")
    priced = decisions.price_sale(context, "AGENCY1", discount)
    assert priced["ok"], priced
    price = Decimal(priced["price"])
    # half a cent up (四舍五入), as the price is rounded: ¥10,092.93 at 50% is ¥5,046.47
    assert price == (Decimal(priced["outstanding"]) * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP)
    if paid_meanwhile:  # the borrower pays between the proposal and the approval
        repayments.take_payment(repayments.PaymentNotice(loan.id, "meanwhile", (price / 2).quantize(CENT)
                                                         or CENT))
        db.session.commit()
        if db.session.get(Loan, loan.id).status != "active":
            return
    debt, payoff = _debt(loan.id)
    billed = _interest_billed(loan.id)
    sold = decisions.decide_sale(HandlerContext(None, KEY, "decide_sale", "d"), {
        "decision": "approve", "agency": "AGENCY1", "discount_percent": discount, "price": str(price)})
    db.session.commit()
    if price > (debt * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP):
        # the borrower paid meanwhile and the price is more than the agreed discount of what is owed now: refused,
        # nothing booked, the loan as it was (a payment too small to move the rounded price sells as agreed)
        assert paid_meanwhile and sold["outcome"] == "rejected" and Decimal(sold["outstanding"]) == debt, sold
        assert db.session.get(Loan, loan.id).status == "active"
        assert db.session.scalar(select(Payment).where(Payment.channel == "debt_sale")) is None
        return
    assert buyer and sold["outcome"] == "sold", sold
    loan = db.session.get(Loan, loan.id)
    payment = db.session.get(Payment, sold["payment_id"])
    paid = _paid_to_loan(payment)
    assert payment.channel == "debt_sale" and payment.amount == price
    # the buyer's price is all the loan's: nothing above what is owed is kept as the borrower's credit unpaid
    assert paid + loan.credit_balance == price and loan.credit_balance == 0, (price, paid, loan.credit_balance)
    assert loan.status in ("written_off", "closed")
    # the rest of the debt is written off, no more: what the books owed, less the price, plus the interest of the
    # current bill that the price paid before the batch billed it (the instalment is paid as scheduled: LEFT, see
    # docs/post-loan.md, the debt sale's known gap)
    early = _interest_billed(loan.id) - billed
    assert Decimal(sold["written_off"]) == max(debt + early - price, ZERO), (debt, early, price, sold)
    assert disposal.owed(loan.id) == 0
    assert_books_balance(loan.id)
