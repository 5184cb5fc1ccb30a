"""Reading a set of uploaded files (`workflow.file_sets.read`): hostile and wrong files are refused or said, never
a traceback; names lose any folder; a Camunda Forms file is also the form of the id it holds."""
from __future__ import annotations

import json

import pytest

from app.services.errors import Invalid
from app.services.workflow import file_sets

FORM = {"id": "review-8", "components": [{"key": "ok", "label": "OK", "type": "checkbox"}]}


@pytest.fixture(autouse=True)
def _in_app(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def _said(found: file_sets.FileSet) -> list[tuple[str, str, str]]:
    return [(p.file, p.severity, str(p.reason)) for p in found.problems]


@pytest.mark.parametrize(("name", "content", "said"), [
    ("deep.json", b"[" * 200_000 + b"]" * 200_000, "nests deeper than a form can"),
    ("deep.form", b"[" * 200_000 + b"]" * 200_000, "nests deeper than a form can"),
    ("latin1.json", "{\"title\": \"caf\u00e9\"}".encode("latin-1"), "is not UTF-8 text"),
    ("list.json", b"[1, 2]", "holds no object"),
    ("bad-schema.json", b'{"type": "objekt"}', "is not a valid JSON Schema"),
    ("empty.json", b"", "is not valid JSON"),
    ("broken.form", b'{"components": 7}', "no list of components"),
    ("script.html", b"<form><input cam-variable-name='x' cam-variable-type='Object'></form>", "cannot become"),
])
def test_a_form_that_cannot_be_read_is_an_error_of_the_set_never_a_traceback(name, content, said):
    found = file_sets.read([(name, content)])
    assert found.forms == {} and [(f, s) for f, s, _ in _said(found)] == [(name, "error")]
    assert said in _said(found)[0][2]


def test_names_lose_their_folders_and_a_camunda_form_is_also_the_form_of_its_id():
    found = file_sets.read([("../../etc/review.form", json.dumps(FORM).encode()),
                            ("C:\\work\\loan.bpmn", b"<xml/>")])
    assert set(found.forms) == {"review.json", "review-8.json"} and "ok" in found.forms["review.json"]["properties"]
    assert [d.filename for d in found.diagrams] == ["loan.bpmn"]


@pytest.mark.parametrize(("files", "said"), [
    ([], "Choose at least one file."),
    ([("a.bpmn", b""), ("x/a.bpmn", b"")], "a.bpmn is chosen twice."),
    ([("notes.txt", b"")], "notes.txt is neither a diagram"),
    ([(f"f{i}.json", b"{}") for i in range(file_sets.MAX_FILES + 1)], f"At most {file_sets.MAX_FILES} files"),
])
def test_a_set_that_cannot_be_taken_is_refused_at_its_field(files, said):
    with pytest.raises(Invalid) as refused:
        file_sets.read(files, "file")
    assert any(said in str(m) for m in refused.value.fields["file"]), refused.value.fields
