"""Decision tables evaluated as Camunda 7 evaluates them: every hit policy it has, and a decision's
requirements (issue 17).

SpiffWorkflow's DMN engine knows two hit policies. Under UNIQUE it takes the first rule that matches
and never looks further, so a table whose rules overlap gives the first answer where Camunda 7 (and
the DMN standard) say the table is wrong; every other policy but COLLECT is taken as "the first match",
a COLLECT with an aggregator (SUM, MIN, MAX, COUNT) gives the list it should add up, and a decision that
requires another (a decision requirements graph, Camunda's "dinner decisions") reads a value nobody
computed. `DecisionTableEngine` is the engine every business-rule task runs instead (the parser's
`get_engine`, and the serializer for a stored spec):

| hit policy | the result | refused when a process reaches it (an incident naming the task) |
|---|---|---|
| UNIQUE | the one rule that matches | more than one matches |
| ANY | the first rule that matches | rules that match give different outputs |
| FIRST | the first rule that matches, in rule order | |
| PRIORITY | the matching rule whose outputs come first in the values each output lists (`outputValues`: `"HIGH","MEDIUM","LOW"`), as Camunda 8 and the DMN standard rank them; rules of one rank in rule order | |
| RULE ORDER, COLLECT | every rule that matches, in rule order (each output a list of values) | |
| OUTPUT ORDER | every rule that matches, ranked as PRIORITY ranks them | |
| COLLECT with SUM, MIN, MAX | each matching rule's one output, added up (or the least, the greatest); none: no result | a rule with more than one output, a value that is no number |
| COLLECT with COUNT | how many rules matched (0 too) | a rule with more than one output |

Camunda 7 refuses PRIORITY and OUTPUT ORDER; Camunda 8 evaluates them, and so does Loanflow. A table under one
of them whose outputs list values that are no literals is refused at validate (`dmn_split`); one whose outputs list
none ranks its rules alike, the first match first, as Camunda 8 does, said in a warning. A UNIQUE
table whose rules go from the specific to the general (a later rule matches whatever an earlier one
matches, "otherwise" last: SpiffWorkflow took the first match, and SpiffArena's tables are written so)
is read as FIRST by the import, which says so (`dmn_split.prepare`).

A decision's requirements (`informationRequirement/requiredDecision`, in the same file) are evaluated
first, each once, deepest first, and their results put where the requiring decision's expressions read
them, by output name, as Camunda 7 does: one result of a table that keeps one rule, each output's value;
several results, or a table that keeps a list, each output's list of values; none, nothing. Those
values are the evaluation's own: they never become variables of the instance.
"""
from __future__ import annotations

import ast
from collections.abc import Sequence
from decimal import Decimal
from itertools import islice
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.serializer.task_spec import BusinessRuleTaskConverter

from app.engine.errors import InstanceFault
from app.engine.juel import ExpressionRefused, feel
from app.engine.said import parts, said

HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "PRIORITY", "RULE ORDER", "OUTPUT ORDER", "COLLECT")
_BY_PRIORITY = ("PRIORITY", "OUTPUT ORDER")  # the matching rules in the order of their outputs' values
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
_ONE = ("UNIQUE", "FIRST", "ANY", "PRIORITY")  # policies that keep one rule


class DecisionFault(InstanceFault, SpiffWorkflowException):
    """A decision that cannot give its result for this instance's data; SpiffWorkflow's business-rule task
    passes it on as it is (a SpiffWorkflowException), so the incident keeps its said reason."""


class _Context:
    """The task as a decision's expressions see it: its data, with the required decisions' results."""

    def __init__(self, task: Any, data: dict[str, Any]) -> None:
        self._task = task
        self.data = data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)


class DecisionTableEngine(DMNEngine):
    """One decision table under its hit policy and aggregator, after the decisions it requires."""

    def __init__(self, decision_table: Any, aggregation: str | None = None,
                 required: Sequence[DecisionTableEngine] = (), decision_id: str | None = None,
                 priorities: Sequence[Sequence[Any] | None] = ()) -> None:
        super().__init__(decision_table)
        self.aggregation = aggregation
        self.priorities = [list(p) if p is not None else None for p in priorities]  # each output's values, in order
        self.required = list(required)  # deepest first, each once; each one's own requirements come before it
        self.decision_id = decision_id or str(decision_table.id)  # the decision's id, as the file names it

    @property
    def keeps_list(self) -> bool:
        """Whether the result is a list of the matching rules (RULE ORDER, COLLECT without an aggregator)."""
        return self.decision_table.hit_policy in ("RULE ORDER", "OUTPUT ORDER", "COLLECT") and not self.aggregation

    def decide(self, task: Any) -> list[Any]:
        """The rules the hit policy keeps, in rule order (its requirements evaluated first)."""
        return self._kept(self._with_required(task), task)

    def outputs(self, task: Any) -> list[dict[str, Any]]:
        """The decision's result: the outputs of each rule the hit policy keeps (aggregated: one map)."""
        context = self._with_required(task)
        rules = self._kept(context, task)
        found = [dict(rule.output_as_dict(context)) for rule in rules]
        policy = self.decision_table.hit_policy
        if policy == "ANY" and any(outputs != found[0] for outputs in found[1:]):
            raise DecisionFault(said(
                "the decision %(decision)s has the hit policy ANY, and the rules that match this instance's data "
                "(rules %(rules)s) give different outputs: make them give the same, or choose the hit policy FIRST",
                decision=self.decision_id, rules=_rows(rules)), _element(task))
        if policy in _BY_PRIORITY:
            found.sort(key=self._priority)  # stable: rules of one priority stay in rule order
        if policy in _ONE:
            return found[:1]
        if self.aggregation:
            return self._aggregated(found, task)
        return found

    def _kept(self, context: Any, task: Any) -> list[Any]:
        """The rules that match, as far as the hit policy looks: FIRST stops at the first; UNIQUE refuses a
        second (before any output is evaluated)."""
        matching = (rule for rule in self.decision_table.rules if self._DMNEngine__check_rule(rule, context))
        if self.decision_table.hit_policy == "FIRST":
            return list(islice(matching, 1))
        rules = list(matching)
        if self.decision_table.hit_policy == "UNIQUE" and len(rules) > 1:
            raise DecisionFault(said(
                "the decision %(decision)s has the hit policy UNIQUE, and %(count)d of its rules match this "
                "instance's data (rules %(rules)s): make its rules exclusive, or choose the hit policy FIRST or "
                "COLLECT", decision=self.decision_id, count=len(rules), rules=_rows(rules)), _element(task))
        return rules

    def _priority(self, outputs: dict[str, Any]) -> tuple[int, ...]:
        """A rule's rank under PRIORITY and OUTPUT ORDER: for each output that lists its values, the place of the
        rule's value in that list (first is highest), as the DMN standard and Camunda 8 rank them."""
        values = list(outputs.values())
        return tuple(_place(ranked, values[i] if i < len(values) else None)
                     for i, ranked in enumerate(self.priorities) if ranked is not None)

    def result(self, task: Any) -> dict[str, Any]:
        """What a business-rule task without a result variable merges into the task's data: the kept rule's
        outputs; for a list, each output's values (SpiffWorkflow's shape for COLLECT)."""
        found = self.outputs(task)
        if self.keeps_list:
            names = dict.fromkeys(name for outputs in found for name in outputs)
            return {name: [outputs.get(name) for outputs in found] for name in names}
        return found[0] if found else {}

    def _aggregated(self, found: list[dict[str, Any]], task: Any) -> list[dict[str, Any]]:
        values = []
        for outputs in found:
            if len(outputs) > 1:
                raise DecisionFault(said(
                    "the decision %(decision)s adds up its rules' outputs (COLLECT %(aggregation)s), and a rule that "
                    "matches gives %(count)d outputs (%(outputs)s): an aggregator takes one output per rule",
                    decision=self.decision_id, aggregation=self.aggregation, count=len(outputs),
                    outputs=parts(list(outputs))), _element(task))
            values += list(outputs.values())
        outputs_of_table = self.decision_table.outputs
        name = (outputs_of_table[0].name or outputs_of_table[0].label) if outputs_of_table else "result"
        if self.aggregation == "COUNT":
            return [{name: len(values)}]
        if not values:
            return []
        if not all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in values):
            raise DecisionFault(said(
                "the decision %(decision)s adds up its rules' outputs (COLLECT %(aggregation)s), and one of them is "
                "no number (%(values)s)", decision=self.decision_id, aggregation=self.aggregation,
                values=parts([repr(v) for v in values])), _element(task))
        try:
            total = sum(values) if self.aggregation == "SUM" else (min if self.aggregation == "MIN" else max)(values)
        except TypeError:  # a Decimal beside a float
            raise DecisionFault(said(
                "the decision %(decision)s adds up its rules' outputs (COLLECT %(aggregation)s), and they are numbers "
                "of kinds that do not mix (%(values)s): give every output as a decimal, or every one as a float",
                decision=self.decision_id, aggregation=self.aggregation,
                values=parts([repr(v) for v in values])), _element(task)) from None
        return [{name: total}]

    def _with_required(self, task: Any) -> Any:
        """The task as the table's expressions see it: the required decisions' results put in, as Camunda 7
        puts them (see the module)."""
        if not self.required:
            return task
        data = dict(task.data)
        for required in self.required:
            found = required.outputs(_Context(task, data))
            if len(found) == 1 and not required.keeps_list:
                data.update(found[0])
            elif found:
                for name in dict.fromkeys(n for outputs in found for n in outputs):
                    data[name] = [outputs.get(name) for outputs in found]
        return _Context(task, data)


def _rows(rules: list[Any]) -> str:
    return parts([str(rule.row_number) for rule in rules])


def _element(task: Any) -> str | None:
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)


# -- reading a decision's aggregator and requirements from its DMN document --------------------------
def _decision_node(parser: BpmnDmnParser, decision_id: str) -> Any:
    return parser.dmn_parsers[decision_id].xpath("dmn:decision[1]")[0]


def aggregation_of(decision: Any) -> str | None:
    """The aggregator of a decision element's table (`aggregation="SUM"`), upper case, or None."""
    table = next((c for c in decision if isinstance(c.tag, str) and c.tag.endswith("}decisionTable")), None)
    found = table.get("aggregation") if table is not None else None
    return found.strip().upper() if found and found.strip() else None


def _place(ranked: list[Any], value: Any) -> int:
    return next((i for i, each in enumerate(ranked) if each == value and type(each) is type(value)), len(ranked))


def priorities_of(decision: Any) -> list[list[Any] | None]:
    """Each output's values in the order its `outputValues` lists them (`"HIGH","MEDIUM","LOW"`), None for an output
    that lists none; `OutputValuesUnread` when a list is no list of literals."""
    table = next((c for c in decision if isinstance(c.tag, str) and c.tag.endswith("}decisionTable")), None)
    outputs = [] if table is None else [c for c in table if isinstance(c.tag, str) and c.tag.endswith("}output")]
    found: list[list[Any] | None] = []
    for output in outputs:
        values = next((c for c in output if isinstance(c.tag, str) and c.tag.endswith("}outputValues")), None)
        text = "" if values is None else "".join(values.itertext()).strip()
        found.append(_literals(text, output.get("name") or output.get("id") or "") if text else None)
    return found


class OutputValuesUnread(ValueError):
    """An output's listed values that are no list of literals; the message says which."""


def _literals(text: str, output: str) -> list[Any]:
    """`"HIGH","MEDIUM", 3, true` as the Python values they are (FEEL literals, a comma between them)."""
    items, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            items.append(current)
            current = ""
            continue
        current += char
    items.append(current)
    values = []
    for item in items:
        try:
            values.append(ast.literal_eval(feel(item.strip())))
        except (ExpressionRefused, ValueError, SyntaxError, MemoryError, RecursionError):
            raise OutputValuesUnread(said("the output %(output)s lists its values as %(text)r, which is no list of "
                                          "texts, numbers or booleans", output=output, text=text)) from None
    return values


def required_of(decision: Any) -> list[str]:
    """The ids of the decisions a decision element requires, in document order, each once."""
    found = []
    for requirement in decision:
        if not (isinstance(requirement.tag, str) and requirement.tag.endswith("}informationRequirement")):
            continue
        for required in requirement:
            if isinstance(required.tag, str) and required.tag.endswith("}requiredDecision"):
                found.append((required.get("href") or "").rsplit("#", 1)[-1])
    return list(dict.fromkeys(found))


def _order(parser: BpmnDmnParser, decision_id: str, visiting: tuple[str, ...], done: list[str]) -> None:
    """`done` gets each decision `decision_id` requires, deepest first, each once (cycles are refused at
    validate, `dmn_split`; here they only stop the walk)."""
    for needed in required_of(_decision_node(parser, decision_id)):
        if needed in visiting or needed in done:
            continue
        if needed not in parser.dmn_parsers:  # refused at validate; never evaluate a decision without it
            BpmnDmnParser.get_engine(parser, needed, None)  # SpiffWorkflow's refusal, naming what exists
        _order(parser, needed, (*visiting, needed), done)
        done.append(needed)


def engine_for(parser: BpmnDmnParser, decision_ref: str, node: Any) -> DecisionTableEngine:
    """The engine a business-rule task calling `decision_ref` runs (the parser's `get_engine`)."""
    table = BpmnDmnParser.get_engine(parser, decision_ref, node).decision_table  # refuses an unknown id
    required: list[str] = []
    _order(parser, decision_ref, (decision_ref,), required)
    engines = [DecisionTableEngine(BpmnDmnParser.get_engine(parser, r, node).decision_table,
                                   aggregation_of(_decision_node(parser, r)), decision_id=r,
                                   priorities=_priorities(_decision_node(parser, r))) for r in required]
    decision = _decision_node(parser, decision_ref)
    return DecisionTableEngine(table, aggregation_of(decision), engines, decision_ref, _priorities(decision))


def _priorities(decision: Any) -> list[list[Any] | None]:
    """The outputs' ranked values of a table under PRIORITY or OUTPUT ORDER (refused at validate unread)."""
    try:
        return priorities_of(decision)
    except OutputValuesUnread:
        return []


# -- a stored spec keeps the aggregator and the required decisions' tables ----------------------------
class DecisionTaskConverter(BusinessRuleTaskConverter):
    """SpiffWorkflow's business-rule task converter, keeping what `DecisionTableEngine` adds. A spec stored
    before (no "decision_logic") loads as its one table, without an aggregator or requirements, under the
    hit policy its table names."""

    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct = super().to_dict(spec)
        engine = spec.dmnEngine
        if isinstance(engine, DecisionTableEngine):
            dct["decision_logic"] = {
                "decision": engine.decision_id, "aggregation": engine.aggregation, "priorities": engine.priorities,
                "required": [{"decision": r.decision_id, "table": self.decision_table_to_dict(r.decision_table),
                              "aggregation": r.aggregation, "priorities": r.priorities} for r in engine.required]}
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        logic = dct.pop("decision_logic", None) or {}
        spec = super().from_dict(dct)
        required = [DecisionTableEngine(self.decision_table_from_dict(r["table"]), r.get("aggregation"),
                                        decision_id=r.get("decision"), priorities=r.get("priorities") or ())
                    for r in logic.get("required", [])]
        called = (getattr(spec, "extensions", None) or {}).get("calledDecisionId")
        spec.dmnEngine = DecisionTableEngine(spec.dmnEngine.decision_table, logic.get("aggregation"), required,
                                             logic.get("decision") or called, logic.get("priorities") or ())
        return spec
