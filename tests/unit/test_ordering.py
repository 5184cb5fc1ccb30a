"""The order a list is read in (`workflow.ordering`): rows already read sort as the database sorts them — by each
key asked, empty values last in either direction, ties by id — so a list sorted in Python and one sorted in SQL
page alike."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.services.workflow.ordering import sort_rows

ROWS = [{"id": 1, "at": 5, "who": None}, {"id": 2, "at": None, "who": "li"}, {"id": 3, "at": 5, "who": "chen"},
        {"id": 4, "at": 2, "who": "li"}]


def _ids(rows):
    return [row["id"] for row in rows]


def test_each_key_in_its_direction_empty_values_last_ties_by_id():
    assert _ids(sort_rows(ROWS, [("at", False)])) == [4, 1, 3, 2]
    assert _ids(sort_rows(ROWS, [("at", True)])) == [1, 3, 4, 2]
    assert _ids(sort_rows(ROWS, [("who", True), ("at", False)])) == [4, 2, 3, 1]
    assert _ids(sort_rows(ROWS, [])) == [1, 2, 3, 4]
    assert _ids(sort_rows(list(reversed(ROWS)), [])) == [1, 2, 3, 4]


@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(-3, 3)), st.one_of(st.none(), st.integers(-3, 3))),
                max_size=30), st.booleans(), st.booleans())
def test_as_a_database_orders_by_two_keys_nulls_last_then_id(values, first_desc, second_desc):
    rows = [{"id": number, "a": a, "b": b} for number, (a, b) in enumerate(values)]

    def database_key(row):  # ORDER BY a [DESC] NULLS LAST, b [DESC] NULLS LAST, id
        def part(value, descending):
            return (value is None, 0 if value is None else (-value if descending else value))
        return (*part(row["a"], first_desc), *part(row["b"], second_desc), row["id"])

    assert sort_rows(rows, [("a", first_desc), ("b", second_desc)]) == sorted(rows, key=database_key)
