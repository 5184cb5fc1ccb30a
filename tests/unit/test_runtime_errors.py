"""An incident's reason carries Python's error as Python wrote it; the repair page reads the sentences a
script meets most in Chinese (`app/engine/runtime_errors.py`), the English kept to the byte."""
from __future__ import annotations

import math

import pytest

from app.engine import runtime_errors
from app.engine.reasons import reason
from app.engine.said import Said
from app.services.workflow.diagram_reasons import in_language
from app.services.workflow.incident_reasons import reason_text

# (what fails, what its Chinese says of it)
FAILURES = [
    ("1 + 'a'", "类型错误：运算 + 不支持 'int' 与 'str' 类型的值"),
    ("'a' + 1", "类型错误：文本只能与文本相连，不能与 \"int\" 相连"),
    ("1 / 0", "除以零：除数为零"),
    ("1 % 0", "除以零：取余的除数为零"),
    ("{}['amount']", "没有这个键：'amount'"),
    ("[][1]", "下标越界：列表的下标超出范围"),
    ("nothing['x']", "类型错误：'NoneType' 类型的值不能用下标取值"),
    ("{}.limit", "属性错误：'dict' 类型的值没有属性 'limit'"),
    ("int('x')", "取值错误：'x' 不是整数"),
    ("float('1,000')", "取值错误：'1,000' 不是数字"),
    ("1 < 'a'", "类型错误：'int' 与 'str' 类型的值之间不能用 '<' 比较"),
    ("len(5)", "类型错误：'int' 类型的值没有长度"),
    ("max([])", "取值错误：max() 的参数是空序列"),
    ("math.sqrt(-1)", "取值错误：数学函数的参数超出定义域"),
    ("undefined_name", "名称未定义：名称 'undefined_name' 没有定义"),
]



def _python_says(source: str) -> str:
    with pytest.raises(Exception) as failed:
        eval(source, {"math": math, "nothing": None})  # noqa: S307 - constant test sources
    return f"{type(failed.value).__name__}: {failed.value}"


@pytest.mark.parametrize(("source", "chinese_says"), FAILURES)
def test_pythons_words_are_kept_to_the_byte_and_read_in_chinese(source, chinese_says, chinese):
    text = _python_says(source)
    said_text = runtime_errors.said_of(text)
    assert said_text == text and isinstance(said_text, Said)
    assert in_language(said_text) == chinese_says


def test_an_incidents_reason_reads_pythons_words_in_the_readers_language(chinese):
    stored = {"reason": reason("script_failed", element="work", line=2,
                               error="TypeError: unsupported operand type(s) for +: 'int' and 'str'")}
    assert reason_text(stored) == ("work 处的脚本在第 2 行失败（类型错误：运算 + 不支持 'int' 与 'str' 类型的值）："
                                   "请修正脚本或它读取的数据，然后重试。")


def test_words_the_table_does_not_know_stay_as_python_wrote_them(chinese):
    assert runtime_errors.said_of("RuntimeError: boom") == "RuntimeError: boom"
    assert not isinstance(runtime_errors.said_of("RuntimeError: boom"), Said)
    assert in_language(runtime_errors.said_of("TypeError: a newer sentence")) == "类型错误：a newer sentence"
    assert runtime_errors.said_of("no kind at all") == "no kind at all"
