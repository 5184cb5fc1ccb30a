"""A loan's life after disbursement (`docs/post-loan.md`): the `post_loan` instance's work — bill
notices, the auto-debit the borrower authorised, the overdue alert that opens a collections case, and
closing the deal with its settlement certificate when everything is paid.

Rank 5: it uses the payment gateway and the repayment orders of `signing`, the deal of
`origination`, the ledger and the notices below them."""
