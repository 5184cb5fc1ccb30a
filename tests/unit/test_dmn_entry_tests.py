"""A decision table's input entry must be a test: one that computes a number (`<< 520`, a doubled `<`) is refused."""
from __future__ import annotations

import pytest

from app.engine.dmn_lint import lint_decision_file


def table(entry: str) -> bytes:
    entry = entry.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="http://t">
  <decision id="route" name="Route">
    <decisionTable id="table">
      <input id="score_in"><inputExpression id="score_expr" typeRef="integer"><text>score</text></inputExpression></input>
      <output id="route_out" name="route" typeRef="string"/>
      <rule id="low"><inputEntry id="low_score"><text>{entry}</text></inputEntry>
        <outputEntry id="reject"><text>"auto_reject"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>""".encode()


@pytest.mark.parametrize("entry", ["<< 520", ">> 2", "* 2", "% 7", "& 1", "? * 2"])
def test_an_entry_that_computes_a_number_instead_of_testing_the_input_is_refused(entry: str) -> None:
    problems = lint_decision_file("route.dmn", table(entry))
    assert [(p.element_id, p.severity) for p in problems] == [("low_score", "error")]
    runs = entry.replace("?", "<input>") if "?" in entry else f"<input> {entry}"
    assert problems[0].reason == (f"input entry {entry!r} is no test of the input: the engine runs it as "
                                  f"{runs!r}, a value, not true or false")


@pytest.mark.parametrize("entry", ["< 520", ">= 520", "520", "not in (1, 2)", "in (1, 2)", "[500..600]", "500 < ? < 600",
                                   "-", "", "!= 3", ".bit_length() > 3", "< 5 or score > 10"])
def test_the_tests_an_entry_may_be_pass(entry: str) -> None:
    assert lint_decision_file("route.dmn", table(entry)) == []
