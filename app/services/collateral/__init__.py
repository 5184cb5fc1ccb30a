"""Collateral: pledged goods after disbursement (docs/collateral.md): commodity prices (`prices`),
the pledges of active pledge-financing deals, their LTV history and zone crossings (`pledges`),
margin calls answered by top-ups and releases in proportion to repayment (`monitoring`), disposal of
the goods (`disposal`), and the operators of `pledge_monitoring` and `collateral_disposal`
(`operators`)."""
