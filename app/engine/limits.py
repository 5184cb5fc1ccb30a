"""Size and time limits on what a diagram script may ask of code that runs in C.

The work budget (`scripting.WorkBudget`) counts the loops a script writes; it cannot interrupt a
single call into C. So every call that can make a huge result from small input — `**`, `pow`,
`<<`, sequence `*`, padding and formatting widths, `str.replace` and `join`, `math.factorial`,
decimal precision, JSON indentation — is checked *before* it runs, and regular expressions run on
the `regex` engine with a time limit (a backtracking pattern on hostile data would otherwise hold
a worker for hours). Each refusal is a `SandboxViolation` naming what was too big.

The modules a script may import are stand-ins built here: the real module's public names, with
the few functions that need a check replaced.
"""
from __future__ import annotations

import decimal
import json
import math
import re as stdlib_re
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

import regex

from app.engine import task_data
from app.engine.said import Said, said

MAX_RESULT_BITS = 1_000_000  # an int from **, pow, << or math (about 300,000 digits)
MAX_TEXT = 10_000_000  # characters of a text a script makes in one call
MAX_ITEMS = 1_000_000  # items of a list or tuple made with * or + (as many as a script may loop)
MAX_DECIMAL_EXPONENT = 100_000  # int() of a Decimal grows with the square of its exponent: ~0.25 s here
MAX_MATH_ARGUMENT = 100_000  # math.factorial / comb / perm: factorial(100000) takes ~0.1 s
MAX_DECIMAL_PRECISION = 1_000  # digits of a decimal context a script makes (money needs < 40)
MAX_JSON_INDENT = 64  # characters of json.dumps indentation or separators
REGEX_SECONDS = 1.0  # per regular-expression call
DEFAULT_MEMORY_LIMIT_MB = 4096  # address space of a worker process (cap_memory)


class SandboxViolation(Exception):
    """A script reached for something the sandbox does not allow."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (a sandbox process's answer) with its text as a plain `str`: what a sandbox process
        sends may hold task-data types and exceptions only, and a said text is neither; it arrives in
        English, still a SandboxViolation."""
        args = tuple(str(arg) if isinstance(arg, Said) else arg for arg in self.args)
        return (type(self), args, self.__dict__) if self.__dict__ else (type(self), args)


def _too_big(what: Said) -> SandboxViolation:
    return SandboxViolation(said("%(what)s is too big for a diagram script", what=what))


# -- operators ------------------------------------------------------------------------------
def guarded_pow(base: Any, exponent: Any, modulus: Any = None) -> Any:
    """`**` and the builtin `pow`; a modular power (three arguments) is cheap and always allowed."""
    if modulus is not None:
        return pow(base, exponent, modulus)
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * abs(base).bit_length() > MAX_RESULT_BITS:
            raise SandboxViolation(said("%(base)s ** %(exponent)s is too big a number for a diagram script",
                                        base=str(base), exponent=str(exponent)))
    return base ** exponent


def _check_sequence(sample: Any, size: int) -> None:
    """A text of `size` characters or a list/tuple of `size` items, made like `sample`."""
    limit = MAX_TEXT if isinstance(sample, str | bytes | bytearray) else MAX_ITEMS
    if size > limit:
        raise SandboxViolation(said("a sequence of %(size)s items is too big for a diagram script (at most %(most)s)",
                                    size=f"{size:,}", most=f"{limit:,}"))


def guarded_mul(left: Any, right: Any) -> Any:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | bytes | bytearray | list | tuple) and isinstance(times, int):
            _check_sequence(seq, len(seq) * times)
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_RESULT_BITS:
        raise SandboxViolation(said("a product of numbers with %(bits)s bits is too big a number for a diagram script",
                                    bits=f"{left.bit_length() + right.bit_length():,}"))
    return left * right


def guarded_add(left: Any, right: Any) -> Any:
    """`+`: joining two texts or two lists cannot outgrow the limits (doubling in a loop would)."""
    if isinstance(left, (*TEXTS, list, tuple)) and isinstance(right, (*TEXTS, list, tuple)):
        _check_sequence(left, len(left) + len(right))
    return left + right


def guarded_lshift(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and left and left.bit_length() + right > MAX_RESULT_BITS:
        raise SandboxViolation(said("%(left)s << %(right)s is too big a number for a diagram script", left=str(left),
                                    right=str(right)))
    return left << right


# printf-style conversions: %[(key)][flags][width][.precision][length]type
_PRINTF = stdlib_re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?[a-zA-Z%]")


def guarded_mod(left: Any, right: Any) -> Any:
    """`%`: for text, printf-style formatting with its field widths checked."""
    if isinstance(left, str):
        for width, precision in _PRINTF.findall(left):
            for number in (width, precision):
                if number == "*":
                    raise SandboxViolation(said("'*' widths in %%-formatting are not allowed in diagram scripts"))
                if number and int(number) > MAX_TEXT:
                    raise _too_big(said("a %%-format field of %(size)s characters", size=f"{int(number):,}"))
    return left % right


# [[fill]align][sign][z][#][0][width][grouping][.precision][type]
_SPEC = stdlib_re.compile(r"(?:.?[<>=^])?[+\- ]?z?#?0?(?P<width>\d*)[,_]?(?:\.(?P<precision>\d*))?[a-zA-Z%]?")


def guarded_format(value: Any, conversion: int, spec: str) -> str:
    """One `{value!r:spec}` of an f-string, with the spec's width and precision checked."""
    if conversion == ord("s"):
        value = str(value)
    elif conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("a"):
        value = ascii(value)
    found = _SPEC.fullmatch(spec)
    for number in (found.group("width"), found.group("precision")) if found else ():
        if number and int(number) > MAX_TEXT:
            raise _too_big(said("a formatted field of %(size)s characters", size=f"{int(number):,}"))
    return format(value, spec)


# -- text methods that make long results from short input -----------------------------------
def _check_length(length: int, what: str) -> None:
    if length > MAX_TEXT:
        raise SandboxViolation(said("%(what)s would make %(length)s characters, too many for a diagram script",
                                    what=what, length=f"{length:,}"))


def _padded(text: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def pad(width: int, *args: Any) -> Any:
        if isinstance(width, int):
            _check_length(width, f"{method.__name__}({width})")
        return method(width, *args)
    return pad


def _expandtabs(text: Any) -> Callable[..., Any]:
    def expandtabs(tabsize: int = 8) -> Any:
        if isinstance(tabsize, int):
            _check_length(len(text) + text.count("\t" if isinstance(text, str) else b"\t") * tabsize,
                          f"expandtabs({tabsize})")
        return text.expandtabs(tabsize)
    return expandtabs


def _replace(text: Any) -> Callable[..., Any]:
    def replace(old: Any, new: Any, count: int = -1) -> Any:
        if isinstance(old, TEXTS) and isinstance(new, TEXTS) and len(new) > len(old):
            times = text.count(old) if old else len(text) + 1
            if isinstance(count, int) and count >= 0:
                times = min(times, count)
            _check_length(len(text) + times * (len(new) - len(old)), "replace")
        return text.replace(old, new, count)
    return replace


def _join(text: Any) -> Callable[..., Any]:
    def join(items: Iterable[Any]) -> Any:
        items = list(items)
        if all(isinstance(item, TEXTS) for item in items):
            _check_length(sum(map(len, items)) + len(text) * max(len(items) - 1, 0), "join")
        return text.join(items)
    return join


def _translate(text: Any) -> Callable[..., Any]:
    def translate(table: Any, *args: Any) -> Any:
        if isinstance(table, dict):
            longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
            _check_length(len(text) * max(longest, 1), "translate")
        return text.translate(table, *args)
    return translate


def _to_bytes(number: int) -> Callable[..., bytes]:
    def to_bytes(length: int = 1, *args: Any, **kwargs: Any) -> bytes:
        length = kwargs.pop("length", length)
        if isinstance(length, int):
            _check_length(length, f"to_bytes({length})")
        return number.to_bytes(length, *args, **kwargs)
    return to_bytes


def _extend(items: list) -> Callable[..., None]:
    def extend(more: Iterable[Any]) -> None:
        more = more if isinstance(more, list | tuple | str) else list(more)
        _check_sequence(items, len(items) + len(more))
        items.extend(more)
    return extend


_TEXT_METHODS: dict[str, Callable[[Any], Callable[..., Any]]] = {
    "ljust": lambda text: _padded(text, text.ljust), "rjust": lambda text: _padded(text, text.rjust),
    "center": lambda text: _padded(text, text.center), "zfill": lambda text: _padded(text, text.zfill),
    "expandtabs": _expandtabs, "replace": _replace, "join": _join, "translate": _translate,
}
TEXTS = (str, bytes, bytearray)


def _unbound(cls: type, name: str, method: Callable[..., Any], checked: Callable[[Any], Callable[..., Any]]) \
        -> Callable[..., Any]:
    """`str.ljust(text, n)`: a method read from the type, checked like the bound one."""
    def call(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(obj, cls):
            return method(obj, *args, **kwargs)  # Python's own TypeError
        return checked(obj)(*args, **kwargs)
    call.__name__ = name
    return call


def checked_method(obj: Any, name: str, value: Any) -> Any:
    """The attribute a script asked for; methods that can blow up come back checked, and a
    pattern object (`match.re`) comes back with its time limit."""
    if name in _TEXT_METHODS:
        if isinstance(obj, TEXTS):
            return _TEXT_METHODS[name](obj)
        if obj in TEXTS or obj is Str:
            cls = str if obj is Str else obj
            return _unbound(cls, name, getattr(cls, name), _TEXT_METHODS[name])
    if name == "to_bytes":
        if isinstance(obj, int):
            return _to_bytes(obj)
        if obj is int or obj is bool:
            return _unbound(int, name, int.to_bytes, _to_bytes)
    if name == "extend":
        if isinstance(obj, list):
            return _extend(obj)
        if obj is list:
            return _unbound(list, name, list.extend, _extend)
    if isinstance(value, stdlib_re.Pattern):
        return _TimedPattern(regex.compile(value.pattern, value.flags))
    if isinstance(value, regex.Pattern):
        return _TimedPattern(value)
    return value


# -- str() and repr() of a whole structure ------------------------------------------------------
def _check_shown(value: Any, what: str) -> None:
    """`str(rows)` writes every item: refused when the text would be past MAX_TEXT."""
    if isinstance(value, list | tuple | dict | set | frozenset) and task_data.measure(value, MAX_TEXT) > MAX_TEXT:
        raise SandboxViolation(said("%(what)s of a value of more than %(most)s characters and items is too big for a "
                                    "diagram script", what=what, most=f"{MAX_TEXT:,}"))


class _StrType(type):
    """`str` as scripts see it: the real class to isinstance, its methods (checked by
    `checked_method`), and a constructor that refuses to write out a structure too big to show."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, str)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, str)

    def __call__(cls, *args: Any, **kwargs: Any) -> str:
        if len(args) == 1 and not kwargs:
            _check_shown(args[0], "str()")
        return str(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        return getattr(str, name)


class Str(metaclass=_StrType):
    """builtins.str, through a constructor that checks what it would write."""


def checked_repr(value: Any) -> str:
    _check_shown(value, "repr()")
    return repr(value)


# -- the modules scripts may import ---------------------------------------------------------
def _stand_in(module: ModuleType, **replaced: Any) -> ModuleType:
    """A module with `module`'s public names, some of them replaced."""
    stand_in = ModuleType(module.__name__, module.__doc__)
    for name in dir(module):
        if not name.startswith("_"):
            setattr(stand_in, name, getattr(module, name))
    for name, value in replaced.items():
        setattr(stand_in, name, value)
    return stand_in


def _bounded_int_function(function: Callable[..., int]) -> Callable[..., int]:
    def bounded(*args: Any) -> int:
        if any(isinstance(a, int) and abs(a) > MAX_MATH_ARGUMENT for a in args):
            raise _too_big(said("math.%(function)s of %(value)s", function=function.__name__,
                                value=f"{max(abs(a) for a in args if isinstance(a, int)):,}"))
        return function(*args)
    bounded.__name__ = function.__name__
    return bounded


def _bits_of_product(function: Callable[..., int]) -> Callable[..., int]:
    """math.prod and math.lcm: the result has at most as many bits as its integer inputs together."""
    def bounded(*args: Any, **kwargs: Any) -> int:
        values = list(args[0]) if function is math.prod and args else list(args)
        bits = sum(abs(v).bit_length() for v in values if isinstance(v, int))
        if bits > MAX_RESULT_BITS:
            raise _too_big(said("math.%(function)s of numbers with %(bits)s bits together", function=function.__name__,
                                bits=f"{bits:,}"))
        return function(values, *args[1:], **kwargs) if function is math.prod else function(*values)
    bounded.__name__ = function.__name__
    return bounded


def _check_context(prec: Any = None, emin: Any = None, emax: Any = None) -> None:
    if isinstance(prec, int) and prec > MAX_DECIMAL_PRECISION:
        raise _too_big(said("a decimal precision of %(digits)s digits", digits=f"{prec:,}"))
    for limit in (emin, emax):
        if isinstance(limit, int) and abs(limit) > MAX_DECIMAL_EXPONENT:
            raise _too_big(said("a decimal exponent limit of %(limit)s", limit=f"{limit:,}"))


_CONTEXT_ARGUMENTS = ("prec", "rounding", "Emin", "Emax")  # decimal.Context's first positional parameters


def _context(*args: Any, **kwargs: Any) -> decimal.Context:
    given = {**dict(zip(_CONTEXT_ARGUMENTS, args, strict=False)), **kwargs}
    _check_context(given.get("prec"), given.get("Emin"), given.get("Emax"))
    return decimal.Context(*args, **kwargs)


def _localcontext(ctx: decimal.Context | None = None, **kwargs: Any) -> Any:
    if ctx is not None:
        _check_context(ctx.prec, ctx.Emin, ctx.Emax)
    _check_context(kwargs.get("prec"), kwargs.get("Emin"), kwargs.get("Emax"))
    return decimal.localcontext(ctx, **kwargs)


class _DecimalType(type):
    """`Decimal` as scripts see it: the real class to isinstance and its class methods, and a
    constructor that refuses exponents beyond MAX_DECIMAL_EXPONENT (`Decimal('1e999999')` is cheap
    to make, but int() of it runs for minutes)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, decimal.Decimal)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, decimal.Decimal)

    def __call__(cls, value: Any = "0", context: Any = None) -> decimal.Decimal:
        made = decimal.Decimal(value, context)
        if made.is_finite() and abs(made.adjusted()) > MAX_DECIMAL_EXPONENT:
            raise _too_big(said("a decimal of exponent %(exponent)s", exponent=f"{made.adjusted():,}"))
        return made

    def __getattr__(cls, name: str) -> Any:
        return getattr(decimal.Decimal, name)


class Decimal(metaclass=_DecimalType):
    """decimal.Decimal, made through the sandbox's checked constructor."""


def script_decimal_context() -> Any:
    """The decimal context a script runs in: the thread's, with exponents kept within
    MAX_DECIMAL_EXPONENT so that arithmetic cannot grow a Decimal past what int() handles."""
    return decimal.localcontext(Emax=MAX_DECIMAL_EXPONENT, Emin=-MAX_DECIMAL_EXPONENT)


def _dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
    _check_shown(obj, "json.dumps()")
    indent, separators = kwargs.get("indent"), kwargs.get("separators") or ()
    if isinstance(indent, int) and indent > MAX_JSON_INDENT or isinstance(indent, str) and len(indent) > MAX_JSON_INDENT:
        raise _too_big(said("a JSON indentation of that size"))
    if any(isinstance(s, str) and len(s) > MAX_JSON_INDENT for s in separators):
        raise _too_big(said("a JSON separator of that size"))
    return json.dumps(obj, *args, **kwargs)


class _TimedPattern:
    """A compiled pattern whose every search stops after REGEX_SECONDS."""

    def __init__(self, pattern: Any) -> None:
        self.pattern, self.flags, self.groups = pattern.pattern, pattern.flags, pattern.groups
        self.groupindex = dict(pattern.groupindex)
        for name in ("match", "fullmatch", "search", "findall", "finditer", "sub", "subn", "split"):
            setattr(self, name, _timed(getattr(pattern, name)))


def _regex_too_slow() -> SandboxViolation:
    return SandboxViolation(said("a regular expression ran longer than %(seconds)s s: a pattern that backtracks on "
                                 "this text, like (a|aa)+$?", seconds=f"{REGEX_SECONDS:g}"))


def _timed(function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        kwargs["timeout"] = REGEX_SECONDS
        try:
            result = function(*args, **kwargs)
        except TimeoutError:
            raise _regex_too_slow() from None
        return _timed_matches(result) if function.__name__ == "finditer" else result
    timed.__name__ = function.__name__
    return timed


def _timed_matches(matches: Iterable[Any]) -> Iterator[Any]:
    """finditer's matches: its time limit strikes while they are drawn."""
    try:
        yield from matches
    except TimeoutError:
        raise _regex_too_slow() from None


def _compile(pattern: Any, flags: int = 0) -> _TimedPattern:
    return _TimedPattern(regex.compile(pattern, flags))


_REGEX_NAMES = ("A", "ASCII", "I", "IGNORECASE", "L", "LOCALE", "M", "MULTILINE", "S", "DOTALL", "U", "UNICODE",
                "X", "VERBOSE", "escape", "error", "purge")

MATH = _stand_in(math, factorial=_bounded_int_function(math.factorial), comb=_bounded_int_function(math.comb),
                 perm=_bounded_int_function(math.perm), prod=_bits_of_product(math.prod),
                 lcm=_bits_of_product(math.lcm))
DECIMAL = _stand_in(decimal, Context=_context, localcontext=_localcontext, Decimal=Decimal)
JSON = _stand_in(json, dumps=_dumps)
RE = ModuleType("re", "Regular expressions (the `regex` engine, compatible with `re`), with a time limit per call.")
for _name in _REGEX_NAMES:
    setattr(RE, _name, getattr(regex, _name))
for _name in ("match", "fullmatch", "search", "findall", "finditer", "sub", "subn", "split"):
    setattr(RE, _name, _timed(getattr(regex, _name)))
RE.compile = _compile  # type: ignore[attr-defined]


# -- the last line: the process's memory ----------------------------------------------------
def cap_memory(megabytes: int) -> None:
    """Cap this process's address space (RLIMIT_AS; 0 leaves it as it is).

    What the checks above cannot foresee — `str()` of a list holding one long text ten thousand
    times — then ends in a MemoryError in the thread that asked for the memory, which fails that
    script's step like any other error, instead of the kernel killing the whole worker process
    with every request it was serving. Called when a gunicorn worker or the background worker
    starts (`LOANFLOW_MEMORY_LIMIT_MB`).
    """
    if megabytes <= 0:
        return
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
