"""The sandbox for every script and expression in a diagram, on RestrictedPython.

Scripts, gateway conditions, timer expressions, service parameters and DMN cells all run here.
They see the task's data, a short allow-list of modules (datetime, decimal, math, json, re), the
names scripts written for SpiffArena read (`timedelta`, `time`: `script_offers`) and safe builtins; imports of anything else, dunder access, frame/code introspection and file or OS
access are refused with a clear error. Compiled code is cached by source text.

Each run has a work budget: loops (`while` bodies, every iteration through `_getiter_`) count
against a step limit and a wall-clock limit, and `range` cannot be made longer than the step
limit; calls into C that could make a huge result or run for hours (`10 ** 10 ** 10`, wide
padding, `math.factorial`, a backtracking regular expression...) are checked by `limits`. So a
diagram's endless loop fails the task with a clear error instead of hanging the request.

This module runs code in the calling process (`InProcessSandbox`); the engine's environment,
`sandbox.SandboxEnvironment`, runs everything that can loop or call in a sandbox process, where
the kernel enforces the budget on calls into C too.
"""
from __future__ import annotations

import ast
import builtins
import copy
import decimal
import importlib
import operator
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from types import CodeType, FrameType, ModuleType, TracebackType
from typing import Any

from RestrictedPython import (
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    raise_,
    safer_getattr,
)
from RestrictedPython.PrintCollector import PrintCollector
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from app.engine import compile_errors, limits, script_offers, task_data
from app.engine.limits import SandboxViolation
from app.engine.said import said

# `datetime` is the module with the class's constructors added for scripts written for SpiffArena
# (`datetime.utcnow()`; `script_offers`).
ALLOWED_MODULES: dict[str, ModuleType] = {
    "datetime": script_offers.DATETIME, "decimal": limits.DECIMAL, "math": limits.MATH, "json": limits.JSON,
    "re": limits.RE,
}
# Attributes that lead from an ordinary object to frames, code or globals.
FORBIDDEN_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code",
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next",
    "func_globals", "func_code", "mro", "format", "format_map",
})
FORBIDDEN_TYPES = (FrameType, CodeType, TracebackType)
EXTRA_BUILTINS = ("dict", "list", "set", "frozenset", "min", "max", "sum", "enumerate", "any", "all",
                  "map", "filter", "reversed", "sorted", "zip", "tuple", "bool", "isinstance")
REMOVED_BUILTINS = ("__build_class__", "setattr", "delattr", "_getattr_")
# Module-level contexts shared by every thread (DefaultContext seeds each new thread's context).
SHARED_DECIMAL_CONTEXTS = (decimal.DefaultContext, decimal.BasicContext, decimal.ExtendedContext)


MAX_STEPS = 1_000_000  # loop iterations per script or expression
MAX_SECONDS = 2.0  # wall clock per script or expression, checked every CHECK_EVERY steps
CHECK_EVERY = 1024


class WorkBudget:
    """How much looping one run of a script may do: a step count and a deadline."""

    def __init__(self, max_steps: int | None = None, max_seconds: float | None = None) -> None:
        self.steps = 0
        self.max_steps = MAX_STEPS if max_steps is None else max_steps
        self.max_seconds = MAX_SECONDS if max_seconds is None else max_seconds
        self.deadline = time.monotonic() + self.max_seconds

    def tick(self) -> None:
        self.steps += 1
        if self.steps % CHECK_EVERY == 0:
            if self.steps > self.max_steps:
                raise SandboxViolation(said("the script looped more than %(most)s times: an endless loop?",
                                            most=f"{self.max_steps:,}"))
            if time.monotonic() > self.deadline:
                raise SandboxViolation(said("the script ran longer than %(seconds)s s: an endless loop?",
                                            seconds=f"{self.max_seconds:g}"))

    def getiter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in default_guarded_getiter(iterable):
            self.tick()
            yield item

    def range(self, *args: int) -> range:
        made = range(*args)
        if len(made) > self.max_steps:
            raise SandboxViolation(said("range of %(length)s numbers is longer than scripts may loop (%(most)s)",
                                        length=f"{len(made):,}", most=f"{self.max_steps:,}"))
        return made


class BudgetedTransformer(RestrictingNodeTransformer):
    """RestrictedPython's checks, plus the calls that keep a run within its work budget."""

    def visit_While(self, node: ast.While) -> Any:
        node = self.node_contents_visit(node)
        tick = ast.Expr(ast.Call(func=ast.Name("_tick_", ast.Load()), args=[], keywords=[]))
        node.body.insert(0, ast.copy_location(tick, node))
        return ast.fix_missing_locations(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        guard = GUARDED_OPERATORS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        if type(node.op) in GUARDED_OPERATORS and isinstance(node.target, ast.Name):
            # `x **= y` as `x = _pow_(x, y)`: the in-place operators have no guard of their own
            binop = ast.copy_location(ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value), node)
            assign = ast.copy_location(ast.Assign(targets=[node.target], value=binop), node)
            return self.visit(ast.fix_missing_locations(assign))
        return super().visit_AugAssign(node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        """`{value!r:spec}` of an f-string as `{_format_(value, 'r', spec)}`: the spec's width checked."""
        node = self.node_contents_visit(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        call = ast.Call(func=ast.Name("_format_", ast.Load()), args=[node.value, ast.Constant(node.conversion), spec],
                        keywords=[])
        checked = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        return ast.fix_missing_locations(ast.copy_location(checked, node))


# Operators whose result can be far bigger than their operands, and the guard each goes through.
# Division is guarded only in process (fast_path): dividing huge integers takes a while.
GUARDED_OPERATORS = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.Add: "_add_", ast.LShift: "_lshift_",
                     ast.Mod: "_mod_", ast.Div: "_truediv_", ast.FloorDiv: "_floordiv_"}


# Modules the allowed modules' C code imports for itself (date.strftime needs time, datetime.strptime
# _strptime). C code imports with an empty *list* for fromlist; a script's `import x` passes None and
# `from x import y` a tuple, and a script cannot call __import__ itself: the module reaches the C
# code only, never the script.
INTERNAL_IMPORTS = frozenset({"time", "_strptime"})
# What a script's `import` gives: the allowed modules, and `time` as the offered stand-in.
IMPORTABLE: dict[str, ModuleType] = {**ALLOWED_MODULES, **script_offers.IMPORTABLE}


def _guarded_import(name: str, globals=None, locals=None, fromlist=(), level=0) -> ModuleType:  # noqa: ANN001 - builtins.__import__'s signature
    if name in INTERNAL_IMPORTS and type(fromlist) is list and not fromlist and level == 0:
        return importlib.import_module(name)
    if level != 0 or name not in IMPORTABLE:
        raise SandboxViolation(said("import of module '%(name)s' is not allowed in diagram scripts (allowed: "
                                    "%(allowed)s)", name=name, allowed=", ".join(sorted(IMPORTABLE))))
    module = IMPORTABLE[name]
    # `from m import x` reads m.x natively (IMPORT_FROM), not through _getattr_: check each name
    # here, or `from datetime import sys` hands the script the real sys module.
    for item in fromlist or ():
        try:
            _guarded_getattr(module, item)
        except SandboxViolation as exc:
            raise SandboxViolation(said("'from %(module)s import %(name)s' is not allowed in diagram scripts: %(why)s",
                                        module=name, name=item, why=exc.args[0])) from None
    return module


_REACHABLE_MODULES = (*ALLOWED_MODULES.values(), *script_offers.OFFERED_MODULES)


def _guarded_getattr(obj: Any, name: str, default: Any = raise_, *args: Any) -> Any:
    """`obj.name` (a missing attribute raises, as in Python) and `getattr(obj, name[, default])`. A dictionary's
    key is read as an attribute too (`payload.amount`), as SpiffWorkflow before 2.0 read its task data
    (diagrams written for it do): the dictionary's own methods win (`d.items` is the method)."""
    if not isinstance(name, str) or name.startswith("_") or name in FORBIDDEN_ATTRIBUTES:
        raise SandboxViolation(said("access to attribute '%(name)s' is not allowed in diagram scripts", name=name))
    if isinstance(obj, dict) and name in obj and not hasattr(dict, name):
        return obj[name]
    value = limits.checked_method(obj, name, safer_getattr(obj, name, default, *args))
    if isinstance(value, ModuleType) and not any(value is m for m in _REACHABLE_MODULES):
        raise SandboxViolation(said("access to module '%(module)s' is not allowed in diagram scripts",
                                    module=value.__name__))
    if isinstance(value, FORBIDDEN_TYPES):
        raise SandboxViolation(said("access to '%(name)s' is not allowed in diagram scripts", name=name))
    if any(value is shared for shared in SHARED_DECIMAL_CONTEXTS):
        raise SandboxViolation(said("access to the process-wide decimal context '%(name)s' is not allowed in diagram "
                                    "scripts (use decimal.localcontext())", name=name))
    return value


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "^=": operator.ixor, "|=": operator.ior,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    return _INPLACE[op](x, y)


def _refuse_class(*args: Any, **kwargs: Any) -> None:
    raise SandboxViolation(said("class definitions are not allowed in diagram scripts"))


# The helpers RestrictedPython's compiled code calls. They are builtins rather than globals: the
# globals are merged into the task's data for every run of a script and taken out again after it,
# so each name there costs every script.
GUARDS: dict[str, Any] = {
    "_getattr_": _guarded_getattr, "_getitem_": default_guarded_getitem, "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard, "_inplacevar_": _inplacevar, "_print_": PrintCollector,
    "_pow_": limits.guarded_pow, "_mul_": limits.guarded_mul, "_add_": limits.guarded_add,
    "_lshift_": limits.guarded_lshift, "_mod_": limits.guarded_mod, "_format_": limits.guarded_format,
    "_truediv_": operator.truediv, "_floordiv_": operator.floordiv,
}


def _sandbox_builtins() -> dict[str, Any]:
    sandboxed = {k: v for k, v in safe_builtins.items() if k not in REMOVED_BUILTINS}
    sandboxed.update(GUARDS)
    sandboxed["__build_class__"] = sandboxed["__metaclass__"] = _refuse_class  # RestrictedPython adds metaclass=__metaclass__
    sandboxed.update({name: getattr(builtins, name) for name in EXTRA_BUILTINS})
    sandboxed["__import__"] = _guarded_import
    sandboxed["getattr"] = _guarded_getattr
    sandboxed["pow"] = limits.guarded_pow
    sandboxed["str"], sandboxed["repr"] = limits.Str, limits.checked_repr
    return sandboxed


def sandbox_globals() -> dict[str, Any]:
    """The globals every script and expression is evaluated with (its helpers are builtins)."""
    return {"__builtins__": _sandbox_builtins(), "__name__": "diagram_script", **ALLOWED_MODULES,
            "Decimal": limits.Decimal}


def budgeted(globals_: dict[str, Any], budget: WorkBudget | None = None) -> dict[str, Any]:
    """`globals_` with a fresh work budget's guards: one budget per run of a script."""
    budget = budget or WorkBudget()
    globals_["__builtins__"] = {**globals_["__builtins__"], "range": budget.range, "_tick_": budget.tick,
                                "_getiter_": budget.getiter}
    return globals_


@contextmanager
def _compiling() -> Iterator[None]:
    """Python's compiler gives up on some sources with errors other than SyntaxError (200,000
    terms in a row, thousands of nested lambdas, a NUL character): a diagram's script that does
    not compile is refused the same way whatever the reason."""
    try:
        yield
    except SyntaxError as exc:  # the compiler's own, past RestrictedPython's ('return' outside function)
        raise SandboxViolation(compile_errors.raised(exc)) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise SandboxViolation(said("does not compile: %(error)s: %(why)s", error=type(exc).__name__,
                                    why=str(exc) if exc else said("too deeply nested"))) from None


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    with _compiling():
        result = compile_restricted_eval(source.strip(), "<string>", policy=BudgetedTransformer)
    if result.errors or result.code is None:  # RestrictedPython's errors are its own English
        raise SandboxViolation(compile_errors.restricted(result.errors) if result.errors else said("does not compile"))
    return result.code


@lru_cache(maxsize=4096)
def compile_script(source: str) -> CodeType:
    with _compiling():
        result = compile_restricted_exec(source, "<string>", policy=BudgetedTransformer)
    if result.errors or result.code is None:
        raise SandboxViolation(compile_errors.restricted(result.errors) if result.errors else said("does not compile"))
    return result.code


def refused_exit(exc: BaseException) -> SandboxViolation:
    """What a script that raised SystemExit, GeneratorExit or BaseException itself gets: a script
    error like any other, never the end of the process that ran it."""
    refused = SandboxViolation(said("a diagram script may not raise %(error)s (%(shown)s): raise an Exception to "
                                    "fail the task", error=type(exc).__name__, shown=repr(exc)))
    refused.__traceback__ = exc.__traceback__
    return refused


@contextmanager
def _exits_refused() -> Iterator[None]:
    """In process, KeyboardInterrupt is left alone: it may be a real Ctrl-C (a sandbox process,
    in a session of its own, refuses it too)."""
    try:
        yield
    except (Exception, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - SystemExit, GeneratorExit, BaseException itself
        raise refused_exit(exc) from None


def _texts(constants: Iterable[Any]) -> Iterator[str]:
    """The names among a code object's constants, those inside a tuple or frozenset of them too
    (`for name in ("amount", "kept"): is_defined(name)`)."""
    for constant in constants:
        if isinstance(constant, str) and constant.isidentifier():
            yield constant
        elif isinstance(constant, tuple | frozenset):
            yield from _texts(constant)


@lru_cache(maxsize=4096)
def global_names(source: str, mode: str) -> frozenset[str]:
    """Every global name the compiled source (and the functions and comprehensions in it) reads or
    writes: the only names of the task's data a run of it can see."""
    pending = [compile_expression(source) if mode == "eval" else compile_script(source)]
    codes: list[CodeType] = []
    while pending:
        code = pending.pop()
        codes.append(code)
        pending.extend(const for const in code.co_consts if isinstance(const, CodeType))
    names = {name for code in codes for name in code.co_names}
    if script_offers.IS_DEFINED in names:  # is_defined('x') reads x by its name: every name it may ask about is sent
        names.update(text for code in codes for text in _texts(code.co_consts))
    return frozenset(names)


class InProcessSandbox(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, with restricted compiled code in place of eval/exec,
    run in this process (the engine's environment is `SandboxEnvironment`; sandbox processes run this)."""

    def __init__(self) -> None:
        super().__init__(sandbox_globals())

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None,
                 base: dict[str, Any] | None = None) -> Any:
        code = compile_expression(expression)
        my_globals = budgeted(copy.copy(base or self.globals))
        my_globals.update(script_offers.offered(context))
        my_globals.update(external_context or {})
        data = set(context)
        my_globals.setdefault(script_offers.IS_DEFINED, lambda name: name in data)
        if script_offers.ENGINE_NOW in global_names(expression, "eval"):  # FEEL's now(), where no clock was given
            my_globals.setdefault(script_offers.ENGINE_NOW, datetime.now(UTC))
        my_globals.update(context)
        with limits.script_decimal_context(), _exits_refused():  # decimal context changes must not outlive it
            return eval(code, my_globals)  # noqa: S307 - restricted code, sandbox globals

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        compile_script(script)
        self.check_for_overwrite(context, external_context or {})
        weights: dict[str, int] = {}
        try:
            kept = self.run_script(script, context, external_context, weights=weights)
        finally:
            heavy = drop_heavy(context, weights)
        raise_for_leftovers(kept, heavy)
        return True

    def run_script(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None,
                   base: dict[str, Any] | None = None, weights: dict[str, int] | None = None) -> list[str]:
        """Run the script on `context`, then take out what task data cannot hold: globals, functions,
        modules and iterators silently, other unstorable values named in the list returned. What the
        values left weigh goes into `weights`."""
        code = compile_script(script)
        my_globals = budgeted(copy.copy(base or self.globals))
        my_globals.update(script_offers.offered(context))  # where the data does not hold the name
        my_globals.update(external_context or {})
        if script_offers.IS_DEFINED not in context:  # whether the data holds a value (None too) under a name
            bound = set(my_globals) | {script_offers.IS_DEFINED}
            my_globals[script_offers.IS_DEFINED] = lambda name: name in context and name not in bound
        # FEEL's now(), where no clock was given: bound for this run only, never kept in the data
        clockless = (script_offers.ENGINE_NOW in global_names(script, "exec")
                     and script_offers.ENGINE_NOW not in my_globals and script_offers.ENGINE_NOW not in context)
        if clockless:
            my_globals[script_offers.ENGINE_NOW] = datetime.now(UTC)
        context.update(my_globals)
        try:
            with limits.script_decimal_context(), _exits_refused():  # decimal context changes must not outlive it
                exec(code, context)  # noqa: S102 - restricted code, sandbox globals
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
            if clockless:
                context.pop(script_offers.ENGINE_NOW, None)
            for name in [k for k, v in context.items() if isinstance(v, ModuleType)]:
                del context[name]
            # Task data is stored as JSON: a left-over zip, dict view or match object made the
            # state dump (and so the whole step) crash. Drop them; iterators silently, like functions.
            measured = {name: task_data.measure(value) for name, value in context.items()}
            unstorable = {k: context.pop(k) for k, weight in measured.items() if weight == task_data.UNSTORABLE}
            if weights is not None:
                weights.update((k, weight) for k, weight in measured.items() if weight != task_data.UNSTORABLE)
        return [f"'{k}' ({v!r})" if isinstance(v, float) else f"'{k}' ({type(v).__name__})"
                for k, v in unstorable.items() if not isinstance(v, Iterator)]


def drop_heavy(context: dict[str, Any], weights: dict[str, int] | None = None) -> list[str]:
    """Nor may the data outgrow what a state can hold (a list of one long text, repeated): the
    heaviest values go, so that what is left can be written, whatever the script did. `weights`:
    what the values weigh, when already measured."""
    weights = {name: weights[name] if weights and name in weights else task_data.measure(value)
               for name, value in context.items()}
    heavy = task_data.heaviest(weights)
    for name in heavy:
        del context[name]
    return heavy


def raise_for_leftovers(kept: list[str], heavy: list[str]) -> None:
    if kept:
        raise SandboxViolation(said("the script left values task data cannot hold: %(values)s; convert them "
                                    "(list(...), str(...)) or del them", values=", ".join(kept)))
    if heavy:
        raise SandboxViolation(said("the script left more data than a task may hold (%(most)s characters and items): "
                                    "%(names)s dropped", most=f"{task_data.MAX_TASK_DATA:,}",
                                    names=", ".join(repr(k) for k in heavy)))
