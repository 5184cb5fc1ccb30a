"""Which scripts and expressions may run in the calling process: code that can neither loop nor call.

A round trip to a sandbox process costs far more than `amount > 1000` (bench/README.md), and
most gateway conditions, DMN cells and one-line scripts are like that. Code runs here, in
process, only when every part of it is bounded:

- its syntax tree has at most MAX_NODES nodes, all of them names, constants, attribute and
  subscript reads, comparisons, boolean and unary operators, `if`/`else`, displays of tuples,
  lists, sets and dicts, and the binary operators below; a script may also assign to plain names
  and use `if` and `pass`. No call, loop, comprehension, lambda, f-string, `**`, `<<`, import,
  `raise` or `try`;
- every value of the task's data it reads weighs at most MAX_WEIGHT characters and items;
- at run time the operators that could make big results hand over instead of running
  (`NeedsIsolation`): a sequence repeated with `*`, texts formatted with `%`, a sequence joined
  with `+` past MAX_ITEMS, an integer of more than MAX_BITS multiplied, divided or reduced.

So its cost is at most a few operations on small values per node. Anything else goes to a
sandbox process (`isolation`). A script that hands over has run on a copy of its data: the
sandbox process starts it again from the data as it was.
"""
from __future__ import annotations

import ast
import datetime
import decimal
import operator
import uuid
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from app.engine import limits

MAX_NODES = 64
MAX_WEIGHT = 100_000
MAX_ITEMS = 10_000
MAX_BITS = 4_096

_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.BitAnd, ast.BitOr, ast.BitXor,
              ast.RShift)
_OTHER_OPERATORS = (ast.And, ast.Or, ast.Not, ast.UAdd, ast.USub, ast.Invert, ast.Eq, ast.NotEq, ast.Lt, ast.LtE,
                    ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn)
_EXPRESSION = (ast.Expression, ast.Name, ast.Load, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice, ast.Compare,
               ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.IfExp, ast.Tuple, ast.List, ast.Dict, ast.Set, *_OPERATORS,
               *_OTHER_OPERATORS)
_SCRIPT = (*_EXPRESSION, ast.Module, ast.Assign, ast.AugAssign, ast.Expr, ast.Pass, ast.If, ast.Store)
_SMALL_SCALARS = (float, bool, type(None), datetime.date, datetime.time, datetime.timedelta, uuid.UUID)
TEXTS = (str, bytes, bytearray)
SEQUENCES = (*TEXTS, list, tuple)


class NeedsIsolation(Exception):  # a hand-over, not an error
    """This run would be costly in process: run it in a sandbox process instead."""


@lru_cache(maxsize=4096)
def is_inline(source: str, mode: str) -> bool:
    """Whether the source (`eval`: an expression, `exec`: a script) can run in process."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    allowed = _EXPRESSION if mode == "eval" else _SCRIPT
    for count, node in enumerate(ast.walk(tree), start=1):
        if count > MAX_NODES or not isinstance(node, allowed):
            return False
        if isinstance(node, ast.BinOp | ast.AugAssign) and not isinstance(node.op, _OPERATORS):
            return False
        if isinstance(node, ast.Attribute | ast.Subscript | ast.Tuple | ast.List) and not isinstance(node.ctx, ast.Load):
            return False  # stores go to plain names only: running on a shallow copy of the data is then exact
        if isinstance(node, ast.Assign) and not all(isinstance(target, ast.Name) for target in node.targets):
            return False
        if isinstance(node, ast.AugAssign) and not isinstance(node.target, ast.Name):
            return False
    return True


def light(values: Iterable[Any], limit: int = MAX_WEIGHT) -> bool:
    """Whether these values of task data weigh at most `limit` together (characters, items,
    digits), looking at no more than about `limit` of them; False for anything that is not data."""
    total, pending = 0, list(values)
    while pending:
        item = pending.pop()
        if isinstance(item, TEXTS):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, decimal.Decimal):
            total += len(item.as_tuple().digits)
        elif isinstance(item, _SMALL_SCALARS):
            total += 1
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            if total <= limit:
                pending.extend(item)
        elif isinstance(item, dict):
            total += len(item)
            if total <= limit:
                pending.extend(item)
                pending.extend(item.values())
        else:
            return False
        if total > limit:
            return False
    return True


# -- the operators, in process ------------------------------------------------------------------
def _big(*values: Any) -> bool:
    return any(isinstance(v, int) and v.bit_length() > MAX_BITS for v in values)


def inline_mul(left: Any, right: Any) -> Any:
    if isinstance(left, SEQUENCES) or isinstance(right, SEQUENCES) or _big(left, right):
        raise NeedsIsolation
    return left * right


def inline_add(left: Any, right: Any) -> Any:
    if isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES) and len(left) + len(right) > MAX_ITEMS:
        raise NeedsIsolation
    return limits.guarded_add(left, right)


def inline_mod(left: Any, right: Any) -> Any:
    if isinstance(left, TEXTS) or _big(left, right):
        raise NeedsIsolation
    return left % right


def _dividing(divide: Any) -> Any:
    def divided(left: Any, right: Any) -> Any:
        if _big(left, right):
            raise NeedsIsolation
        return divide(left, right)
    return divided


def _hand_over(*args: Any) -> Any:
    raise NeedsIsolation


_INPLACE = {"+=": inline_add, "-=": operator.sub, "*=": inline_mul, "/=": _dividing(operator.truediv),
            "//=": _dividing(operator.floordiv), "%=": inline_mod, "&=": operator.and_, "|=": operator.or_,
            "^=": operator.xor, ">>=": operator.rshift}


def inline_inplacevar(op: str, left: Any, right: Any) -> Any:
    return _INPLACE.get(op, _hand_over)(left, right)


INLINE_GUARDS: dict[str, Any] = {
    "_mul_": inline_mul, "_add_": inline_add, "_mod_": inline_mod, "_truediv_": _dividing(operator.truediv),
    "_floordiv_": _dividing(operator.floordiv), "_inplacevar_": inline_inplacevar, "_pow_": _hand_over,
    "_lshift_": _hand_over, "_format_": _hand_over,
}


def inline_globals(sandbox_globals: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's globals with the in-process operators."""
    return {**sandbox_globals, "__builtins__": {**sandbox_globals["__builtins__"], **INLINE_GUARDS}}
