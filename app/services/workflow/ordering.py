"""The order a list is read in, as its caller asks (Camunda's `sortBy`/`sortOrder`): each list names the keys it sorts
by and the column behind each; an empty value sorts after every other in either direction (so SQLite and PostgreSQL
answer alike), and the row's id breaks ties, so pages of one order never overlap or skip."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select

Order = Sequence[tuple[str, bool]]  # (key, descending)


def ordered(query: Select, columns: Mapping[str, Any], order: Order, tie: Any) -> Select:
    """`query` in `order` (keys of `columns`, each a column or a model's attribute), then by `tie` (the row's id)."""
    clauses = []
    for key, descending in order:
        column = columns[key]
        clauses.append((column.desc() if descending else column.asc()).nulls_last())
    return query.order_by(*clauses, tie)


def sort_rows(rows: list[dict[str, Any]], order: Order, tie: str = "id") -> list[dict[str, Any]]:
    """Rows already read (dictionaries) in `order` (keys of the rows), then by `tie`; empty values last."""
    rows = sorted(rows, key=lambda row: row[tie])
    for key, descending in reversed(order):  # stable sorts, the last key first
        present = [row for row in rows if row[key] is not None]
        present.sort(key=lambda row: row[key], reverse=descending)
        rows = present + [row for row in rows if row[key] is None]
    return rows
