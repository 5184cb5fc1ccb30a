"""What SpiffWorkflow's DMN reader leaves to run time: the table's input expressions and input entries.

The reader compiles a rule's output entries when the table is parsed, but an input expression or an
input entry that does not compile fails only when a process reaches the table. This check compiles
them in the sandbox the way the DMN engine evaluates them (an entry is compared with `==` when it is
an expression, else written after the input: `>= 600`, `not in ("A", "E")`; `?` stands for the
input; `-` or nothing matches anything; a FEEL range, list or `not(...)` as the import translates it,
`feel_tests`), so a table that could never run is refused at deploy. An
input expression that calls a SpiffArena server function Loanflow does not have (`get_env()`) is
refused naming it (`script_offers`). An entry that reads a name none of the table's inputs reads, and no
script has (`>= abc`), is a warning: it runs only when the process holds that name, and fails there when not.
"""
from __future__ import annotations

import ast
import re

from app.engine import feel_tests, script_offers
from app.engine.errors import DiagramProblem
from app.engine.said import Said, said
from app.engine.scripting import SandboxViolation, compile_expression, sandbox_globals
from app.engine.xml import read_xml

DMN_NAMESPACE = "https://www.omg.org/spec/DMN/20191111/MODEL/"
# `?` outside quotes: the input itself (the engine's "double-ended" entries: `4 < ? < 6`)
_INPUT = "dmninputexpr"  # the name the DMN engine gives the input in an entry; said as <input>
_QUESTION = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def _compiles(text: str) -> str | None:
    """None when the expression compiles in the sandbox, else why not."""
    try:
        compile_expression(text)
    except (SandboxViolation, SyntaxError) as exc:
        first = exc.args[0] if len(exc.args) == 1 else None
        if isinstance(first, Said) and str(first) == str(exc):  # said: kept so, the input named in its parameters
            named = _named_input(first)
            if named == str(exc).replace(_INPUT, "<input>"):
                return named
        return str(exc).replace(_INPUT, "<input>")
    return None


def _named_input(reason: Said) -> Said:
    """`reason` with the engine's name of the input said as <input> in each of its parameters."""
    return Said(reason.template, {name: _named_input(value) if isinstance(value, Said)
                                  else value.replace(_INPUT, "<input>") if isinstance(value, str) else value
                                  for name, value in reason.params.items()})


def _entry_problem(entry: str) -> str | None:
    if entry in ("", "-"):
        return None
    if not _QUESTION.search(entry) and _compiles(entry) is None:  # compared with ==
        return None
    return _compiles(_entry_code(entry))  # `?` as the input, or an operator and its operand after the input


def _no_test(text: str, entry: str) -> Said | None:
    """Why an entry that compiles with the input in it is no test: arithmetic (`<< 520`, a doubled `<`, runs as
    `score << 520`, a number true for any score but 0, so the rule holds for nearly every input)."""
    code = _entry_code(entry)
    if code != entry and isinstance(ast.parse(code, mode="eval").body, ast.BinOp):
        return said("input entry %(text)r is no test of the input: the engine runs it as %(code)r, a value, not "
                    "true or false", text=text, code=code.replace(_INPUT, "<input>"))
    return None


def _entry_code(entry: str) -> str:
    """The expression the DMN engine runs for an entry that compiles (`_entry_problem` said it does)."""
    if _QUESTION.search(entry):
        return _QUESTION.sub(_INPUT, entry)
    return entry if _compiles(entry) is None else f"{_INPUT} {entry}"


def _names_read(code: str) -> set[str]:
    """The names an expression reads that it does not bind itself (a comprehension's, a lambda's)."""
    try:
        tree = ast.parse(code, mode="eval")
    except (SyntaxError, RecursionError):
        return set()
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in ast.walk(n.args)
              if isinstance(a, ast.arg)}
    return read - bound - {_INPUT}


def _known_names() -> set[str]:
    """What an expression may read beyond the data: the sandbox's builtins, modules and offered functions."""
    found = sandbox_globals()
    builtins = found.get("__builtins__")
    return set(found) | (set(builtins) if isinstance(builtins, dict) else set()) | set(script_offers.OFFERED)


def lint_decision_file(filename: str, content: bytes) -> list[DiagramProblem]:
    """Each input expression and input entry of the file's decision tables that does not compile,
    on its element (the input, or the rule's entry)."""
    root = read_xml(content, filename)
    problems: list[DiagramProblem] = []
    for namespace in {DMN_NAMESPACE, root.nsmap.get(None) or "", root.nsmap.get("dmn") or ""} - {""}:
        ns = f"{{{namespace}}}"
        for table in root.iter(f"{ns}decisionTable"):
            for expression in table.iter(f"{ns}inputExpression"):
                text = (expression.findtext(f"{ns}text") or "").strip()
                reason = _compiles(text) if text else said("the input has no expression")
                if reason:
                    problems.append(DiagramProblem(filename, expression.get("id") or table.get("id"),
                                                   said("input expression %(text)r does not compile: %(why)s",
                                                        text=text, why=reason)))
                for offered in script_offers.calls_not_provided(text, "eval") if text and not reason else ():
                    problems.append(DiagramProblem(filename, expression.get("id") or table.get("id"),
                                                   said("input expression %(text)r calls %(call)s",
                                                        text=text, call=offered)))
            inputs = set().union(*(_names_read((e.findtext(f"{ns}text") or "").strip())
                                   for e in table.iter(f"{ns}inputExpression"))) | _known_names()
            for rule in table.iter(f"{ns}rule"):
                for entry in rule.iter(f"{ns}inputEntry"):
                    text = (entry.findtext(f"{ns}text") or "").strip()
                    runs = feel_tests.translate(text) or text  # as the import runs it
                    reason = _entry_problem(runs)
                    if reason:
                        problems.append(DiagramProblem(filename, entry.get("id") or rule.get("id"),
                                                       said("input entry %(text)r does not compile: %(why)s",
                                                            text=text, why=reason)))
                    elif runs not in ("", "-") and (arithmetic := _no_test(text, runs)):
                        problems.append(DiagramProblem(filename, entry.get("id") or rule.get("id"), arithmetic))
                    elif runs not in ("", "-") and (unknown := sorted(_names_read(_entry_code(runs)) - inputs)):
                        problems.append(DiagramProblem(
                            filename, entry.get("id") or rule.get("id"),
                            said("input entry %(text)r reads %(names)s, which none of the table's inputs reads: the "
                                 "table fails where the process's data does not hold it", text=text,
                                 names=", ".join(unknown)), severity="warning"))
    return problems
