"""What Python's JSON reader says of a text that is not JSON, said in its words.

A form that does not read ("it is not valid JSON: Expecting ',' delimiter: line 3 column 5 (char 41)")
carries the reader's English. Its sentences are fixed, so each is a `foreign` template here: the text
keeps its English to the byte, and an analyst reads it in Chinese ("缺少逗号 ','（第 3 行第 5 列）").
"""
from __future__ import annotations

from app.engine.said import Said, foreign, in_its_words, in_its_words_within

_WHERE = [foreign("%(sentence)s: line %(line)s column %(column)s (char %(position)s)")]
_SENTENCES = [
    foreign("Expecting value"),
    foreign("Expecting property name enclosed in double quotes"),
    foreign("Expecting ',' delimiter"),
    foreign("Expecting ':' delimiter"),
    foreign("Unterminated string starting at"),
    foreign("Invalid control character at"),
    foreign("Invalid \\escape"),
    foreign("Invalid \\uXXXX escape"),
    foreign("Extra data"),
    # what the API's decoder refuses beyond the reader (`app/api/json_body.py`)
    foreign("NUL characters are not allowed"),
    foreign("lone surrogates (\\ud800-\\udfff escapes that pair with nothing) are not allowed"),
]


def said_of(text: str) -> str:
    """The JSON reader's message, with or without where ("...: line L column C (char P)"), said; any other
    text as it is."""
    found = in_its_words_within(text, _WHERE, {"sentence": lambda sentence: in_its_words(sentence, _SENTENCES)})
    return found if isinstance(found, Said) else in_its_words(text, _SENTENCES)
