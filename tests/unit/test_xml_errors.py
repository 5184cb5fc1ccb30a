"""A file that is not well-formed XML is refused in libxml2's words, said: the English exactly as lxml
gives it, and read in Chinese through the catalogue (`app/engine/xml_errors.py`); a text that is not
JSON the same way, in the JSON reader's words (`app/engine/json_errors.py`)."""
from __future__ import annotations

import json

import pytest
from lxml import etree

from app.engine import json_errors, xml_errors
from app.engine.errors import DiagramRejected
from app.engine.said import Said
from app.engine.xml import read_xml
from app.services.workflow.diagram_reasons import in_language

# (bytes, what its Chinese says of it)
DOCUMENTS = [
    (b"<a><b></a>", "开始标签 b（第 1 行）与结束标签 a 不匹配（第 1 行第 11 列）"),
    (b"<a>", "标签 a（第 1 行）还没有结束，文件就结束了"),
    (b"<a></a><b/>", "根元素结束之后还有多余的内容"),
    (b"hello", "没有找到 '<'"),
    (b"<a x='1' x='2'/>", "属性 x 重复出现"),
    (b"<a x=1/>", "属性值应以 \" 或 ' 括起"),
    (b"<a x='1\n", "属性值缺少结束的 '（第 2 行"),
    (b"<a>&foo;</a>", "实体 'foo' 没有定义"),
    (b"<a>& b</a>", "文字中的 & 请写作 &amp;"),
    (b"<a:b/>", "b 使用的命名空间前缀 a 没有声明"),
    (b"<a b='<'/>", "属性值中的 '<' 必须写作 &lt;"),
    (b"<a><![CDATA[x</a>", "CDATA 段没有结束"),
    (b"<a><!-- x </a>", "注释没有结束"),
    (b"<a>\xff</a>", "文件应为 UTF-8"),
    (b"<a>" + b"<b>" * 300, "文档的嵌套超过 256 层"),
]



def _lxml_says(data: bytes) -> str:
    with pytest.raises(etree.XMLSyntaxError) as failed:
        etree.fromstring(data)
    return failed.value.msg


@pytest.mark.parametrize(("data", "chinese_says"), DOCUMENTS)
def test_malformed_xml_is_refused_in_libxml2s_english_and_read_in_chinese(data, chinese_says, chinese):
    with pytest.raises(DiagramRejected) as refused:
        read_xml(data, "x.bpmn")
    reason = refused.value.problems[0].reason
    assert reason == f"malformed XML: {_lxml_says(data)}"  # libxml2's English, to the byte
    sentence = reason.params["why"]
    assert isinstance(sentence, Said) and isinstance(sentence.params["sentence"], Said)  # the table knew it
    read = in_language(reason)
    assert read.startswith("XML 格式错误：") and chinese_says in read


def test_a_sentence_the_table_does_not_know_stays_as_libxml2_wrote_it(chinese):
    newer = "A sentence of a newer libxml2, line 3, column 1"
    assert xml_errors.said_of(newer) == newer
    assert in_language(xml_errors.said_of(newer)) == "A sentence of a newer libxml2（第 3 行第 1 列）"
    assert xml_errors.said_of("no place at all") == "no place at all"


@pytest.mark.parametrize(("text", "chinese_says"), [
    ('{"type": "object",', "此处应是用双引号括起的属性名（第 1 行第 19 列，第 18 个字符）"),
    ('{"a" 1}', "缺少冒号 ':'"),
    ('{"a": 1 "b": 2}', "缺少逗号 ','"),
    ('{} x', "JSON 值结束后还有多余的内容"),
])
def test_a_text_that_is_not_json_is_said_in_the_json_readers_words(text, chinese_says, chinese):
    with pytest.raises(json.JSONDecodeError) as failed:
        json.loads(text)
    said_text = json_errors.said_of(str(failed.value))
    assert said_text == str(failed.value) and isinstance(said_text, Said)
    assert chinese_says in in_language(said_text)
    assert json_errors.said_of(failed.value.msg) == failed.value.msg  # the bare sentence too
    assert json_errors.said_of("a newer sentence: line 1 column 1 (char 0)") == "a newer sentence: line 1 column 1 (char 0)"
