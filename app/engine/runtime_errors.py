"""What Python says when a diagram's script or expression fails as it runs, said in its words.

An incident's reason carries the error as Python wrote it ("The script at work failed on line 2
(TypeError: unsupported operand type(s) for +: 'int' and 'str')"). The sentences a script meets most are
fixed, so each is a `foreign` template here: `said_of` says such a text again, its English kept to the
byte, and the repair page renders it in the reader's language ("类型错误：不支持的操作数类型：'int' + 'str'").
A sentence the table does not have stays as Python wrote it. Reasons are stored as text (an incident
kept by an older version reads the same way), so this is applied when the reason is shown.
"""
from __future__ import annotations

from app.engine.said import foreign, in_its_words, in_its_words_within, said

_WHERE = [foreign("%(kind)s: %(detail)s")]
_KINDS = {"TypeError": said("TypeError"), "ValueError": said("ValueError"), "KeyError": said("KeyError"),
          "IndexError": said("IndexError"), "AttributeError": said("AttributeError"),
          "ZeroDivisionError": said("ZeroDivisionError"), "NameError": said("NameError"),
          "OverflowError": said("OverflowError")}
_SENTENCES = [
    foreign("unsupported operand type(s) for %(operator)s: %(left)s and %(right)s"),
    foreign("can only concatenate str (not %(type)s) to str"),
    foreign("can only concatenate list (not %(type)s) to list"),
    foreign("can't multiply sequence by non-int of type %(type)s"),
    foreign("bad operand type for %(operator)s: %(type)s"),
    foreign("%(operator)s not supported between instances of %(left)s and %(right)s"),
    foreign("division by zero"),
    foreign("float division by zero"),
    foreign("integer division or modulo by zero"),
    foreign("integer modulo by zero"),
    foreign("list index out of range"),
    foreign("string index out of range"),
    foreign("tuple index out of range"),
    foreign("pop from empty list"),
    foreign("%(type)s object is not subscriptable"),
    foreign("%(type)s object has no attribute %(name)s"),
    foreign("%(type)s object is not callable"),
    foreign("%(type)s object is not iterable"),
    foreign("object of type %(type)s has no len()"),
    foreign("string indices must be integers, not %(type)s"),
    foreign("unhashable type: %(type)s"),
    foreign("cannot unpack non-iterable %(type)s object"),
    foreign("too many values to unpack (expected %(expected)s)"),
    foreign("not enough values to unpack (expected %(expected)s, got %(got)s)"),
    foreign("invalid literal for int() with base 10: %(value)s"),
    foreign("could not convert string to float: %(value)s"),
    foreign("%(function)s argument must be a string, a bytes-like object or a real number, not %(type)s"),
    foreign("%(function)s arg is an empty sequence"),
    foreign("%(value)s is not in list"),
    foreign("substring not found"),
    foreign("math domain error"),
    foreign("name %(name)s is not defined"),
    foreign("%(function)s takes %(count)s positional argument but %(given)s were given"),
    foreign("%(function)s takes %(count)s positional arguments but %(given)s were given"),
]


def said_of(text: str) -> str:
    """Python's "Kind: message" said: the kind when the table knows it, the message when it has its sentence
    too (a KeyError's message is the key itself, which no sentence is); any other text as it is."""
    if text.split(":", 1)[0] not in _KINDS:
        return text
    return in_its_words_within(text, _WHERE, {"kind": _KINDS.__getitem__,
                                              "detail": lambda detail: in_its_words(detail, _SENTENCES)})
