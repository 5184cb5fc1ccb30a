"""Terms and products survive the trip to JSON and back (the loan and product rows store them so)."""
from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings

from app.lending.codec import product_from_mapping, product_to_mapping, terms_from_mapping, terms_to_mapping
from app.lending.product import LoanProduct
from tests.unit.lending.strategies import cents, loan_terms


@settings(max_examples=200, deadline=None)
@given(loan_terms())
def test_terms_to_json_and_back_are_the_same_terms(terms):
    assert terms_from_mapping(json.loads(json.dumps(terms_to_mapping(terms)))) == terms


@given(cents(100_00, 1_000_000_00), cents(0, 2400))
def test_products_to_json_and_back_are_the_same_product(max_amount, rate):
    product = LoanProduct(code="P1", name="Product", annual_rate=rate, min_amount=Decimal("100.00"),
                          max_amount=max_amount, min_term=1, max_term=24, overdue_grace_days=3)
    assert product_from_mapping(json.loads(json.dumps(product_to_mapping(product)))) == product
