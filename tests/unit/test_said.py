"""What the diagram check says is read in the reader's language: `said` keeps the English text exact and
its template, the service layer renders it from the catalogue, and every template the code says has its
Chinese with the same parameters."""
from __future__ import annotations

import copy
import pickle

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import Babel

from app.engine.errors import DiagramProblem
from app.engine.said import Said, parts, said
from app.services.workflow.diagram_reasons import in_language
from tests.unit.catalogue_calls import ROOT, calls, chinese, problems

TEMPLATES = {"said", "foreign"}  # what takes a template (`foreign`: another program's fixed sentences)


def test_a_said_sentence_is_its_english_text():
    found = said("the timer %(id)s has no time: give it %(what)s", id="t1", what=said("a date"))
    assert found == "the timer t1 has no time: give it a date"
    assert isinstance(found, str) and isinstance(found, Said)
    assert found.template == "the timer %(id)s has no time: give it %(what)s"
    assert said("100%% of %(n)d", n=3) == "100% of 3"
    assert said("calls %(call)r", call="open") == "calls 'open'"


def test_a_said_sentence_survives_pickling_and_copying_with_its_template():
    found = said("a %(part)s b", part=said("c"))
    problem = DiagramProblem("f.bpmn", "x", found)
    for again in (pickle.loads(pickle.dumps(found)), copy.deepcopy(found), problem.to_dict()["reason"]):
        assert again == "a c b" and isinstance(again, Said) and again.template == "a %(part)s b"
        assert isinstance(again.params["part"], Said)


def test_parts_join_their_items_and_keep_each():
    joined = parts([said("one"), "two", said("three")], "; ")
    assert joined == "one; two; three"
    assert parts([]) == ""
    assert parts(["50%"]) == "50%"


@pytest.fixture()
def zh_app(tmp_path):
    """A request in Chinese over a catalogue of three templates (one translated with a lost parameter)."""
    folder = tmp_path / "zh" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "the %(part)s at %(element)s does not compile"\nmsgstr "%(element)s 的%(part)s无法编译"\n\n'
                  'msgid "condition"\nmsgstr "条件"\n\n'
                  'msgid "lost %(name)s"\nmsgstr "丢了参数"\n', encoding="utf-8")
    from babel.messages.mofile import write_mo
    with po.open("rb") as source, (folder / "messages.mo").open("wb") as target:
        write_mo(target, read_po(source))
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(tmp_path)
    Babel(app, locale_selector=lambda: "zh")
    return app


def test_the_reader_reads_it_in_their_language_with_its_parts(zh_app):
    with zh_app.test_request_context():
        sentence = said("the %(part)s at %(element)s does not compile", part=said("condition"), element="gw")
        assert in_language(sentence) == "gw 的条件无法编译"
        assert in_language("a text SpiffWorkflow wrote") == "a text SpiffWorkflow wrote"
        assert in_language(said("not in the catalogue %(x)s", x=1)) == "not in the catalogue 1"
        assert in_language(said("lost %(name)s", name="n")) == "丢了参数"  # a dropped parameter is allowed
        listed = said("the %(part)s at %(element)s does not compile", part=parts([said("condition"), "x"], "; "),
                      element=parts(["a", "b"]))
        assert in_language(listed) == "a、b 的条件；x无法编译"  # a list's separator as the language writes it
    assert in_language(sentence) == "the condition at gw does not compile"  # no request: English


def test_every_template_the_code_says_has_its_chinese_with_the_same_parameters():
    said_calls = calls([*(ROOT / "app" / "engine").glob("*.py"), *(ROOT / "app" / "services").rglob("*.py")],
                       TEMPLATES)
    assert len(said_calls) > 100  # the check's sentences are said (the walk finds them)
    wrong = problems(said_calls, chinese(), exact_parameters=lambda call: call.func.id == "said")
    assert not wrong, "\n".join(wrong)


def test_a_reason_kept_on_an_element_is_made_again_only_from_a_template_the_code_said():
    """The import keeps a refusal in an attribute of its element until the check reads it; a file can carry
    that attribute itself, and a template of its own would be formatted with the width it names."""
    from app.engine.camunda_services import restored, stored

    kept = stored(said("the %(part)s at %(element)s does not compile", part=said("condition"), element="gw"))
    again = restored(kept)
    assert again == "the condition at gw does not compile" and isinstance(again, Said)
    forged = '{"said": "%(a)999999999s", "params": {"a": "x"}}'
    assert restored(forged) == forged  # shown as the text it is, never expanded
    assert restored("a refusal written by hand") == "a refusal written by hand"


def test_an_incidents_reason_in_the_engines_own_words_is_read_in_the_readers_language(zh_app):
    from app.engine.reasons import of_said
    from app.services.workflow.incident_reasons import reason_text

    sentence = said("the %(part)s at %(element)s does not compile", part=said("condition"), element="gw")
    details = {"reason": of_said(sentence)}
    forged = {"reason": {"code": "said", "said": {"said": "%(a)999999999s", "params": {"a": "x"}, "text": "kept"}}}
    lost = {"reason": of_said(said("lost %(name)s", name="n"))}
    with zh_app.test_request_context():
        assert reason_text(details) == "gw 的条件无法编译"
        assert reason_text(forged) == "kept"  # a template the catalogue lacks is never formatted: its stored text
        assert reason_text(lost) == "丢了参数"
        listed = {"reason": of_said(said("the %(part)s at %(element)s does not compile", element="gw",
                                         part=parts([said("condition"), "x"], "; ")))}
        assert reason_text(listed) == "gw 的条件；x无法编译"  # a list's said item, and its separator
    assert reason_text(details) == "the condition at gw does not compile"  # no request: the English as stored
