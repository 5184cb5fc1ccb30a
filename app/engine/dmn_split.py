"""The import layer for DMN: one document per decision, so every decision of a file can be called.

SpiffWorkflow's DMN reader takes the first decision of a document and nothing else, so a file drawn
in Camunda Modeler with several decisions (a decision requirements graph) lost all but one of them.
`split` makes one copy of the file per decision, holding that decision and every definitions-level
item it may need (item definitions, input data, knowledge sources, the diagram), and leaves the
other decisions out; the parser reads each copy as its own decision, while the file itself stays
what is deployed.

What Loanflow cannot evaluate is refused, naming the decision:

- a decision that requires one this file does not hold, or requires itself through others (a
  decision's requirements are evaluated first, from the same file: `decision_logic`), or one that
  Loanflow cannot evaluate;
- a decision that is not a decision table (a literal expression, a context, an invocation):
  SpiffWorkflow's engine evaluates decision tables only, and fails on anything else when a process
  reaches it;
- a hit policy of no meaning, PRIORITY or OUTPUT ORDER whose output values are no literals (without any, a
  warning: the rules rank alike, as Camunda 8 takes them), an aggregator on a
  policy other than COLLECT, or on a table with more than one output.
"""
from __future__ import annotations

import copy

from lxml import etree

from app.engine import decision_logic, feel_tests
from app.engine.errors import DiagramProblem
from app.engine.said import parts, said
from app.engine.xml import source_line as _line
from app.engine.xml import unique_id


def decision_problems(decision: etree._Element, filename: str, ids: frozenset[str] = frozenset()
                       ) -> list[DiagramProblem]:
    """Why Loanflow cannot evaluate this decision, if it cannot (see the module's docstring); `ids` are the
    decisions of its file."""
    ns = f"{{{etree.QName(decision).namespace}}}"
    decision_id = decision.get("id")
    problems = []
    for needed in decision_logic.required_of(decision):
        if needed not in ids:
            problems.append(DiagramProblem(
                filename, decision_id, said("the decision %(decision)s requires the decision %(needed)s "
                                            "(informationRequirement), which this file does not hold: Loanflow "
                                            "evaluates a decision's requirements from its own file",
                                            decision=decision_id, needed=needed), _line(decision)))
    table = decision.find(f"{ns}decisionTable")
    if table is None:
        kinds = [etree.QName(c).localname for c in decision if isinstance(c.tag, str)
                 and etree.QName(c).localname not in ("description", "question", "allowedAnswers", "variable",
                                                      "extensionElements", "informationRequirement",
                                                      "knowledgeRequirement", "authorityRequirement")]
        problems.append(DiagramProblem(
            filename, decision_id, said("the decision %(decision)s is a %(kind)s, not a decision table: Loanflow "
                                        "evaluates decision tables only", decision=decision_id, kind=kinds[0])
            if kinds else said("the decision %(decision)s is empty, not a decision table: Loanflow evaluates decision "
                               "tables only", decision=decision_id), _line(decision)))
        return problems
    return problems + _policy_problems(table, decision_id, filename)


def _policy_problems(table: etree._Element, decision_id: str | None, filename: str) -> list[DiagramProblem]:
    """A hit policy or aggregator Loanflow does not evaluate (Camunda 7's set: `decision_logic`)."""
    policy = (table.get("hitPolicy") or "UNIQUE").strip().upper()
    aggregation = decision_logic.aggregation_of(table.getparent())
    outputs = [c for c in table if isinstance(c.tag, str) and etree.QName(c).localname == "output"]
    why = None
    if policy not in decision_logic.HIT_POLICIES:
        why = said("its hit policy %(policy)s is not one Loanflow evaluates: use %(policies)s", policy=policy,
                   policies=parts(list(decision_logic.HIT_POLICIES)))
    elif aggregation is not None and aggregation not in decision_logic.AGGREGATIONS:
        why = said("its aggregator %(aggregation)s is not one of %(aggregations)s", aggregation=aggregation,
                   aggregations=parts(list(decision_logic.AGGREGATIONS)))
    elif aggregation is not None and policy != "COLLECT":
        why = said("it has the aggregator %(aggregation)s with the hit policy %(policy)s: an aggregator adds up "
                   "the rules COLLECT keeps", aggregation=aggregation, policy=policy)
    elif aggregation is not None and len(outputs) != 1:
        why = said("it adds up its rules' outputs (COLLECT %(aggregation)s) and has %(count)d outputs: an "
                   "aggregator takes a table of one output", aggregation=aggregation, count=len(outputs))
    if why is None and policy in ("PRIORITY", "OUTPUT ORDER"):
        try:
            decision_logic.priorities_of(table.getparent())
        except decision_logic.OutputValuesUnread as exc:
            why = exc.args[0]
    if why is None:
        return []
    return [DiagramProblem(filename, decision_id, said("the decision %(decision)s cannot be evaluated: %(why)s",
                                                       decision=decision_id, why=why), _line(table))]


def _reached(requires: dict[str | None, list[str]], start: str | None, targets: set[str | None]) -> str | None:
    """The first of `targets` that `start` requires, however deep, or None."""
    stack, seen = list(requires.get(start, [])), set()
    while stack:
        current = stack.pop()
        if current in targets:
            return current
        if current not in seen:
            seen.add(current)
            stack += requires.get(current, [])
    return None


def _cycles(decisions: list[etree._Element], requires: dict[str | None, list[str]],
            filename: str) -> list[DiagramProblem]:
    """A decision that requires itself, through the decisions it requires."""
    return [DiagramProblem(filename, d.get("id"), said(
        "the decision %(decision)s requires itself, through the decisions it requires: a requirement is evaluated "
        "before the decision that needs it, so a circle never starts", decision=d.get("id")), _line(d))
        for d in decisions if _reached(requires, d.get("id"), {d.get("id")}) is not None]


def _needing_refused(decisions: list[etree._Element], requires: dict[str | None, list[str]],
                     refused: set[str | None], filename: str) -> list[DiagramProblem]:
    """A decision whose requirement (however deep) is refused cannot be evaluated either."""
    problems = []
    for decision in decisions:
        needed = None if decision.get("id") in refused else _reached(requires, decision.get("id"), refused)
        if needed is not None:
            problems.append(DiagramProblem(filename, decision.get("id"), said(
                "the decision %(decision)s requires the decision %(needed)s, which Loanflow cannot evaluate (see its "
                "own problem)", decision=decision.get("id"), needed=needed), _line(decision)))
    return problems


def split(root: etree._Element, filename: str) -> tuple[list[tuple[str, etree._Element]], list[DiagramProblem]]:
    """One document per decision of `root` that Loanflow can evaluate, as (decision id, document), and
    the problems of the others. A file with one decision is returned as it is."""
    ns = f"{{{etree.QName(root).namespace}}}"
    decisions = root.findall(f"{ns}decision")
    ids = frozenset(d.get("id") or "" for d in decisions)
    requires = {d.get("id"): decision_logic.required_of(d) for d in decisions}
    problems: list[DiagramProblem] = _cycles(decisions, requires, filename)
    refused = {p.element_id for p in problems}
    for decision in decisions:
        found = decision_problems(decision, filename, ids)
        if found:
            problems += found
            refused.add(decision.get("id"))
    problems += _needing_refused(decisions, requires, refused & set(requires), filename)
    refused |= {p.element_id for p in problems}
    documents: list[tuple[str, etree._Element]] = []
    for index, decision in enumerate(decisions):
        if decision.get("id") in refused:
            continue
        if len(decisions) == 1:
            documents.append((decision.get("id") or "", root))
            continue
        document = copy.deepcopy(root)
        for position, other in enumerate(document.findall(f"{ns}decision")):
            if position != index:
                document.remove(other)
        documents.append((decision.get("id") or "", document))
    return documents, problems


_NEEDS_ID = ("decision", "decisionTable", "input", "output", "rule", "inputEntry", "outputEntry")


def _ranked(decision: etree._Element) -> bool:
    """Whether an output of the decision's table lists the values its rules are ranked by (unreadable: refused)."""
    try:
        return any(decision_logic.priorities_of(decision))
    except decision_logic.OutputValuesUnread:
        return True  # refused by `decision_problems`, which says why


def prepare(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """What the import changes or reads in a file's decisions beyond their letter, before they are split
    (warnings): an element of a table drawn without an id gets one (SpiffWorkflow's reader needs it,
    Camunda Modeler leaves a decision table without one); an input entry in FEEL that SpiffWorkflow would
    misread is translated (`feel_tests`); a UNIQUE table whose rules go from the specific to the general
    is read as FIRST (`_covering`)."""
    ns = f"{{{etree.QName(root).namespace}}}"
    found = []
    taken = {str(node.get("id")) for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    for decision in root.findall(f"{ns}decision"):
        given = []
        for node in decision.iter(*(f"{ns}{name}" for name in _NEEDS_ID)):
            if not node.get("id"):
                node.set("id", unique_id(f"{decision.get('id') or 'decision'}_{etree.QName(node).localname}", taken))
                given.append(node.get("id"))
        if given:
            found.append(DiagramProblem(filename, decision.get("id"), said(
                "the decision %(decision)s has elements without an id; the import gave them %(ids)s",
                decision=decision.get("id"), ids=parts(given)), _line(decision), "warning"))
        for entry in decision.iter(f"{ns}inputEntry", f"{ns}outputEntry"):
            text = entry.find(f"{ns}text")
            output = etree.QName(entry).localname == "outputEntry"
            written = text.text if text is not None else None
            python = feel_tests.translate_output(written) if output else feel_tests.translate(written)
            why = feel_tests.output_refusal(written) if output and python is None else None
            if why is not None:
                found.append(DiagramProblem(filename, entry.get("id"), said(
                    "the output entry %(entry)r cannot run: it is no Python, and no FEEL Loanflow translates: "
                    "%(why)s", entry=(written or "").strip(), why=why), _line(entry)))
            if text is not None and python is not None:
                found.append(DiagramProblem(filename, entry.get("id"), said(
                    "the %(entry_kind)s %(entry)r is FEEL; the import runs it as %(python)r",
                    entry_kind=said("output entry") if output else said("input entry"), entry=text.text.strip(),
                    python=python), _line(entry), "warning"))
                text.text = python
        table = decision.find(f"{ns}decisionTable")
        policy = (table.get("hitPolicy") or "UNIQUE").strip().upper() if table is not None else ""
        if table is not None and policy in ("PRIORITY", "OUTPUT ORDER") and not _ranked(decision):
            found.append(DiagramProblem(filename, decision.get("id"), said(
                "the decision %(decision)s has the hit policy %(policy)s, which ranks the matching rules by the "
                "values each output lists, and its outputs list none: all rank alike, so the first rule that "
                "matches wins, as Camunda 8 takes it; list the values on an output (Output values), the one that "
                "wins first", decision=decision.get("id"), policy=policy), _line(table), "warning"))
        if table is None or policy != "UNIQUE":
            continue
        covering = _covering(table, ns)
        if covering is not None:
            table.set("hitPolicy", "FIRST")
            found.append(DiagramProblem(filename, decision.get("id"), said(
                "the decision %(decision)s is UNIQUE, but its rule %(later)d matches whatever its rule %(earlier)d "
                "matches: its rules go from the specific to the general, so Loanflow takes the first rule that "
                "matches, as SpiffWorkflow does (the hit policy FIRST; Camunda 7 would refuse to decide when both "
                "match); set the hit policy FIRST to say so in the file", decision=decision.get("id"),
                later=covering[1], earlier=covering[0]), _line(table), "warning"))
    return found


def _covering(table: etree._Element, ns: str) -> tuple[int, int] | None:
    """(earlier, later): the first pair of rules (numbered from 1) where the later one matches whatever the
    earlier one does — each of its input entries is empty, `-`, or the earlier rule's own — else None."""
    entries = [[(entry.findtext(f"{ns}text") or "").strip() for entry in rule.findall(f"{ns}inputEntry")]
               for rule in table.findall(f"{ns}rule")]
    for later, wide in enumerate(entries):
        for earlier, narrow in enumerate(entries[:later]):
            if len(wide) == len(narrow) and all(w in ("", "-") or w == n for w, n in zip(wide, narrow, strict=True)):
                return earlier + 1, later + 1
    return None
