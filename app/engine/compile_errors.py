"""What Python's compiler and RestrictedPython say of a script that does not compile, said in their words.

A finding "the condition does not compile: Line 1: SyntaxError: invalid syntax at statement: 'Service
Level == 1'" carries the compiler's own English. Its sentences are few and fixed, so each is a `foreign`
template here: the finding keeps its English to the byte, and an analyst reads it in Chinese ("第 1 行语法
错误：无效的语法…"). A sentence the tables do not have (a newer Python's) stays as the compiler wrote it.
"""
from __future__ import annotations

from collections.abc import Sequence

from app.engine.said import foreign, in_its_words, in_its_words_within, parts, said

# RestrictedPython's two shapes: Python's SyntaxError with its statement, and its own policy's refusals
_WHERE = [foreign("Line %(line)s: %(error)s: %(detail)s at statement: %(statement)s"),
          foreign("Line %(line)s: %(detail)s")]
_ERRORS = {"SyntaxError": said("SyntaxError"), "IndentationError": said("IndentationError"),
           "TabError": said("TabError")}
# Python 3.11's sentences (the longer of two that start alike comes first: the first to match wins)
_DETAILS = [
    foreign("invalid syntax. Perhaps you forgot a comma?"),
    foreign("invalid syntax. Maybe you meant '==' or ':=' instead of '='?"),
    foreign("invalid syntax"),
    foreign("invalid decimal literal"),
    foreign("invalid hexadecimal literal"),
    foreign("invalid octal literal"),
    foreign("invalid binary literal"),
    foreign("invalid imaginary literal"),
    foreign("unterminated string literal (detected at line %(at)s)"),
    foreign("unterminated triple-quoted string literal (detected at line %(at)s)"),
    foreign("%(bracket)s was never closed"),
    foreign("unmatched %(bracket)s"),
    foreign("closing parenthesis %(closing)s does not match opening parenthesis %(opening)s on line %(at)s"),
    foreign("closing parenthesis %(closing)s does not match opening parenthesis %(opening)s"),
    foreign("expected ':'"),
    foreign("expected '('"),
    foreign("expected 'else' after 'if' expression"),
    foreign("expected 'except' or 'finally' block"),
    foreign("expected an indented block after function definition on line %(at)s"),
    foreign("expected an indented block after '%(keyword)s' statement on line %(at)s"),
    foreign("unexpected indent"),
    foreign("unindent does not match any outer indentation level"),
    foreign("inconsistent use of tabs and spaces in indentation"),
    foreign("leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers"),
    foreign("positional argument follows keyword argument"),
    foreign("keyword argument repeated: %(name)s"),
    foreign("'%(keyword)s' outside function"),
    foreign("'%(keyword)s' outside loop"),
    foreign("'continue' not properly in loop"),
    foreign("cannot assign to %(what)s here. Maybe you meant '==' instead of '='?"),
    foreign("cannot assign to %(what)s"),
    foreign("cannot delete %(what)s"),
    foreign("invalid character %(character)s (U+%(code)s)"),
    foreign("invalid non-printable character U+%(code)s"),
    foreign("Missing parentheses in call to 'print'. Did you mean print(...)?"),
    foreign("unexpected character after line continuation character"),
    foreign("expression expected after dictionary key and ':'"),
    foreign("Generator expression must be parenthesized"),
    foreign("iterable unpacking cannot be used in comprehension"),
    foreign("unexpected EOF while parsing"),
    foreign("trailing comma not allowed without surrounding parentheses"),
    foreign("cannot use starred expression here"),
    # RestrictedPython's refusals
    foreign('"%(name)s" is an invalid variable name because it starts with "_"'),
    foreign('"%(name)s" is an invalid variable name because it ends with "__roles__".'),
    foreign('"%(name)s" is a reserved name.'),
    foreign('"%(name)s" is an invalid attribute name because it starts with "_".'),
    foreign('"%(name)s" is an invalid attribute name because it ends with "__roles__".'),
    foreign('"%(name)s" is a restricted name, that is forbidden to access in RestrictedPython.'),
    foreign('"*" imports are not allowed.'),
    foreign("%(statement)s statements are not allowed."),
    foreign("Exec calls are not allowed."),
    foreign("Eval calls are not allowed."),
    foreign("Augmented assignment of attributes is not allowed."),
    foreign("Augmented assignment of object items and slices is not allowed."),
    foreign("Unpacking in comprehensions is not allowed."),
    foreign('The keyword argument "metaclass" is not allowed.'),
    foreign("Assignment expressions are only allowed for simple targets"),
]


def _one(text: str) -> str:
    """One of RestrictedPython's errors, said: where it is, and the compiler's sentence."""
    return in_its_words_within(text, _WHERE, {"detail": lambda detail: in_its_words(detail, _DETAILS),
                                              "error": lambda error: _ERRORS.get(error, error)})


def restricted(errors: Sequence[str]) -> str:
    """What RestrictedPython said of a source, each error said ("; " between them, as it writes them)."""
    said_errors = [_one(error) for error in errors]
    return said_errors[0] if len(said_errors) == 1 else parts(said_errors, "; ")


def raised(exc: SyntaxError) -> str:
    """A SyntaxError Python's compiler raised past RestrictedPython (`'return' outside function`), said as
    RestrictedPython says the others."""
    error = _ERRORS.get(type(exc).__name__, type(exc).__name__)
    detail = in_its_words(exc.msg or "", _DETAILS)
    if exc.text:
        return said("Line %(line)s: %(error)s: %(detail)s at statement: %(statement)s", line=exc.lineno,
                    error=error, detail=detail, statement=repr(exc.text.strip()))
    return said("Line %(line)s: %(error)s: %(detail)s", line=exc.lineno, error=error, detail=detail)
