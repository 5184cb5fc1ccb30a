"""The loan ledger: loans, repayments, adjustments, posting rules, end-of-day and the outbox."""
