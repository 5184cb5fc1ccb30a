"""Collateral: pledged goods after disbursement (docs/collateral.md): commodity prices (`prices`),
the pledges of active pledge-financing deals, their LTV history and zone crossings (`pledges`).
Later: margin calls answered by top-ups, releases, disposal."""
