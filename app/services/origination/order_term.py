"""An order financing's term against its order: the loan is repaid from what the core enterprise pays for the order,
so a loan taken out today may end at most the product's `order_grace_days` after the order is due
(`products.ORDER_GRACE_DAYS` for a product made before the rule). An order due tomorrow does not carry a loan of six
months: the money would come in, and the loan stay out, for five of them."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from app.lending.daycount import Frequency, nominal_due_dates
from app.models import Product
from app.services.context import lazy_gettext as _l
from app.services.ledger import loans
from app.services.origination.products import ProductTerms


def _due(details: Mapping[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(details.get("order_due_date") or ""))
    except ValueError:
        return None


def past_the_order(product: Product, terms: ProductTerms, term: object, details: Mapping[str, Any],
                   today: date) -> Any:
    """Why `term` is too long for the order in `details` (a text for the term's field), or None."""
    due = _due(details) if terms.kind == "order_financing" else None
    if due is None or terms.order_grace_days is None or isinstance(term, bool) or not isinstance(term, int) \
            or term < 1:
        return None
    rules = loans.product_rules(product)
    if rules.frequency is Frequency.WHOLE_TERM:
        return None

    def ends(periods: int) -> date:
        return nominal_due_dates(today, rules.frequency, rules.every, periods)[-1]

    latest, end = due + timedelta(days=terms.order_grace_days), ends(term)
    if end <= latest:
        return None
    longest = max((n for n in range(terms.min_term, term) if ends(n) <= latest), default=None)
    if longest is None:
        return _l("The order is due on %(due)s: even this product's shortest term would end on %(end)s, more than "
                  "%(grace)s days later. Finance an order due later.", due=due.isoformat(),
                  end=ends(terms.min_term).isoformat(), grace=terms.order_grace_days)
    return _l("A loan taken out today would end on %(end)s, more than %(grace)s days after the order is due "
              "(%(due)s): choose a term of %(longest)s or fewer months.", end=end.isoformat(), grace=terms.order_grace_days,
              due=due.isoformat(), longest=longest)
