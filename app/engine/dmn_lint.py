"""What SpiffWorkflow's DMN reader leaves to run time: the table's input expressions and input entries.

The reader compiles a rule's output entries when the table is parsed, but an input expression or an
input entry that does not compile fails only when a process reaches the table. This check compiles
them in the sandbox the way the DMN engine evaluates them (an entry is compared with `==` when it is
an expression, else written after the input: `>= 600`, `not in ("A", "E")`; `?` stands for the
input; `-` or nothing matches anything; a FEEL range, list or `not(...)` as the import translates it,
`feel_tests`), so a table that could never run is refused at deploy. An
input expression that calls a SpiffArena server function Loanflow does not have (`get_env()`) is
refused naming it (`script_offers`).
"""
from __future__ import annotations

import re

from app.engine import feel_tests, script_offers
from app.engine.errors import DiagramProblem
from app.engine.said import Said, said
from app.engine.scripting import SandboxViolation, compile_expression
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
    if _QUESTION.search(entry):
        return _compiles(_QUESTION.sub(_INPUT, entry))
    if _compiles(entry) is None:  # compared with ==
        return None
    return _compiles(f"{_INPUT} {entry}")  # an operator and its operand after the input


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
            for rule in table.iter(f"{ns}rule"):
                for entry in rule.iter(f"{ns}inputEntry"):
                    text = (entry.findtext(f"{ns}text") or "").strip()
                    reason = _entry_problem(feel_tests.translate(text) or text)  # as the import runs it
                    if reason:
                        problems.append(DiagramProblem(filename, entry.get("id") or rule.get("id"),
                                                       said("input entry %(text)r does not compile: %(why)s",
                                                            text=text, why=reason)))
    return problems
