"""The use cases, grouped by domain; dependencies point one way (see docs/architecture.md).

identity (who exists, who may do what) <- workflow (diagrams, instances, tasks, forms, documents)
<- ledger (loans, repayments, adjustments, end-of-day), with origination, collateral and
collections beside the ledger. `errors`, `clock` and `context` are shared by all.
"""
