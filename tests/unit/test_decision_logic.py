"""Decision tables run as Camunda 7 runs them (`app/engine/decision_logic.py`): every hit policy it has,
aggregators, and a decision's requirements evaluated first (a decision requirements graph).

Before, SpiffWorkflow's engine ran them: a UNIQUE table whose rules overlap gave its first rule's answer,
FIRST/ANY/RULE ORDER were all "the first match", COLLECT SUM gave the list it should add up, and a
decision that requires another was refused."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.errors import DiagramRejected
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine, StepOutcome
from app.engine.serializer import StateSerializer
from app.services.workflow.incident_reasons import reason_text
from tests.unit.test_runner import diagram

DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table(decision_id: str, rules: list[tuple[str, str]], policy: str = "", aggregation: str = "",
          reads: str = "score", output: str | None = None, requires: tuple[str, ...] = ()) -> str:
    """A decision of one input (`reads`) and one output (named `output`, else the decision's id)."""
    rows = "".join(f'<rule id="{decision_id}_r{n}"><inputEntry id="{decision_id}_i{n}"><text>{entry}</text></inputEntry>'
                   f'<outputEntry id="{decision_id}_o{n}"><text>{value}</text></outputEntry></rule>'
                   for n, (entry, value) in enumerate(rules))
    needs = "".join(f'<informationRequirement id="{decision_id}_needs_{r}"><requiredDecision href="#{r}"/>'
                    f'</informationRequirement>' for r in requires)
    attributes = (f' hitPolicy="{policy}"' if policy else "") + (f' aggregation="{aggregation}"' if aggregation else "")
    return (f'<decision id="{decision_id}" name="{decision_id}">{needs}<decisionTable id="{decision_id}_t"{attributes}>'
            f'<input id="{decision_id}_in"><inputExpression id="{decision_id}_ie"><text>{reads}</text></inputExpression>'
            f'</input><output id="{decision_id}_out" name="{output or decision_id}"/>{rows}</decisionTable></decision>')


def dmn(*decisions: str) -> DiagramFile:
    return DiagramFile("rules.dmn", f'<?xml version="1.0" encoding="UTF-8"?><definitions xmlns="{DMN_NS}" '
                                    f'id="defs" name="Rules" namespace="http://loanflow.local/dmn">'
                                    f'{"".join(decisions)}</definitions>'.encode())


def calling(decision_id: str, result: str = "") -> bytes:
    keep = f' camunda:resultVariable="{result}"' if result else ""
    return diagram(f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide" camunda:decisionRef="{decision_id}"{keep}
        xmlns:camunda="http://camunda.org/schema/1.0/bpmn">
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="decide"/>
    <bpmn:sequenceFlow id="f1" sourceRef="decide" targetRef="end"/>""")


def run(decision_id: str, data: dict[str, Any], *decisions: str, result: str = "",
        stored: bool = False) -> StepOutcome:
    bundle = parse_diagrams([DiagramFile("inline.bpmn", calling(decision_id, result)), dmn(*decisions)])
    process = bundle.processes["inline"]
    spec, embedded = process.spec, process.embedded
    if stored:  # as a deployed version is read back
        serializer = StateSerializer()
        spec, embedded = serializer.load_spec(serializer.dump_spec(spec, embedded))
    engine = ProcessEngine()
    return engine.advance(engine.new_workflow(spec, embedded, data))


def refusal(*decisions: str) -> list[str]:
    with pytest.raises(DiagramRejected) as refused:
        parse_diagrams([dmn(*decisions)])
    return [f"{p.element_id}: {p.reason}" for p in refused.value.problems]


OVERLAPPING = [("&gt;= 700", '"high"'), ("&gt;= 600", '"middle"'), ("-", '"any"')]
STEPS = [("&gt;= 700", '"high"'), ("&gt;= 600", '"middle"'), ("&gt;= 500", '"fair"')]
AMOUNTS = [("&gt;= 600", "100"), ("&gt;= 700", "50"), ("&gt;= 800", "25")]


# -- hit policies --------------------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "score", "expected"), [
    ("FIRST", 750, "high"), ("FIRST", 650, "middle"), ("FIRST", 100, "any"),
    ("RULE ORDER", 750, ["high", "middle", "any"]), ("COLLECT", 650, ["middle", "any"]),
])
def test_first_rule_order_and_collect_keep_the_rules_their_policy_says(policy, score, expected):
    outcome = run("level", {"score": score}, table("level", OVERLAPPING, policy))
    assert outcome.status == "completed", outcome.error
    assert outcome.data["level"] == expected


def test_a_unique_table_whose_rules_overlap_is_an_incident_naming_the_rules_not_its_first_answer(chinese):
    outcome = run("level", {"score": 750}, table("level", STEPS, "UNIQUE"))
    assert outcome.status == "error" and "level" not in outcome.data
    assert outcome.error["element_id"] == "decide"
    assert outcome.error["reason"]["code"] == "said"
    assert ("the decision level has the hit policy UNIQUE, and 3 of its rules match this instance's data "
            "(rules 1, 2, 3)") in outcome.error["reason"]["text"]
    said_in_chinese = reason_text({"reason": outcome.error["reason"]})
    assert said_in_chinese.startswith("决策 level 的命中策略是 UNIQUE，但本实例的数据同时命中了它的 3 条规则（第 1、2、3 条）")
    one = run("level", {"score": 550}, table("level", STEPS, "UNIQUE"))  # one rule matches: its answer
    assert (one.status, one.data["level"]) == ("completed", "fair")
    assert "level" not in run("level", {"score": 100}, table("level", STEPS, "UNIQUE")).data  # none: no answer


def test_a_unique_table_written_from_the_specific_to_the_general_is_read_as_first_and_the_import_says_so():
    """SpiffArena's tables go from the specific to the general under UNIQUE ("Norris" and a number, then
    "Norris" and anything, then anything): SpiffWorkflow took the first match. The import reads them as
    FIRST and says so; a UNIQUE table without such a pair stays UNIQUE (the test above)."""
    ordered = table("level", [("&gt;= 700", '"high"'), ("&lt; 300", '"low"'), ("-", '"middle"')])
    assert [run("level", {"score": s}, ordered).data["level"] for s in (750, 100, 500)] == ["high", "low", "middle"]
    bundle = parse_diagrams([dmn(ordered)])
    (note,) = [w for w in bundle.warnings if w.element_id == "level"]
    assert note.severity == "warning" and note.reason.startswith(
        "the decision level is UNIQUE, but its rule 3 matches whatever its rule 1 matches: its rules go from the "
        "specific to the general, so Loanflow takes the first rule that matches")
    assert not parse_diagrams([dmn(table("level", STEPS))]).warnings  # no such pair: nothing to say
    explicit = table("level", [("&gt;= 700", '"high"'), ("-", '"middle"')], "FIRST")
    assert not parse_diagrams([dmn(explicit)]).warnings  # already FIRST


def test_any_takes_a_match_when_all_matches_agree_and_is_an_incident_when_they_do_not():
    agreeing = table("level", [("&gt;= 700", '"ok"'), ("&gt;= 600", '"ok"'), ("&lt; 600", '"no"')], "ANY")
    assert run("level", {"score": 750}, agreeing).data["level"] == "ok"
    outcome = run("level", {"score": 750}, table("level", OVERLAPPING, "ANY"))
    assert outcome.status == "error"
    assert "has the hit policy ANY, and the rules that match this instance's data (rules 1, 2, 3) give different " \
           "outputs" in outcome.error["reason"]["text"]


@pytest.mark.parametrize(("aggregation", "score", "expected"), [
    ("SUM", 850, 175), ("SUM", 650, 100), ("MIN", 850, 25), ("MAX", 750, 100), ("COUNT", 850, 3), ("COUNT", 100, 0),
])
def test_collect_with_an_aggregator_adds_up_the_matching_rules(aggregation, score, expected):
    outcome = run("fee", {"score": score}, table("fee", AMOUNTS, "COLLECT", aggregation))
    assert outcome.status == "completed", outcome.error
    assert outcome.data["fee"] == expected


def test_an_aggregate_of_no_rule_is_no_result_and_of_decimals_stays_exact():
    assert "fee" not in run("fee", {"score": 100}, table("fee", AMOUNTS, "COLLECT", "SUM")).data
    cents = table("fee", [("&gt;= 0", 'Decimal("0.10")'), ("&gt;= 0", 'Decimal("0.20")')], "COLLECT", "SUM")
    assert run("fee", {"score": 1}, cents).data["fee"] == "0.30"  # 0.1 + 0.2 as Decimals, to the cent (as text in
    # the outcome's JSON data)


def test_an_aggregate_of_a_text_is_an_incident():
    outcome = run("fee", {"score": 1}, table("fee", [("-", '"ten"')], "COLLECT", "SUM"))
    assert outcome.status == "error" and "and one of them is no number ('ten')" in outcome.error["reason"]["text"]


@pytest.mark.parametrize(("shape", "expected"), [
    ("resultList", [{"fee": 175}]), ("singleResult", {"fee": 175}), ("singleEntry", 175), ("collectEntries", [175]),
])
def test_an_aggregated_result_kept_in_one_variable_is_camunda_7s_one_result(shape, expected):
    bundle_table = table("fee", AMOUNTS, "COLLECT", "SUM")
    content = calling("fee", "charge").replace(b'camunda:resultVariable="charge"',
                                               f'camunda:resultVariable="charge" camunda:mapDecisionResult="{shape}"'
                                               .encode())
    bundle = parse_diagrams([DiagramFile("inline.bpmn", content), dmn(bundle_table)])
    engine = ProcessEngine()
    process = bundle.processes["inline"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"score": 850}))
    assert outcome.data["charge"] == expected


# -- refused at validate -------------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "aggregation", "output", "said"), [
    ("BEST", "", "", "its hit policy BEST is not one Loanflow evaluates: use UNIQUE, FIRST, ANY, PRIORITY"),
    ("PRIORITY", "", '<outputValues><text>"A", B</text></outputValues>',
     "lists its values as '\"A\", B', which is no list of texts, numbers or booleans"),
    ("FIRST", "SUM", "", "it has the aggregator SUM with the hit policy FIRST"),
    ("COLLECT", "AVERAGE", "", "its aggregator AVERAGE is not one of SUM, MIN, MAX, COUNT"),
    ("COLLECT", "SUM", '<output id="second" name="second"/>', "has 2 outputs: an aggregator takes a table of one output"),
])
def test_a_policy_loanflow_does_not_evaluate_is_refused_naming_the_decision(policy, aggregation, output, said):
    if output.startswith("<outputValues>"):
        decision = table("fee", AMOUNTS, policy, aggregation).replace('<output id="fee_out" name="fee"/>',
                                                                     f'<output id="fee_out" name="fee">{output}</output>')
        (problem,) = refusal(decision)
        assert problem.startswith("fee: the decision fee cannot be evaluated: ") and said in problem
        return
    decision = table("fee", AMOUNTS, policy, aggregation).replace("</decisionTable>", f"{output}</decisionTable>")
    if output:
        decision = decision.replace("</outputEntry></rule>", '</outputEntry><outputEntry id="x"><text>1</text>'
                                                              "</outputEntry></rule>", 1)
    (problem,) = refusal(decision)
    assert problem.startswith("fee: the decision fee cannot be evaluated: ") and said in problem


# -- PRIORITY and OUTPUT ORDER, as Camunda 8 evaluates them (Camunda 7 refuses them) -----------------------

RISK = [("&gt;= 0", '"low"'), ("&gt;= 5", '"high"'), ("&gt;= 3", '"medium"'), ("&gt;= 9", '"high"')]


def ranked(policy: str, values: str = '"high","medium","low"') -> str:
    listed = f"<outputValues><text>{values}</text></outputValues>" if values else ""
    return table("risk", RISK, policy, reads="flags").replace('<output id="risk_out" name="risk"/>',
                                                               f'<output id="risk_out" name="risk">{listed}</output>')


@pytest.mark.parametrize("stored", [False, True])
def test_priority_keeps_the_matching_rule_whose_output_ranks_first_in_its_values(stored):
    """Before: refused at validate ("not one Loanflow evaluates (nor does Camunda 7)")."""
    for flags, risk in ((0, "low"), (4, "medium"), (6, "high"), (10, "high")):
        outcome = run("risk", {"flags": flags}, ranked("PRIORITY"), stored=stored)
        assert outcome.status == "completed", outcome.error
        assert outcome.data["risk"] == risk


@pytest.mark.parametrize("stored", [False, True])
def test_output_order_keeps_every_matching_rule_ranked_by_its_output(stored):
    outcome = run("risk", {"flags": 10}, ranked("OUTPUT ORDER"), stored=stored)
    assert outcome.status == "completed", outcome.error
    assert outcome.data["risk"] == ["high", "high", "medium", "low"]  # rules of one rank stay in rule order


def test_priority_without_values_to_rank_by_takes_the_first_match_and_says_so():
    bundle = parse_diagrams([DiagramFile("inline.bpmn", calling("risk")), dmn(ranked("PRIORITY", values=""))])
    assert any("its outputs list none: all rank alike, so the first rule that matches wins" in w.reason
               for w in bundle.warnings)
    assert run("risk", {"flags": 10}, ranked("PRIORITY", values="")).data["risk"] == "low"


@given(st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=6), st.integers(0, 12))
@settings(max_examples=40, deadline=None)
def test_priority_is_the_first_of_output_order(thresholds, flags):
    rules = [(f"&gt;= {t}", f'"{["high", "medium", "low"][t % 3]}"') for t in thresholds]
    listed = '<outputValues><text>"high","medium","low"</text></outputValues>'

    def of(policy: str) -> str:
        return table("risk", rules, policy, reads="flags").replace(
            '<output id="risk_out" name="risk"/>', f'<output id="risk_out" name="risk">{listed}</output>')
    ordered = run("risk", {"flags": flags}, of("OUTPUT ORDER")).data.get("risk") or []
    matching = [value.strip('"') for entry, value in rules if flags >= int(entry.split()[-1])]
    assert ordered == sorted(matching, key=["high", "medium", "low"].index)
    first = run("risk", {"flags": flags}, of("PRIORITY")).data.get("risk")
    assert first == (ordered[0] if ordered else None)


# -- a decision's requirements -------------------------------------------------------------------

GRADE = table("grade", [("&gt;= 600", '"A"'), ("&lt; 600", '"B"')])
LIMIT = table("limit", [('"A"', "5000"), ('"B"', "1000")], reads="grade", requires=("grade",))


@pytest.mark.parametrize("stored", [False, True])
def test_a_decision_evaluates_the_decision_it_requires_first_and_keeps_only_its_own_result(stored):
    for score, limit in ((650, 5000), (500, 1000)):
        outcome = run("limit", {"score": score}, GRADE, LIMIT, stored=stored)
        assert outcome.status == "completed", outcome.error
        assert outcome.data["limit"] == limit
        assert "grade" not in outcome.data  # the requirement's result is the evaluation's own, as in Camunda 7


def test_requirements_are_evaluated_deepest_first_and_a_list_reaches_the_decision_as_a_list():
    """Camunda's dinner: season <- dish <- beverages (a COLLECT), and `count` reads the beverages' list."""
    season = table("season", [("&lt; 5", '"Winter"'), ("&gt;= 5", '"Summer"')], reads="month")
    dish = table("dish", [('"Winter"', '"Roastbeef"'), ('"Summer"', '"Salad"')], reads="season", requires=("season",))
    beverages = table("beverages", [('"Roastbeef"', '"Red wine"'), ("-", '"Water"')], "COLLECT", reads="dish",
                      requires=("dish",))
    count = table("count", [("-", "len(beverages)")], reads="beverages", requires=("beverages", "season"))
    outcome = run("count", {"month": 1}, season, dish, beverages, count)
    assert outcome.status == "completed", outcome.error
    assert outcome.data["count"] == 2 and set(outcome.data) == {"month", "count"}
    assert run("beverages", {"month": 8}, season, dish, beverages).data["beverages"] == ["Water"]


def test_a_requirement_this_file_lacks_a_circle_and_a_refused_requirement_are_refused_at_validate():
    lacking = table("limit", [("-", "1")], reads="grade", requires=("grade",))
    assert refusal(lacking) == ["limit: the decision limit requires the decision grade (informationRequirement), "
                                "which this file does not hold: Loanflow evaluates a decision's requirements from "
                                "its own file"]
    one = table("one", [("-", "1")], reads="two", requires=("two",))
    two = table("two", [("-", "2")], reads="one", requires=("one",))
    assert all("requires itself, through the decisions it requires" in p for p in refusal(one, two))
    priority = table("grade", [("-", '"A"')], "BEST")
    problems = refusal(priority, LIMIT)
    assert any(p.startswith("limit: the decision limit requires the decision grade, which Loanflow cannot evaluate")
               for p in problems)


# -- FEEL input entries (app/engine/feel_tests.py) -----------------------------------------------

@pytest.mark.parametrize(("entry", "runs_as"), [
    ("[5..8]", "5 <= ? <= 8"), ("]5..8]", "5 < ? <= 8"), ("[5..8[", "5 <= ? < 8"), ("(1..10)", "1 < ? < 10"),
    ('"Fall","Winter"', "(? == 'Fall') or (? == 'Winter')"), ("< 5, > 10", "(? < 5) or (? > 10)"),
    ('not("Stew")', "not (? == 'Stew')"), ("true", "True"), ("null", "None"),
    ("[x.low..x.high]", "((x or {}).get('low')) <= ? <= ((x or {}).get('high'))"),
    # left as SpiffWorkflow reads them: a value, a comparison, Python, a `?` entry, nothing
    ('"Spring"', None), ("<= 8", None), ('not in ("A", "E")', None), ("1 <= ? <= 30", None), ("-", None), ("", None),
    ('"a, b"', None), ('[date("2020-01-01")..date("2021-01-01")]', None),  # a FEEL function not translated
])
def test_a_feel_input_entry_is_translated_only_where_spiffworkflow_would_misread_it(entry, runs_as):
    from app.engine.feel_tests import translate

    assert translate(entry) == runs_as


def test_camundas_dinner_decisions_in_feel_decide_as_in_camunda_7():
    """The DRG of Camunda's example, entries in FEEL: beverages (COLLECT) requires dish (a range, a list)."""
    dish = ('<decision id="dish" name="Dish"><decisionTable>'  # no id: Camunda Modeler leaves it out
            '<input id="d_season"><inputExpression id="d_se"><text>season</text></inputExpression></input>'
            '<input id="d_guests"><inputExpression id="d_ge"><text>guestCount</text></inputExpression></input>'
            '<output id="d_out" name="desiredDish"/>'
            + "".join(f'<rule id="d{n}"><inputEntry id="d{n}a"><text>{a}</text></inputEntry><inputEntry id="d{n}b">'
                      f'<text>{b}</text></inputEntry><outputEntry id="d{n}o"><text>"{dish}"</text></outputEntry></rule>'
                      for n, (a, b, dish) in enumerate([('"Fall"', "&lt;= 8", "Spareribs"),
                                                        ('"Winter"', "&lt;= 8", "Roastbeef"),
                                                        ('"Spring"', "[5..8]", "Steak"),
                                                        ('"Fall","Winter","Spring"', "&gt; 8", "Stew"),
                                                        ('"Summer"', "", "Light Salad")]))
            + "</decisionTable></decision>")
    beverages = ('<decision id="beverages" name="Beverages"><informationRequirement id="ir">'
                 '<requiredDecision href="#dish"/></informationRequirement><decisionTable id="b_t" hitPolicy="COLLECT">'
                 '<input id="b_dish"><inputExpression id="b_de"><text>desiredDish</text></inputExpression></input>'
                 '<input id="b_kids"><inputExpression id="b_ke"><text>guestsWithChildren</text></inputExpression>'
                 '</input><output id="b_out" name="beverages"/>'
                 + "".join(f'<rule id="b{n}"><inputEntry id="b{n}a"><text>{a}</text></inputEntry><inputEntry id="b{n}b">'
                           f'<text>{b}</text></inputEntry><outputEntry id="b{n}o"><text>"{drink}"</text></outputEntry>'
                           f"</rule>" for n, (a, b, drink) in enumerate([('"Stew"', "", "Guiness"),
                                                                         ('"Roastbeef"', "", "Bordeaux"),
                                                                         ('not("Stew","Roastbeef")', "", "Pinot Noir"),
                                                                         ("", "true", "Apple Juice"),
                                                                         ("", "", "Water")]))
                 + "</decisionTable></decision>")
    cases = [("Winter", 8, True, ["Bordeaux", "Apple Juice", "Water"]), ("Spring", 6, False, ["Pinot Noir", "Water"]),
             ("Fall", 12, False, ["Guiness", "Water"])]
    for season, guests, kids, drinks in cases:
        outcome = run("beverages", {"season": season, "guestCount": guests, "guestsWithChildren": kids}, dish, beverages)
        assert outcome.status == "completed", outcome.error
        assert outcome.data["beverages"] == drinks and "desiredDish" not in outcome.data
    bundle = parse_diagrams([dmn(dish, beverages)])
    said = {w.element_id: w.reason for w in bundle.warnings}
    assert said["dish"] == "the decision dish has elements without an id; the import gave them dish_decisionTable"
    assert said["d2b"] == "the input entry '[5..8]' is FEEL; the import runs it as '5 <= ? <= 8'"


def test_feels_constants_as_output_entries_are_values_not_variables():
    approve = table("approved", [("&gt;= 600", "true"), ("&lt; 600", "false")])
    assert [run("approved", {"score": s}, approve).data["approved"] for s in (700, 500)] == [True, False]
    said = {w.element_id: w.reason for w in parse_diagrams([dmn(approve)]).warnings}
    assert said["approved_o0"] == "the output entry 'true' is FEEL; the import runs it as 'True'"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.decimals(min_value="-1000000", max_value="1000000", places=2), min_size=1, max_size=6),
       st.sampled_from(["SUM", "MIN", "MAX", "COUNT"]))
def test_an_aggregate_of_amounts_is_exact_whatever_they_are(amounts, aggregation):
    """Every rule matches; each gives one amount: the aggregate is the exact Decimal one, to the cent."""
    rules = [("-", f'Decimal("{amount}")') for amount in amounts]
    outcome = run("total", {"score": 1}, table("total", rules, "COLLECT", aggregation))
    expected = {"SUM": sum(amounts, Decimal(0)), "MIN": min(amounts), "MAX": max(amounts), "COUNT": len(amounts)}
    assert outcome.status == "completed", outcome.error
    kept = outcome.data["total"]
    assert (kept if aggregation == "COUNT" else Decimal(kept)) == expected[aggregation]
