"""A check's finding quotes the diagram's own words: in a Chinese page they are marked as code
(`app/web/code_words.py`), so no raw word reads as untranslated text; an English page shows the sentence."""
from __future__ import annotations

from flask import Flask
from flask_babel import Babel

from app.web.code_words import code_marked


def _in(language: str, text: str) -> str:
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: language)
    with app.test_request_context():
        return str(code_marked(text))


def test_latin_runs_in_a_chinese_sentence_are_code_and_the_rest_is_escaped():
    shown = _in("zh", "开始事件上的 camunda:formKey 'start-form.form'：按 <b> 检查，共 3 项")
    assert shown == ('开始事件上的 <span class="code" translate="no">camunda:formKey</span> '
                     '<span class="code" translate="no">&#39;start-form.form&#39;</span>：按 &lt;<span class="code" translate="no">b</span>&gt; '
                     '检查，共 3 项')  # escaped, and a digit alone is no code


def test_an_english_sentence_is_shown_as_it_is_escaped():
    assert _in("en", "camunda:formKey <b>") == "camunda:formKey &lt;b&gt;"
