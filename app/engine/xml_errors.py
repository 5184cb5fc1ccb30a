"""What libxml2 says of a file that is not well-formed XML, said in its words.

A diagram refused as "malformed XML: Opening and ending tag mismatch: bpmn:task line 12 and process, line
40, column 17" carries libxml2's English. Its sentences are fixed, so each is a `foreign` template here:
the refusal keeps its English to the byte and an analyst reads it in Chinese ("开始标签 bpmn:task（第 12
行）与结束标签 process 不匹配（第 40 行第 17 列）"). A sentence the table does not have stays as libxml2
wrote it.
"""
from __future__ import annotations

from app.engine.said import Said, foreign, in_its_words, in_its_words_within

_WHERE = [foreign("%(sentence)s, line %(line)s, column %(column)s")]
_SENTENCES = [
    foreign("Opening and ending tag mismatch: %(opening)s line %(at)s and %(closing)s"),
    foreign("Premature end of data in tag %(tag)s line %(at)s"),
    foreign("Couldn't find end of Start Tag %(tag)s line %(at)s"),
    foreign("Extra content at the end of the document"),
    foreign("Start tag expected, '<' not found"),
    foreign("StartTag: invalid element name"),
    foreign("Document is empty"),
    foreign("Attribute %(name)s redefined"),
    foreign("AttValue: \" or ' expected"),
    foreign("AttValue: %(quote)s expected"),
    foreign("Specification mandates value for attribute %(name)s"),
    foreign("attributes construct error"),
    foreign("error parsing attribute name"),
    foreign("Unescaped '<' not allowed in attributes values"),
    foreign("Namespace prefix %(prefix)s for %(attribute)s on %(tag)s is not defined"),
    foreign("Namespace prefix %(prefix)s on %(tag)s is not defined"),
    foreign("Entity '%(name)s' not defined"),
    foreign("xmlParseEntityRef: no name"),
    foreign("EntityRef: expecting ';'"),
    foreign("xmlParseCharRef: invalid xmlChar value %(value)s"),
    foreign("PCDATA invalid Char value %(value)s"),
    foreign("Sequence ']]>' not allowed in content"),
    foreign("CData section not finished\n%(text)s"),
    foreign("Comment not terminated"),
    foreign("Double hyphen within comment: %(text)s"),
    foreign("XML declaration allowed only at the start of the document"),
    foreign("Invalid bytes in character encoding"),
    foreign("Unsupported encoding: %(encoding)s"),
    foreign("Excessive depth in document: %(depth)s, use XML_PARSE_HUGE option"),
]


def said_of(message: str) -> str:
    """libxml2's message ("<sentence>, line L, column C"), said; any other text as it is."""
    found = in_its_words_within(message, _WHERE, {"sentence": lambda sentence: in_its_words(sentence, _SENTENCES)})
    return found if isinstance(found, Said) else in_its_words(message, _SENTENCES)
