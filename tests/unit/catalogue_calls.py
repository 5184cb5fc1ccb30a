"""The code's calls that take a catalogue template, and what is wrong with each — shared by the checks that
every template the engine says (`said`, `foreign`: `test_said.py`) and every message the services mark
(`_l`: `test_service_messages.py`) has its Chinese, with the same parameters."""
from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)([srd])")
TEMPLATE_ARGUMENT = {"TermsError": 1}  # the functions that take their template after another argument (the field)


def template_of(call: ast.Call) -> ast.expr | None:
    """The template argument of a call (the first, or the one `TEMPLATE_ARGUMENT` names)."""
    name = call.func.id if isinstance(call.func, ast.Name) else ""
    position = TEMPLATE_ARGUMENT.get(name, 0)
    return call.args[position] if len(call.args) > position else None


def calls(paths: Iterable[Path], names: set[str]) -> list[tuple[str, int, ast.Call]]:
    """Every call of a function named in `names` in the files at `paths`: (file, line, the call)."""
    found = []
    for path in sorted(paths):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
                found.append((str(path.relative_to(ROOT)), node.lineno, node))
    return found


def chinese() -> dict[str, str]:
    with CATALOGUE.open("rb") as source:
        return {m.id: m.string for m in read_po(source) if m.id and isinstance(m.id, str)}


def problems(found: list[tuple[str, int, ast.Call]], catalogue: dict[str, str],
             exact_parameters: Callable[[ast.Call], bool]) -> list[str]:
    """What is wrong with each call: a template that is not a literal, no Chinese, a Chinese with other
    parameters, a parameter formatted two ways (the catalogue's compiler refuses `%(x)s ... %(x)r`), and
    keyword parameters that are not the template's (all of them where `exact_parameters(call)`, else only
    when some are given and none is `**`: a template formatted later, or with the caller's parameters)."""
    wrong = []
    for path, line, call in found:
        template = template_of(call)
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            wrong.append(f"{path}:{line}: the template is not a string literal")
            continue
        text = template.value
        named = sorted(PLACEHOLDER.findall(text))
        names = {name for name, _ in named}
        if not catalogue.get(text):
            wrong.append(f"{path}:{line}: no Chinese for {text!r}")
        elif set(PLACEHOLDER.findall(catalogue[text])) != set(named):  # each once or more, as the language writes it
            wrong.append(f"{path}:{line}: the Chinese of {text!r} has other parameters")
        if len(names) != len(set(named)):
            wrong.append(f"{path}:{line}: a parameter is formatted two ways in {text!r}")
        given = {k.arg for k in call.keywords}
        if (exact_parameters(call) or (given and None not in given)) and given != names:
            wrong.append(f"{path}:{line}: the parameters given are not the template's: {text!r}")
    return wrong
