"""What a script may leave in a task's data: values a state can hold, and what they weigh.

Task data is written as JSON with the instance's state. A script that leaves a function, an
iterator, a match object, inf or nan, an integer JSON cannot write in decimal, or nesting past
MAX_DEPTH would make the state dump (and so the whole step) fail; one that leaves more than
MAX_TASK_DATA characters and items (every reference counted: `[text] * 1000` of a long text is a
thousand texts) would outgrow what a state can hold. `measure` judges both in one walk.
"""
from __future__ import annotations

import datetime
import decimal
import math
import sys
import uuid
from typing import Any

MAX_TASK_DATA = 20_000_000  # characters and items a task's data may hold when a script is done
_DIGITS_PER_BIT = 30103 / 100000  # log10(2)
# What the state serializer writes as task data, besides dicts, lists, tuples and sets of them.
STORABLE_SCALARS = (str, int, float, bool, type(None), decimal.Decimal, datetime.date, datetime.time,
                    datetime.timedelta, uuid.UUID)
UNSTORABLE = -1
MAX_STORED_INT_BITS = int((sys.get_int_max_str_digits() or 4300) / _DIGITS_PER_BIT)  # an int JSON can write
MAX_DEPTH = 200


def measure(value: Any, limit: int = MAX_TASK_DATA) -> int:
    """What `value` weighs as task data — characters and items, every reference counted, as the
    JSON state will write them; the count stops once it passes `limit` — or UNSTORABLE when the
    state cannot hold it (a function, a match object, inf or nan, a non-text key, nesting past
    MAX_DEPTH or a cycle). A list of plain texts or numbers is weighed without a Python step per item."""
    total, pending = 0, [(value, 0)]
    while pending and total <= limit:
        item, depth = pending.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            if item.bit_length() > MAX_STORED_INT_BITS:
                return UNSTORABLE  # JSON writes it in decimal: past Python's 4,300 digits, the dump fails
            total += int(item.bit_length() * _DIGITS_PER_BIT) + 1
        elif isinstance(item, float) and not math.isfinite(item):
            return UNSTORABLE  # JSON has no inf or nan: PostgreSQL refuses them
        elif isinstance(item, STORABLE_SCALARS):
            total += 1
        elif depth >= MAX_DEPTH:
            return UNSTORABLE
        elif isinstance(item, dict):
            if not all(isinstance(key, str | int | float | bool) for key in item):
                return UNSTORABLE
            total += len(item) + sum(len(key) for key in item if isinstance(key, str))
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            kinds = set(map(type, item))
            total += len(item)
            if kinds <= {str}:
                total += sum(map(len, item))
            elif kinds <= {int, bool}:
                bits = list(map(int.bit_length, item))
                if bits and max(bits) > MAX_STORED_INT_BITS:
                    return UNSTORABLE
                total += int(sum(bits) * _DIGITS_PER_BIT) + len(item)
            elif kinds.isdisjoint({str, int, float}) and all(issubclass(kind, STORABLE_SCALARS) for kind in kinds):
                total += len(item)  # None, Decimals, dates: one each
            else:
                pending.extend((child, depth + 1) for child in item)
        else:
            return UNSTORABLE
    return total


def heaviest(weights: dict[str, int], limit: int = MAX_TASK_DATA) -> list[str]:
    """The names to drop, heaviest first, so that the rest weighs at most `limit` together."""
    total, dropped = sum(weights.values()), []
    for name in sorted(weights, key=weights.__getitem__, reverse=True):
        if total <= limit:
            break
        dropped.append(name)
        total -= weights[name]
    return dropped
