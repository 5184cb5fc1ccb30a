"""JUEL and simple FEEL expressions, translated into the Python expressions the sandbox runs.

Diagrams drawn for Camunda 7 write conditions and timers in JUEL (`${approved}`, `#{amount > 1000}`);
Camunda 8 writes FEEL after a leading `=` (`= amount > 1000`). Loanflow evaluates Python expressions
in its sandbox (`scripting.compile_expression`), so the import layer translates what has a safe
meaning and refuses the rest, naming what it refused (`ExpressionRefused.reason`).

This is a tokenizer and a recursive-descent parser per language that build one small tree, and one
writer of Python from that tree: nothing is substituted by pattern, so a string literal that
contains `&&` stays a string, and nothing the parser does not know gets through.

What is translated, and how (JUEL; FEEL has its own spelling of the same):

- names are variables of the task's data; `execution.getVariable('x')` is `x`;
- `a.b` and `a['b']` read the key `b` of the dict `a` (`a["b"]` in Python): task data are JSON
  values, never Java beans, so a property is a key, not an attribute;
- literals: strings in '' or "" (FEEL: ""), integers, decimals, `true`, `false`, `null` (`None`);
- comparisons `== != < > <= >=` and `eq ne lt gt le ge` (FEEL `= != < > <= >=`); a comparison with
  `null` is `is None` / `is not None`;
- `&& || !` and `and or not` (FEEL `and`, `or`, `not(x)`), `a ? b : c` (FEEL `if a then b else c`);
- arithmetic `+ - * / div % mod` (`/` and `div` are true division as in JUEL, `%` and `mod` are
  Python's remainder);
- `empty x`: x is null, '' or an empty list or map;
- methods with one safe meaning: `startsWith endsWith contains equals equalsIgnoreCase length size
  isEmpty toUpperCase toLowerCase trim` (FEEL: `contains`, `starts with`, `ends with`,
  `string length`, `upper case`, `lower case`, `count`, `string`, `matches`, `is defined` of a variable,
  `all any sum min max` of a list, `abs`, `now()` and `today()` (UTC, on the engine's clock: the sandbox's
  `engine_now`), `duration("PT1H")` of a day-time
  duration written in the diagram, a `timedelta`);
- FEEL only: a list `[a, "b"]` is a Python list, a context `{amount: amount, "a key": 1}` a dict; a list's
  item by a position written in the diagram (`orders[1]`: FEEL counts from 1, `-1` is the last, past either
  end null) and a list filtered by a condition (`orders[amount > limit]`: a name is the item's entry where the
  item has it, else the variable; `item` is the item itself, `scores[item >= 60]`).

JUEL's type coercions are not reproduced: values compare and add as Python compares and adds them
(JUEL turns `'5' == 5` true and `null < 1` into `0 < 1`; here the first is false and the second an
error the instance reports). Everything else is refused: reflection (`getClass()`, `.class`,
`forName`, `T(...)`), other method calls and bean references (`${myBean.doIt()}`), function calls,
assignments, lambdas, semicolons, collection constructors, `instanceof`, FEEL's quantifiers, ranges,
a position computed at run time and a filter inside a filter.
"""
from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass

from app.engine.said import Said, said
from app.engine.script_offers import ENGINE_NOW

MAX_TEXT = 4_000  # characters of one expression
MAX_DEPTH = 40  # nesting of the parse (parentheses, unary operators)
MAX_TREE = 120  # depth of the tree (a chain of 500 `+` is 500 deep)


class ExpressionRefused(ValueError):
    """An expression the import layer will not translate; `reason` says what was refused."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# -- the tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    kind: str  # name, const, key, unary, empty, binary, compare, ternary, call, list, map, raw
    value: object = None  # the name, the constant, the operator or the method
    args: tuple[Node, ...] = ()
    depth: int = 1


def _node(kind: str, value: object = None, args: tuple[Node, ...] = ()) -> Node:
    depth = 1 + max((a.depth for a in args), default=0)
    if depth > MAX_TREE:
        raise ExpressionRefused(said("the expression is nested more than %(most)d deep", most=MAX_TREE))
    return Node(kind, value, args, depth)


_NULL = _node("const", None)


# -- tokens -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # num, str, name, op, end
    text: str
    at: int


_NUMBER = re.compile(r"(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[^\W\d]\w*")
_JUEL_OPS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "?", ":", ".", "[",
             "]", "(", ")", ",", "}")
_FEEL_OPS = ("!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", ".", "[", "]", "(", ")", ",", "{", "}", ":")
# Spellings refused outright, with what they are.
_JUEL_REFUSED_OPS: dict[str, str] = {
    "+=": said("string concatenation by assignment (+=)"), "->": said("a lambda (->)"), ";": said("a semicolon"),
    "=": said("an assignment (=)"), "{": said("a set or map constructor ({...})"), "#": "'#'", "$": "'$'",
    "&": said("'&' (write && for and)"), "|": said("'|' (write || for or)"), "\\": said("a backslash"), "@": "'@'",
    "`": "'`'", "~": "'~'", "^": "'^'"}
_FEEL_REFUSED_OPS: dict[str, str] = {
    "**": said("an exponent (**)"), "..": said("a range (..)"),
    "->": said("a lambda (->)"), ";": said("a semicolon"), "'": said("a quote (FEEL strings are in \"\")")}


def _tokens(text: str, start: int, feel: bool) -> tuple[list[Token], int]:
    """The tokens of `text` from `start`; for JUEL up to and including the `}` that closes the
    expression (its index after is returned), for FEEL to the end."""
    tokens: list[Token] = []
    i, n = start, len(text)
    ops, refused = (_FEEL_OPS, _FEEL_REFUSED_OPS) if feel else (_JUEL_OPS, _JUEL_REFUSED_OPS)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in "'\"" and not (feel and char == "'"):
            value, i = _string(text, i, feel)
            tokens.append(Token("str", value, i))
            continue
        number = _NUMBER.match(text, i)
        if number and (char.isdigit() or (char == "." and not _after_value(tokens))):
            tokens.append(Token("num", number.group(0), i))
            i = number.end()
            continue
        name = _NAME.match(text, i)
        if name:
            tokens.append(Token("name", name.group(0), i))
            i = name.end()
            if i < n and text[i] == "$":
                raise ExpressionRefused(said("the name %(name)s$... contains '$'", name=name.group(0)))
            continue
        for spelling, what in refused.items():
            if text.startswith(spelling, i) and not any(text.startswith(op, i) and len(op) > len(spelling)
                                                        for op in ops):
                if spelling == "=" and not feel:  # JUEL (EL 2.2) has no assignment: Camunda refuses it as well
                    raise ExpressionRefused(said("an assignment (=) is not an operator of JUEL: Camunda, Activiti "
                                                 "and Flowable refuse it too; to compare, write =="))
                raise ExpressionRefused(_not_translated(what))
        op = next((op for op in ops if text.startswith(op, i)), None)
        if op is None:
            raise ExpressionRefused(said("the character %(char)r is not part of the expression language", char=char))
        tokens.append(Token("op", op, i))
        i += len(op)
        if op == "}" and not feel:
            return tokens, i
    tokens.append(Token("end", "", i))
    return tokens, i


def _not_translated(what: str) -> Said:
    return said("%(what)s is not translated", what=what)


def _takes(name: str, arity: int, got: int) -> Said:
    """`name() takes 1 argument, got 2`."""
    if arity == 1:
        return said("%(name)s() takes %(arity)d argument, got %(got)d", name=name, arity=arity, got=got)
    return said("%(name)s() takes %(arity)d arguments, got %(got)d", name=name, arity=arity, got=got)


def _after_value(tokens: list[Token]) -> bool:
    """Whether a `.` here follows a value (`a.b`, `x[0].b`, `(a).b`) rather than starting a number."""
    if not tokens:
        return False
    last = tokens[-1]
    return last.kind in ("name", "num", "str") or last.text in (")", "]")


_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def _string(text: str, i: int, feel: bool) -> tuple[str, int]:
    quote, i = text[i], i + 1
    out: list[str] = []
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\\" and i + 1 < len(text):
            escaped = text[i + 1]
            if escaped in "'\"\\" or (feel and escaped in _ESCAPES):
                out.append(_ESCAPES[escaped])
                i += 2
                continue
        out.append(char)
        i += 1
    raise ExpressionRefused(said("a string literal is not closed"))


# -- parsing ----------------------------------------------------------------------------------
_REFLECTION = frozenset({"getClass", "class", "forName", "getDeclaredMethod", "getDeclaredMethods", "getMethod",
                         "getMethods", "getDeclaredField", "getField", "newInstance", "invoke", "getClassLoader",
                         "loadClass", "getRuntime", "exec", "getConstructor", "getDeclaredConstructor"})
# Methods with one safe meaning: name -> (number of arguments, Python template; {0} the receiver).
_METHODS = {
    "startsWith": (1, "{0}.startswith({1})"), "endsWith": (1, "{0}.endswith({1})"), "contains": (1, "{1} in {0}"),
    "equals": (1, "{0} == {1}"), "equalsIgnoreCase": (1, "{0}.lower() == {1}.lower()"), "length": (0, "len({0})"),
    "size": (0, "len({0})"), "isEmpty": (0, "len({0}) == 0"), "toUpperCase": (0, "{0}.upper()"),
    "toLowerCase": (0, "{0}.lower()"), "trim": (0, "{0}.strip()"),
}
# Flowable's functions on a variable that may not exist (`${variables:equals(status, 'open')}`): function -> the
# comparison it makes ("!==": not equal, or not there); get, getOrDefault, exists, isEmpty, isNotEmpty besides
_VARIABLE_PREFIXES = frozenset({"variables", "vars", "var"})
_VARIABLE_FUNCTIONS = {
    "get": "", "getOrDefault": "", "exists": "", "isEmpty": "", "isNotEmpty": "",
    "equals": "==", "eq": "==", "notEquals": "!==", "ne": "!==", "lowerThan": "<", "lt": "<",
    "lowerThanOrEquals": "<=", "lte": "<=", "le": "<=", "greaterThan": ">", "gt": ">", "greaterThanOrEquals": ">=",
    "gte": ">=", "ge": ">=",
}
_JUEL_WORD_OPS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%",
                  "and": "&&", "or": "||"}
_JUEL_RESERVED = frozenset({*_JUEL_WORD_OPS, "not", "empty", "true", "false", "null", "instanceof"})


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.i, self.depth = tokens, 0, 0

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        if self.i < len(self.tokens) - 1:  # the last token (end, or JUEL's closing brace) is never passed
            self.i += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.token.kind in ("op", "name") and self.token.text in texts

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise ExpressionRefused(said("expected %(text)r %(where)s", text=text, where=self.where()))
        self.take()

    def where(self) -> Said:
        return said("at the end") if self.token.kind == "end" else said("before %(token)r", token=self.token.text)

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionRefused(said("the expression is nested more than %(most)d deep", most=MAX_DEPTH))


class _Juel(_Parser):
    """JUEL's grammar, from the lowest precedence: ?: || && ==/!= </>/<=/>= +/- *,/,% unary postfix."""

    def word(self) -> str | None:
        """The operator the current token spells, reading `eq` as `==` and so on."""
        token = self.token
        if token.kind == "name":
            return _JUEL_WORD_OPS.get(token.text)
        return token.text if token.kind == "op" else None

    def expression(self) -> Node:
        self.nested()
        condition = self.binary(0)
        if self.word() == "?":
            self.take()
            then = self.expression()
            self.expect(":")
            otherwise = self.expression()
            condition = _node("ternary", None, (condition, then, otherwise))
        self.depth -= 1
        return condition

    LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> Node:
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.word() in self.LEVELS[level]:
            op = self.word()
            self.take()
            right = self.binary(level + 1)
            left = _combine(op or "", left, right)
        return left

    def unary(self) -> Node:
        self.nested()
        token = self.token
        if token.text in ("!", "not") and token.kind in ("op", "name"):
            self.take()
            node = _node("unary", "not", (self.unary(),))
        elif token.text == "-" and token.kind == "op":
            self.take()
            node = _node("unary", "-", (self.unary(),))
        elif token.text == "empty" and token.kind == "name":
            self.take()
            node = _node("empty", None, (self.unary(),))
        else:
            node = self.postfix()
        self.depth -= 1
        return node

    def postfix(self) -> Node:
        node, path = self.primary()
        while self.at(".", "["):
            if self.take().text == "[":
                key = self.expression()
                self.expect("]")
                node, path = _node("key", None, (node, key)), None
                continue
            name = self.take()
            if name.kind != "name":
                raise ExpressionRefused(said("expected a property name after '.' %(where)s", where=self.where()))
            if name.text == "class":
                raise ExpressionRefused(said("class access (.class) is refused: a diagram reads data, not Java "
                                             "classes"))
            if name.text in _REFLECTION or name.text.startswith("__"):
                raise ExpressionRefused(said("reflection (%(name)s) is refused: a diagram reads data, not Java classes",
                                             name=name.text))
            if self.at("("):
                node = self.method(node, name.text, path)
                path = None
            elif path == "execution":
                raise ExpressionRefused(said("execution.%(name)s (the Camunda engine's own object) is refused",
                                             name=name.text))
            else:
                node = _node("key", None, (node, _node("const", name.text)))
                path = f"{path}.{name.text}" if path else None
        if self.token.kind == "name" and self.token.text == "instanceof":
            raise ExpressionRefused(said("instanceof (a Java type test) is refused"))
        return node

    def method(self, receiver: Node, name: str, path: str | None) -> Node:
        variable = path == "execution" and name == "getVariable"
        if not variable and path in ("execution", "task"):
            raise ExpressionRefused(said("%(path)s.%(name)s() (the Camunda engine's own objects) is refused",
                                         path=path, name=name))
        if not variable and name not in _METHODS:
            what = f"{path}.{name}()" if path else f"{name}()"
            raise ExpressionRefused(said("the method call %(call)s has no safe meaning in Loanflow (a bean or Java "
                                         "method); only %(methods)s are translated", call=what,
                                         methods=", ".join(_METHODS)))
        self.take()  # (
        args: list[Node] = []
        while not self.at(")"):
            args.append(self.expression())
            if not self.at(")"):
                self.expect(",")
        self.take()
        if variable:
            if len(args) != 1 or args[0].kind != "const" or not isinstance(args[0].value, str):
                raise ExpressionRefused(said("execution.getVariable() is translated only with one variable name in "
                                             "quotes"))
            return _node("name", _variable(args[0].value))
        arity = _METHODS[name][0]
        if len(args) != arity:
            raise ExpressionRefused(_takes(name, arity, len(args)))
        return _node("call", name, (receiver, *args))

    def variable_function(self, prefix: str) -> Node:
        """Flowable's `variables:` functions (also `vars:`, `var:`), which read a variable that may not exist:
        the first argument names it; `is_defined` says whether the data holds it."""
        self.take()  # :
        function = self.take().text
        self.take()  # (
        named = self.take()
        if named.kind != "name":
            raise ExpressionRefused(said("%(prefix)s:%(function)s() takes a variable's name first",
                                         prefix=prefix, function=function))
        variable = _node("name", _variable(named.text))
        args: list[Node] = []
        while not self.at(")"):
            self.expect(",")
            args.append(self.expression())
        self.take()
        arity = 1 if function in ("get", "exists", "isEmpty", "isNotEmpty") else 2
        if 1 + len(args) != arity:
            raise ExpressionRefused(_takes(f"{prefix}:{function}", arity, 1 + len(args)))
        defined = _node("call", ("is", "defined"), (_node("const", named.text),))
        empty = _node("binary", "or", (_node("unary", "not", (defined,)), _node("empty", None, (variable,))))
        if function == "get":
            return _node("ternary", None, (defined, variable, _NULL))
        if function == "getOrDefault":
            present = _node("binary", "and", (defined, _node("compare", "!=", (variable, _NULL))))
            return _node("ternary", None, (present, variable, args[0]))
        if function == "exists":
            return defined
        if function in ("isEmpty", "isNotEmpty"):
            return empty if function == "isEmpty" else _node("unary", "not", (empty,))
        op = _VARIABLE_FUNCTIONS[function]
        if op == "!==":  # not there, or not equal
            return _node("unary", "not", (_node("binary", "and", (defined, _node("compare", "==", (variable, args[0])))),))
        return _node("binary", "and", (defined, _node("compare", op, (variable, args[0]))))

    def primary(self) -> tuple[Node, str | None]:
        token = self.take()
        if token.kind == "num":
            return _number(token.text), None
        if token.kind == "str":
            return _node("const", token.text), None
        if token.kind == "op" and token.text == "(":
            node = self.expression()
            self.expect(")")
            return node, None
        if token.kind == "name":
            word = token.text
            if word in ("true", "false", "null"):
                return _node("const", {"true": True, "false": False, "null": None}[word]), None
            if word in _JUEL_RESERVED:
                raise ExpressionRefused(said("%(word)r cannot stand here %(where)s", word=word, where=self.where()))
            if word == "new":
                raise ExpressionRefused(said("object construction (new) is refused"))
            if self.at("("):
                if word == "T":
                    raise ExpressionRefused(said("a type reference T(...) (Java reflection) is refused"))
                raise ExpressionRefused(said("the function call %(word)s() is refused: only methods with a safe "
                                             "meaning are translated", word=word))
            if self.at(":") and self.tokens[self.i + 1].kind == "name" and self.i + 2 < len(self.tokens) \
                    and self.tokens[self.i + 2].text == "(":
                if word in _VARIABLE_PREFIXES and self.tokens[self.i + 1].text in _VARIABLE_FUNCTIONS:
                    return self.variable_function(word), None
                raise ExpressionRefused(said("the function %(prefix)s:%(name)s() is refused", prefix=word,
                                             name=self.tokens[self.i + 1].text))
            if word == "execution" and not self.at("."):
                raise ExpressionRefused(said("the Camunda execution object is refused"))
            if word == "execution":
                return _node("name", word), word
            return _node("name", _variable(word)), word
        if token.kind == "end":
            raise ExpressionRefused(said("the expression ends too early"))
        raise ExpressionRefused(said("unexpected %(token)r", token=token.text))


_FEEL_REFUSED_WORDS = {"some": said("a quantified expression (some ... satisfies)"),
                       "every": said("a quantified expression (every ... satisfies)"),
                       "for": said("a for loop (for ... return)"), "in": said("a membership test (in)"),
                       "between": said("a range test (between)"), "instance": said("a type test (instance of)"),
                       "function": said("a function definition")}
# FEEL functions with a safe meaning: words of the name -> (arguments, Python template).
_FEEL_FUNCTIONS = {("contains",): (2, "{1} in {0}"), ("list", "contains"): (2, "{1} in ({0} or [])"),
                   ("starts", "with"): (2, "{0}.startswith({1})"),
                   ("ends", "with"): (2, "{0}.endswith({1})"), ("string", "length"): (1, "len({0})"),
                   ("upper", "case"): (1, "{0}.upper()"), ("lower", "case"): (1, "{0}.lower()"),
                   ("count",): (1, "len({0})"), ("string", "join"): (2, "{1}.join([feel_item for feel_item in {0} if feel_item is not None])"),
                   ("all",): (1, "all({0})"), ("any",): (1, "any({0})"), ("sum",): (1, "sum({0})"),
                   ("min",): (1, "min({0})"), ("max",): (1, "max({0})"), ("abs",): (1, "abs({0})"),
                   ("string",): (1, "(None if ({0}) is None else str({0}).lower() if isinstance({0}, bool) else "
                                    "str({0}))"),
                   ("matches",): (2, "(re.search({1}, {0}) is not None)"), ("is", "defined"): (1, "is_defined({0})"),
                   ("now",): (0, ENGINE_NOW), ("today",): (0, ENGINE_NOW + ".date()"),
                   ("duration",): (1, "{0}")}
# a day-time duration FEEL writes `duration("PT1H30M")`: its parts (a calendar period, P1M or P1Y, is no fixed length)
_DAY_TIME = re.compile(r"(-)?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")
# (FEEL's `string join` leaves out null items; a list item that is no string stays an error, an incident. all(),
# any(), sum(), min() and max() take one list, as Camunda 8's modeler writes them. string() of null is null, of a
# boolean `true`/`false`; matches() finds the pattern anywhere in the text, as XPath's fn:matches; is defined(x) is
# whether the data holds x at all, None too: the sandbox's is_defined("x"))


class _Feel(_Parser):
    """A FEEL subset: if/then/else, or, and, one comparison, + -, * /, unary -, paths, calls, a list's item
    by its position and a list filtered by a condition."""

    filtering = 0  # how many `list[...]` are open: a name is the innermost item's entry (`item` the item itself)

    def expression(self) -> Node:
        self.nested()
        if self.at("if"):
            self.take()
            condition = self.expression()
            self.expect("then")
            then = self.expression()
            self.expect("else")
            node = _node("ternary", None, (condition, then, self.expression()))
        else:
            node = self.disjunction()
        self.depth -= 1
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.at("or"):
            self.take()
            node = _combine("||", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.comparison()
        while self.at("and"):
            self.take()
            node = _combine("&&", node, self.comparison())
        return node

    def comparison(self) -> Node:
        node = self.additive()
        if self.token.kind == "op" and self.token.text in ("=", "!=", "<", ">", "<=", ">="):
            op = self.take().text
            if op == "=" and self.at("="):
                raise ExpressionRefused(said("FEEL compares with one =, not ==: write a = b"))
            node = _combine("==" if op == "=" else op, node, self.additive())
        if self.token.kind == "name" and self.token.text in _FEEL_REFUSED_WORDS:
            raise ExpressionRefused(_not_translated(_FEEL_REFUSED_WORDS[self.token.text]))
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.token.kind == "op" and self.token.text in ("+", "-"):
            op = self.take().text
            node = _combine(op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.token.kind == "op" and self.token.text in ("*", "/"):
            op = self.take().text
            node = _combine(op, node, self.unary())
        return node

    def unary(self) -> Node:
        self.nested()
        if self.token.kind == "op" and self.token.text == "-":
            self.take()
            node = _node("unary", "-", (self.unary(),))
        else:
            node = self.postfix()
        self.depth -= 1
        return node

    def postfix(self) -> Node:
        node = self.primary()
        while self.at(".", "["):
            if self.take().text == "[":
                node = self.bracket(node)
                continue
            name = self.take()
            if name.kind != "name":
                raise ExpressionRefused(said("expected a name after '.' %(where)s", where=self.where()))
            if name.text in _REFLECTION or name.text.startswith("__"):
                raise ExpressionRefused(said("reflection (%(name)s) is refused", name=name.text))
            if node.kind in ("filter", "pluck"):  # a path of a filtered list is the path of each item
                node = _node("pluck", name.text, (node,))
                continue
            node = _node("key", None, (node, _node("const", name.text)))
        return node

    def bracket(self, listed: Node) -> Node:
        """After `[`: a list's item by its position (`orders[1]`; FEEL counts from 1, -1 is the last), the items
        for which a condition holds (`orders[amount > 100]`, `scores[item >= 60]`, a filter in a filter's condition
        too), or, for anything else, what it gives when it runs: a number a position (`results[loopCounter]`)."""
        if self.filtering >= MAX_FILTERS:
            raise ExpressionRefused(said("filters nested more than %(most)d deep are not translated", most=MAX_FILTERS))
        self.filtering += 1
        try:
            inner = self.expression()
        finally:
            self.filtering -= 1
        self.expect("]")
        position = _position(inner)
        if position is not None:
            return _node("index", position, (listed,))
        if _is_condition(inner):
            return _node("filter", self.filtering + 1, (listed, inner))
        return _node("at", None, (listed, _outward(inner)))

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "num":
            return _number(token.text)
        if token.kind == "str":
            return _node("const", token.text)
        if token.kind == "op" and token.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        if token.kind == "op" and token.text == "[":
            return _node("list", None, tuple(self.items("]")))
        if token.kind == "op" and token.text == "{":
            return self.context()
        if token.kind == "name":
            word = token.text
            if word in ("true", "false", "null"):
                return _node("const", {"true": True, "false": False, "null": None}[word])
            if word in _FEEL_REFUSED_WORDS:
                raise ExpressionRefused(_not_translated(_FEEL_REFUSED_WORDS[word]))
            if word in ("and", "or", "then", "else", "if"):
                raise ExpressionRefused(said("%(word)r cannot stand here", word=word))
            words = [word]
            while self.token.kind == "name" and not self.at("and", "or", "then", "else", *_FEEL_REFUSED_WORDS):
                words.append(self.take().text)  # FEEL's names of several words: `starts with`
            if self.at("("):
                return self.call(tuple(words))
            if len(words) > 1:
                raise ExpressionRefused(said("the name %(name)r has spaces: FEEL allows it, the translation does not "
                                             "(name the variable without spaces)", name=" ".join(words)))
            if self.filtering:  # in a filter: the item (`item`), or its entry, else the variable of that name
                if word == "item":
                    return _node("raw", filter_item(self.filtering))
                return _node("entry", (_variable(word), self.filtering))
            return _node("name", _variable(word))
        if token.kind == "end":
            raise ExpressionRefused(said("the expression ends too early"))
        raise ExpressionRefused(said("unexpected %(token)r", token=token.text))

    def items(self, closing: str) -> list[Node]:
        """The comma-separated expressions up to `closing` (taken): a list's items."""
        found: list[Node] = []
        while not self.at(closing):
            found.append(self.expression())
            if not self.at(closing):
                self.expect(",")
        self.take()
        return found

    def context(self) -> Node:
        """A FEEL context, `{name: value, "a key": value}`: a map."""
        entries: list[Node] = []
        while not self.at("}"):
            key = self.take()
            if key.kind not in ("name", "str"):
                raise ExpressionRefused(said("a context's key is a name or a string %(where)s", where=self.where()))
            self.expect(":")
            entries += [_node("const", key.text), self.expression()]
            if not self.at("}"):
                self.expect(",")
        self.take()
        keys = [e.value for e in entries[::2]]
        if len(set(keys)) < len(keys):
            raise ExpressionRefused(said("a context names a key twice"))
        return _node("map", None, tuple(entries))

    def call(self, words: tuple[str, ...]) -> Node:
        self.take()  # (
        args: list[Node] = []
        while not self.at(")"):
            args.append(self.expression())
            if not self.at(")"):
                self.expect(",")
        self.take()
        name = " ".join(words)
        if words == ("not",):
            if len(args) != 1:
                raise ExpressionRefused(_takes("not", 1, len(args)))
            return _node("unary", "not", (args[0],))
        if words == ("is", "defined"):  # whether the data holds the variable: the sandbox's is_defined("x")
            if len(args) != 1:
                raise ExpressionRefused(_takes(name, 1, len(args)))
            if args[0].kind != "name":
                raise ExpressionRefused(said("is defined() is translated for a variable, not a path or a value: "
                                             "test the variable, then its key"))
            return _node("call", words, (_node("const", args[0].value),))
        if words == ("duration",) and len(args) == 1:
            return _duration(args[0])
        if words not in _FEEL_FUNCTIONS:
            raise ExpressionRefused(said("the FEEL function %(name)s() is not translated; only not(), %(functions)s "
                                         "are", name=name,
                                         functions=", ".join(" ".join(w) + "()" for w in _FEEL_FUNCTIONS)))
        arity = _FEEL_FUNCTIONS[words][0]
        if len(args) != arity:
            raise ExpressionRefused(_takes(name, arity, len(args)))
        return _node("call", words, tuple(args))


FILTER_ITEM = "feel_item"  # the name a filter's comprehension gives each item
MAX_FILTERS = 3  # filters in filters' conditions, as deep as a person writes them


def filter_item(level: int) -> str:
    """The name of the item of the filter `level` deep (1: the outermost): `feel_item`, `feel_item2`..."""
    return FILTER_ITEM if level == 1 else f"{FILTER_ITEM}{level}"


FILTER_ITEMS = {filter_item(level): level for level in range(1, MAX_FILTERS + 1)}  # `unset_reads` knows them


def _entry(node: Node) -> tuple[str, int]:
    """An entry node's name and the depth of the filter it is read in."""
    value = node.value
    assert isinstance(value, tuple)  # the parser writes an entry's value as (name, depth)
    return str(value[0]), int(value[1])


def _outward(node: Node) -> Node:
    """`node`, parsed inside one more filter than it is read in, as read there: a position computed when it
    runs is read where the list is (`results[loopCounter]`: the variable, not each result's entry), as FEEL
    reads it. Every level moves out by one: an entry, an item, a filter in it."""
    if node.kind == "entry":
        name, level = _entry(node)
        return _node("entry", (name, level - 1)) if level > 1 else _node("name", name)
    if node.kind == "raw" and node.value in FILTER_ITEMS:
        depth = FILTER_ITEMS[str(node.value)]
        if depth == 1:
            raise ExpressionRefused(said("'item' names a filter's item; here it is a position (list[item])"))
        return _node("raw", filter_item(depth - 1))
    value = int(str(node.value)) - 1 if node.kind == "filter" else node.value
    return _node(node.kind, value, tuple(_outward(a) for a in node.args))


def _position(node: Node) -> int | None:
    """The position `[1]`, `[-1]` reads, when it is a whole number written in the diagram (not 0)."""
    sign = 1
    if node.kind == "unary" and node.value == "-":
        node, sign = node.args[0], -1
    if node.kind == "const" and isinstance(node.value, int) and not isinstance(node.value, bool) and node.value:
        return sign * node.value
    return None


_CONDITION_CALLS = frozenset({("contains",), ("list", "contains"), ("starts", "with"), ("ends", "with"), ("matches",),
                              ("all",), ("any",), ("is", "defined")})


def _is_condition(node: Node) -> bool:
    """Whether the expression is true or false whatever it reads (a comparison, a test, their and/or/not)."""
    if node.kind in ("compare", "empty") or (node.kind == "const" and isinstance(node.value, bool)):
        return True
    if node.kind == "binary" and node.value in ("and", "or"):
        return all(_is_condition(a) for a in node.args)
    if node.kind == "unary" and node.value == "not":
        return True
    return node.kind == "call" and node.value in _CONDITION_CALLS


def _duration(argument: Node) -> Node:
    """FEEL's `duration("PT1H")` of a text written in the diagram, as the `timedelta` it is."""
    text = argument.value if argument.kind == "const" and isinstance(argument.value, str) else None
    found = _DAY_TIME.fullmatch(text.strip()) if text is not None else None
    if found is None or not any(found.groups()[1:]):
        raise ExpressionRefused(said("duration() is translated for a day-time duration written in the diagram "
                                     "(duration(\"PT1H\")); a calendar period (P1M, P1Y) or a computed one is not"))
    sign, weeks, days, hours, minutes, seconds = found.groups()
    total = (int(weeks or 0) * 7 + int(days or 0)) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 \
        + float(seconds or 0)
    return _node("call", ("duration",), (_node("raw", f"timedelta(seconds={-total if sign else total!r})"),))


def _variable(name: str) -> str:
    if not name.isidentifier():
        raise ExpressionRefused(said("%(name)r is not a variable name", name=name))
    if name.startswith("_"):
        raise ExpressionRefused(said("the name %(name)r starts with '_', which the sandbox does not allow", name=name))
    if keyword.iskeyword(name):
        raise ExpressionRefused(said("the name %(name)r is a Python keyword: rename the variable", name=name))
    return name


def _number(text: str) -> Node:
    if len(text) > 40:
        raise ExpressionRefused(said("the number %(start)s... is too long", start=text[:20]))
    if re.fullmatch(r"\d+", text):
        return _node("const", int(text))
    value = float(text)
    if not math.isfinite(value):
        raise ExpressionRefused(said("the number %(number)s is too large", number=text))
    return _node("const", value)


def _combine(op: str, left: Node, right: Node) -> Node:
    if op in ("==", "!=", "<", ">", "<=", ">="):
        return _node("compare", op, (left, right))
    return _node("binary", {"&&": "and", "||": "or"}.get(op, op), (left, right))


# -- writing Python ---------------------------------------------------------------------------
# Python's precedence, from the lowest: a if c else b, or, and, not, comparisons, + -, * / %, unary -.
_PRECEDENCE = {"ternary": 0, "or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6,
               "neg": 7}
_ATOM = 9


def _precedence(node: Node) -> int:
    if node.kind == "ternary":
        return 0
    if node.kind == "binary":
        return _PRECEDENCE[str(node.value)]
    if node.kind == "unary":
        return 3 if node.value == "not" else 7
    if node.kind in ("compare", "empty"):
        return 4
    if node.kind == "call":
        template = _template(node)
        return 4 if (" in " in template or " == " in template) else _ATOM
    return _ATOM


def _template(node: Node) -> str:
    if isinstance(node.value, tuple):
        return _FEEL_FUNCTIONS[node.value][1]
    return _METHODS[str(node.value)][1]


def _wrap(node: Node, above: int, strictly: bool = False) -> str:
    """`node` as Python, in parentheses when its precedence is lower than `above` (or equal, if `strictly`)."""
    text = python(node)
    mine = _precedence(node)
    return f"({text})" if mine < above or (strictly and mine == above) else text


def _argument(template: str, n: int, node: Node) -> str:
    """Argument `n` of a call's template: an atom before `.method()`, as it is inside `f(...)`, an
    operand of `in` or `==` otherwise."""
    if f"{{{n}}}." in template:
        return _wrap(node, _ATOM)
    if f"({{{n}}})" in template:
        return python(node)
    return _wrap(node, 4, strictly=True)


def python(node: Node) -> str:
    """The Python expression for a tree."""
    kind, args = node.kind, node.args
    if kind in ("name", "raw"):  # raw: Python the translation wrote itself (a duration's timedelta)
        return str(node.value)
    if kind == "const":
        return repr(node.value)
    if kind == "key":  # a property (`a.b`, `a['b']`) of a map, null when it has none or the map is null, as in
        # EL and FEEL (KeyError was an incident where Camunda reads null); an index of a list stays an index
        if args[1].kind == "const" and isinstance(args[1].value, str):
            return f"({python(args[0])} or {{}}).get({python(args[1])})"
        return f"{_wrap(args[0], _ATOM)}[{python(args[1])}]"
    if kind == "entry":  # a name in a filter: the item's entry of that name, else an outer filter's item's, else
        # the variable
        name, level = _entry(node)
        text = name
        for outer in range(1, level + 1):
            item = filter_item(outer)
            text = f"({item}[{name!r}] if isinstance({item}, dict) and {name!r} in {item} else {text})"
        return text
    if kind == "index":  # FEEL counts from 1 and -1 is the last; past either end (or of null) is null
        position = int(str(node.value))
        start, stop = (position - 1, position) if position > 0 else (position, position + 1 or None)
        return f"(({_wrap(args[0], 0, strictly=True)} or [])[{start}:{stop}] or [None])[0]"
    if kind == "filter":
        item = filter_item(int(str(node.value)))
        return f"[{item} for {item} in ({_wrap(args[0], 0, strictly=True)} or []) if {_wrap(args[1], 0, strictly=True)}]"
    if kind == "at":  # a position computed when it runs: a whole number reads that item (as `index`), true all of
        # them, false none; anything else, or a list that is null, is null
        at, items = "feel_at", "feel_list"
        whole = f"(isinstance({at}, int) or isinstance({at}, float) and {at}.is_integer())"
        pick = (f"{items}[int({at}) - 1] if 0 < {at} <= len({items}) else {items}[int({at})] "
                f"if 0 < -{at} <= len({items}) else None")
        return (f"[None if {items} is None else ({items} if {at} is True else [] if {at} is False else ({pick}) "
                f"if {whole} else None) "
                f"for {items} in [{python(args[0])}] for {at} in [{python(args[1])}]][0]")
    if kind == "pluck":
        return f"[({FILTER_ITEM} or {{}}).get({str(node.value)!r}) for {FILTER_ITEM} in {_wrap(args[0], _ATOM)}]"
    if kind == "unary":
        if node.value == "not":
            return f"not {_wrap(args[0], 3)}"
        return f"-{_wrap(args[0], 7)}"
    if kind == "empty":
        return f"{_wrap(args[0], 4, strictly=True)} in (None, '', [], {{}})"
    if kind == "ternary":
        condition, then, otherwise = args
        return f"{_wrap(then, 0, strictly=True)} if {_wrap(condition, 0, strictly=True)} else {_wrap(otherwise, 0)}"
    if kind == "compare":
        left, right = args
        if node.value in ("==", "!=") and _NULL in (left, right):
            other = right if left == _NULL else left
            return f"{_wrap(other, 4, strictly=True)} {'is' if node.value == '==' else 'is not'} None"
        return f"{_wrap(left, 4, strictly=True)} {node.value} {_wrap(right, 4, strictly=True)}"
    if kind == "binary":
        mine = _PRECEDENCE[str(node.value)]
        return f"{_wrap(args[0], mine)} {node.value} {_wrap(args[1], mine, strictly=True)}"
    if kind == "call":
        template = _template(node)
        return template.format(*(_argument(template, n, a) for n, a in enumerate(args)))
    if kind == "list":
        return "[" + ", ".join(python(a) for a in args) + "]"
    if kind == "map":
        return "{" + ", ".join(f"{python(k)}: {python(v)}" for k, v in zip(args[::2], args[1::2], strict=True)) + "}"
    raise AssertionError(kind)  # pragma: no cover - every kind is written above


# -- entry points -----------------------------------------------------------------------------
def _checked(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise ExpressionRefused(said("the expression of %(length)s characters is longer than %(most)s",
                                     length=f"{len(text):,}", most=f"{MAX_TEXT:,}"))
    return text


def is_juel(text: str) -> bool:
    """Whether `text` holds a JUEL expression (`${...}` or `#{...}` anywhere in it)."""
    return "${" in text or "#{" in text


def _juel_at(text: str, start: int) -> tuple[Node, int]:
    """The JUEL expression that starts after `${` at `start`, and the index after its `}`."""
    tokens, end = _tokens(text, start, feel=False)
    if tokens[-1].text != "}":
        raise ExpressionRefused(said("the expression has no closing '}'"))
    parser = _Juel(tokens)
    node = parser.expression()
    if not parser.at("}"):
        raise ExpressionRefused(said("unexpected %(token)r in the expression", token=parser.token.text))
    return node, end


def juel(text: str) -> str:
    """The Python for one whole JUEL expression, `${...}` or `#{...}` (surrounding blanks ignored)."""
    source = _checked(text).strip()
    if not source.startswith(("${", "#{")):
        raise ExpressionRefused(said("a JUEL expression starts with ${ or #{"))
    node, end = _juel_at(source, 2)
    if source[end:].strip():
        raise ExpressionRefused(said("text around ${...} makes a text, not a condition"))
    return python(node)


def juel_text(text: str) -> str:
    """The Python for a JUEL text template (`PT${minutes}M`): its literal parts and expressions
    joined as a string; one whole expression stays as it is."""
    source = _checked(text).strip()
    if source.startswith(("${", "#{")):
        node, end = _juel_at(source, 2)
        if not source[end:].strip():
            return python(node)
    parts: list[str] = []
    literal: list[str] = []
    i, marker = 0, None
    while i < len(source):
        if source.startswith("\\${", i) or source.startswith("\\#{", i):
            literal.append(source[i + 1:i + 3])
            i += 3
            continue
        if source.startswith(("${", "#{"), i):
            if marker is not None and source[i] != marker:
                raise ExpressionRefused(said("a text mixes ${...} and #{...}"))
            marker = source[i]
            if literal:
                parts.append(repr("".join(literal)))
                literal = []
            node, i = _juel_at(source, i + 2)
            parts.append(f"str({python(node)})")
            continue
        literal.append(source[i])
        i += 1
    if literal or not parts:
        parts.append(repr("".join(literal)))
    return " + ".join(parts)


def feel(text: str) -> str:
    """The Python for a FEEL expression, with or without Camunda 8's leading `=`."""
    source = _checked(text).strip()
    if source.startswith("="):
        source = source[1:]
    tokens, _ = _tokens(source, 0, feel=True)
    parser = _Feel(tokens)
    node = parser.expression()
    if parser.token.kind != "end":
        raise ExpressionRefused(said("unexpected %(token)r in the expression", token=parser.token.text))
    return python(node)


__all__ = ["ExpressionRefused", "feel", "is_juel", "juel", "juel_text", "python"]
