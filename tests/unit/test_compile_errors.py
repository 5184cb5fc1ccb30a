"""A script that does not compile is refused in the compiler's words, said: the English exactly as
RestrictedPython writes it, and read in Chinese through the catalogue (`app/engine/compile_errors.py`)."""
from __future__ import annotations

import re

import pytest
from RestrictedPython import compile_restricted_exec

from app.engine import compile_errors
from app.engine.said import Said
from app.engine.scripting import SandboxViolation, compile_expression, compile_script
from app.services.workflow.diagram_reasons import in_language

CHINESE = re.compile(r"[\u4e00-\u9fff]")

# (source, what its Chinese says of it)
SOURCES = [
    ("x = (1", "'(' 没有对应的右括号"),
    ("x = 1)", "')' 没有对应的左括号"),
    ("x = [1)", "右括号 ')' 与左括号 '[' 不匹配"),
    ("x = [1,\n2)", "右括号 ')' 与第 1 行的左括号 '[' 不匹配"),
    ("if x\n  y = 1", "缺少冒号"),
    ("  x = 1", "第 1 行缩进错误：多余的缩进"),
    ("if x:\ny = 1", "第 1 行的 'if' 语句之后缺少缩进的代码块"),
    ("x = 'abc", "字符串缺少结束的引号"),
    ("x = 5a", "无效的十进制数字"),
    ("x = 08", "十进制整数不能以 0 开头"),
    ("x = a b", "无效的语法，出错的语句：'x = a b'"),
    ("x = f(a=1, 2)", "位置参数写在了关键字参数之后"),
    ("1 = x", "不能在此给 literal 赋值"),
    ("if x = 1: pass", "也许想写 '==' 或 ':='"),
    ("x €= 1", "无效的字符 '€'（U+20AC）"),
    ("print 'a'", "调用 'print' 缺少括号"),
    ("_x = 1", "\"_x\" 不能作变量名：以 \"_\" 开头"),
    ("x._y", "\"_y\" 不能作属性名"),
    ("exec('1')", "不允许调用 exec"),
    ("from a import *", "不允许 \"*\" 导入"),
    ("x.a += 1", "不允许对属性做增量赋值"),
    ("async def f(): pass", "不允许 AsyncFunctionDef 语句"),
]



def _refusal(source: str) -> str:
    with pytest.raises(SandboxViolation) as refused:
        compile_script(source)
    return refused.value.args[0]


@pytest.mark.parametrize(("source", "chinese_says"), SOURCES)
def test_a_script_that_does_not_compile_is_refused_in_the_compilers_english_and_read_in_chinese(
        source, chinese_says, chinese):
    reason = _refusal(source)
    assert reason == "; ".join(compile_restricted_exec(source).errors)  # RestrictedPython's English, to the byte
    assert isinstance(reason, Said)
    read = in_language(reason)
    assert chinese_says in read
    assert read.startswith("第 ") and "SyntaxError" not in read and "not allowed" not in read


def test_several_refusals_are_each_read_in_chinese(chinese):
    reason = _refusal("x.__roles__ = 1")
    assert reason.count("Line 1:") == 2
    assert in_language(reason) == ('第 1 行："__roles__" 不能作属性名：以 "_" 开头；'
                                   '第 1 行："__roles__" 不能作属性名：以 "__roles__" 结尾')


def test_what_the_compiler_raises_past_restrictedpython_is_a_refusal_too(chinese):
    """Before, `f(a=1, a=2)` and `return` at the top escaped as a raw SyntaxError ("(<string>, line 1)")."""
    assert _refusal("f(a=1, a=2)") == "Line 1: SyntaxError: keyword argument repeated: a"
    assert in_language(_refusal("f(a=1, a=2)")) == "第 1 行语法错误：关键字参数重复：a"
    assert in_language(_refusal("x = 1\nreturn x")) == "第 2 行语法错误：'return' 不在函数之内"
    with pytest.raises(SandboxViolation):
        compile_expression("f(a=1, a=2)")


def test_a_sentence_the_tables_do_not_know_stays_as_the_compiler_wrote_it(chinese):
    newer = "Line 3: SyntaxError: a sentence of a newer Python at statement: 'x'"
    said_newer = compile_errors.restricted([newer])
    assert said_newer == newer
    assert in_language(said_newer) == "第 3 行语法错误：a sentence of a newer Python，出错的语句：'x'"
    assert compile_errors.restricted(["no line at all"]) == "no line at all"
    assert not isinstance(compile_errors.restricted(["no line at all"]), Said)
    assert CHINESE.search(in_language(compile_errors.restricted(["Line 1: Eval calls are not allowed."])))
