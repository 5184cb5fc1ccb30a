"""Every message the services mark for the catalogue (`_l`, `app.services.context.lazy_gettext`) has its
Chinese, with the same parameters, and is given the parameters its template names: a refusal raised in a
Chinese request (or on a Chinese command line) is never left in English, nor fails to format."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[srd]")


def _marked() -> list[tuple[str, int, ast.Call]]:
    found = []
    for path in sorted((ROOT / "app" / "services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_l":
                found.append((str(path.relative_to(ROOT)), node.lineno, node))
    return found


def test_every_message_the_services_mark_has_its_chinese_with_the_same_parameters():
    with CATALOGUE.open("rb") as source:
        catalogue = {m.id: m.string for m in read_po(source) if m.id and isinstance(m.id, str)}
    marked = _marked()
    assert len(marked) > 300  # the walk finds them
    wrong = []
    for path, line, call in marked:
        template = call.args[0] if call.args else None
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            wrong.append(f"{path}:{line}: the message is not a string literal")
            continue
        text = template.value
        named = set(PLACEHOLDER.findall(text))
        if not catalogue.get(text):
            wrong.append(f"{path}:{line}: no Chinese for {text!r}")
        elif set(PLACEHOLDER.findall(str(catalogue[text]))) != named:
            wrong.append(f"{path}:{line}: the Chinese of {text!r} has other parameters")
        given = {k.arg for k in call.keywords}  # none: a template formatted later; `**p`: the caller's
        if given and None not in given and given != named:
            wrong.append(f"{path}:{line}: the parameters given are not the template's: {text!r}")
    assert not wrong, "\n".join(wrong)
