"""The API's per-field messages are said in the reader's language: every sentence marshmallow can say, and
every message the schemas write themselves, has its Chinese with the same values (`app.api.field_messages`);
so has werkzeug's description of every status, the message of a route not found or a method not allowed."""
from __future__ import annotations

import ast

from werkzeug.exceptions import default_exceptions

from app.api.field_messages import _template, marshmallow_sentences, said, templates
from tests.unit.catalogue_calls import PLACEHOLDER, ROOT, chinese


def schema_messages() -> set[str]:
    """The literal messages of `app/schemas`: `ValidationError("...")` and validators' `error="..."`."""
    found = set()
    for path in (ROOT / "app" / "schemas").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            given = [node.args[0]] if name == "ValidationError" and node.args else []
            given += [k.value for k in node.keywords if k.arg == "error"]
            found.update(g.value for g in given if isinstance(g, ast.Constant) and isinstance(g.value, str))
    return found


def test_every_sentence_marshmallow_says_and_every_schema_message_has_its_chinese():
    catalogue = chinese()
    sentences = marshmallow_sentences()
    assert len(sentences) > 40 and "Missing data for required field." in sentences  # the walk finds them
    own = schema_messages()
    assert "send at least one field to change" in own
    wrong = []
    for sentence in sorted(sentences) + sorted(own):
        msgid = _template(sentence).msgid if sentence in sentences else sentence
        if not catalogue.get(msgid):
            wrong.append(f"no Chinese for {msgid!r}")
        elif set(PLACEHOLDER.findall(catalogue[msgid])) != set(PLACEHOLDER.findall(msgid)):
            wrong.append(f"the Chinese of {msgid!r} has other values")
    assert not wrong, "\n".join(wrong)


def test_a_message_is_read_back_to_its_template_with_its_values(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for message in ("Must be one of: months, weeks, days.", "Must be greater than or equal to 1 and less than 5.",
                        "Longer than maximum length 255.", "Missing data for required field.", "not in the catalogue"):
            assert said(message) == message  # English: exactly what marshmallow said
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert said("Must be one of: months, weeks, days.") == "须为以下之一：months, weeks, days。"
        assert said("Must be greater than or equal to 1 and less than 5.") == "须大于或等于 1 且小于 5。"
        assert said("Must be greater than 0.") == "须大于 0。"
        assert said("Missing data for required field.") == "缺少必填字段。"
        assert said("not in the catalogue") == "not in the catalogue"
    assert len(templates()) > 15


def test_werkzeugs_description_of_every_status_has_its_chinese():
    catalogue = chinese()
    missing = [code for code, error in default_exceptions.items() if not catalogue.get(str(error.description))]
    assert len(default_exceptions) > 25 and not missing
