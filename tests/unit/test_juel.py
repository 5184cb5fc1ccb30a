"""Issue 17: conditions and timers drawn for Camunda (JUEL, FEEL, bare ISO 8601, cron) are translated
into the sandbox's Python by the import layer, or refused naming what was refused.

The tables check meaning, not text: each translation is evaluated in the sandbox on sample data.
Before the translation existed, `${approved}` did not compile as a condition and a bare `PT2H`
timer failed its task with a NameError when the instance reached it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import cron, durations, translate
from app.engine.juel import ExpressionRefused, feel, juel, juel_text
from app.engine.lint import lint_bundle
from app.engine.parser import Bundle, DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from app.engine.sandbox import SandboxEnvironment
from app.engine.scripting import InProcessSandbox
from tests.unit.test_runner import diagram, inline, timer_on_task

DATA = {"approved": True, "rejected": False, "score": 7, "amount": 1500.0, "name": "  Alice  ", "status": "Open",
        "nothing": None, "blank": "", "items": [1, 2, 3], "no_items": [], "risks": ["debt", "age"], "gaps": [None, "debt", None, "age"], "customer": {"age": 30, "tier": "gold",
        "address": {"city": "Wuhan"}}, "a": 1, "b": 2, "c": 3,
        "orders": [{"id": 1, "amount": 50}, {"id": 2, "amount": 2000}, {"id": 3, "amount": 800, "score": 1}]}
LINES = {**DATA, "orders": [{"id": 1, "lines": [{"qty": 1}]}, {"id": 2, "lines": [{"qty": 2}, {"qty": 5}]},
                            {"id": 3, "lines": []}]}


def run(python: str, data: dict[str, Any] | None = None) -> Any:
    return InProcessSandbox().evaluate(python, dict(DATA if data is None else data))


JUEL_MEANINGS = [
    ("${approved}", True),
    ("#{approved}", True),
    ("${!approved}", False),
    ("${not approved}", False),
    ("${score > 5}", True),
    ("${score gt 5 and score lt 10}", True),
    ("${score <= 5 || approved}", True),
    ("${score le 5 or rejected}", False),
    ("${score ge 7 && score eq 7 && score ne 8}", True),
    ("${score == 7 and status != 'Closed'}", True),
    ('${status == "Open"}', True),
    ("${customer.age >= 21}", True),
    ("${customer['tier'] == 'gold'}", True),
    ("${customer.address.city}", "Wuhan"),
    # a property a map does not have, or of null, is null (EL and FEEL): it was a KeyError, an incident
    ("${customer.phone == null}", True),
    ("${empty customer.phone}", True),
    ("${!empty customer.phone && customer.phone}", False),
    ("${nothing.city == null}", True),
    ("${customer['address'].city}", "Wuhan"),
    ("${items[1]}", 2),
    ("${amount * 2 - 1000 / 4}", 2750.0),
    ("${score div 2}", 3.5),
    ("${score mod 4 + score % 5}", 5),
    ("${-score + 10}", 3),
    ("${a - (b - c)}", 2),
    ("${a - b - c}", -4),
    ("${(a + b) * c}", 9),
    ("${a + b * c}", 7),
    ("${nothing == null}", True),
    ("${nothing != null}", False),
    ("${customer != null}", True),
    ("${null}", None),
    ("${empty blank}", True),
    ("${empty nothing}", True),
    ("${empty no_items}", True),
    ("${empty items}", False),
    ("${not empty name}", True),
    ("${!empty customer}", True),
    ("${true && !false}", True),
    ("${approved ? 'yes' : 'no'}", "yes"),
    ("${rejected ? 'yes' : score > 5 ? 'big' : 'small'}", "big"),
    ("${(rejected ? a : b) + 1}", 3),
    ("${!approved == rejected}", True),
    ("${a < b == true}", True),
    ("${status.startsWith('Op')}", True),
    ("${status.endsWith('en')}", True),
    ("${status.contains('pe')}", True),
    ("${items.contains(2)}", True),
    ("${status.equals('Open')}", True),
    ("${status.equalsIgnoreCase('OPEN')}", True),
    ("${status.length() == 4}", True),
    ("${items.size()}", 3),
    ("${no_items.isEmpty() && !items.isEmpty()}", True),
    ("${status.toUpperCase()}", "OPEN"),
    ("${status.toLowerCase()}", "open"),
    ("${name.trim()}", "Alice"),
    ("${name.trim().length()}", 5),
    ("${execution.getVariable('score') > 5}", True),
    ('${execution.getVariable("status")}', "Open"),
    ("${'a && b'}", "a && b"),
    ("${'it\\'s'}", "it's"),
    ("${1.5e3 + .5}", 1500.5),
    ("  ${approved}  ", True),
]


@pytest.mark.parametrize(("expression", "meaning"), JUEL_MEANINGS)
def test_a_juel_expression_means_in_python_what_it_meant_in_camunda(expression: str, meaning: Any) -> None:
    assert run(juel(expression)) == meaning


FEEL_MEANINGS = [
    ("= approved", True),
    ("=not(approved)", False),
    ('= status = "Open" and score > 5', True),
    ('= status != "Open" or score < 5', False),
    ("= nothing = null", True),
    ("= customer.address.city", "Wuhan"),
    ('= if score > 5 then "big" else "small"', "big"),
    ("= amount / 3 * 2 - 1", 999.0),
    ('= starts with(status, "Op")', True),
    ('= ends with(status, "x")', False),
    ('= contains(status, "pe")', True),
    ("= string length(status)", 4),
    ("= upper case(status)", "OPEN"),
    ("= lower case(status)", "open"),
    ("= count(items)", 3),
    ('= string join(risks, ", ")', "debt, age"),
    ('= string join(gaps, "/")', "debt/age"),  # FEEL leaves the nulls out
    ('status = "Open"', True),  # bare FEEL: not Python, so it cannot mean anything else
    # Camunda 8's lists and contexts (a zeebe:input builds a connector's request with them), refused before
    ('= ["in bed", status, score + 1]', ["in bed", "Open", 8]),
    ('= {customerId: customer.tier, "the amount": amount, nested: {city: customer.address.city}}',
     {"customerId": "gold", "the amount": 1500.0, "nested": {"city": "Wuhan"}}),
    ("= []", []),
    ("= {}", {}),
    ("= count([1, 2, 3]) = 3", True),
    ("= all([approved, score > 5])", True),
    ("= any([rejected, nothing = null])", True),
    ("= sum(items) + min(items) + max(items)", 10),
    ("= abs(0 - score)", 7),
    ('= "score " + string(score) + ", " + string(approved)', "score 7, true"),  # FEEL's spelling of a boolean
    ("= string(nothing) = null", True),
    ('= matches(status, "^Op")', True),
    ('= if blank = null or matches(blank, "^\\s*$") then "none" else blank', "none"),
    ('= duration("PT1H30M")', timedelta(hours=1, minutes=30)),  # Camunda 8's timers and due dates
    ('= duration("P1W2DT3S")', timedelta(days=9, seconds=3)),
    ('= duration("-PT30S")', timedelta(seconds=-30)),
    # a list's item by its position (FEEL counts from 1), and a list filtered: "is not translated" before
    ("= items[1]", 1),
    ("= items[-1]", 3),
    ("= items[4] = null", True),  # past the end: null, as FEEL
    ("= no_items[1] = null and nothing[1] = null", True),
    ("= orders[-2].amount", 2000),
    ("= items[item >= 2]", [2, 3]),
    ("= count(orders[amount > score * 100])", 2),  # amount: each order's; score: the variable
    ("= orders[amount > 100 and score = 1][1].id", 3),  # the item's own score wins over the variable
    ("= orders[id = 2].amount", [2000]),  # a path of a filtered list: of each item, as FEEL reads it
    ("= orders[amount < 1000].id[-1]", 3),
    ("= orders[true] = orders", True),
    ('= risks[starts with(item, "d")]', ["debt"]),
    # a position computed when it runs (Camunda 8's `results[loopCounter]`), and a filter in a filter's condition:
    # "not translated" before
    ("= items[a + 1]", 2),
    ("= items[score]", None),  # past the end: null
    ("= items[-a]", 3),
    ("= orders[b].amount", 2000),
    ("= nothing[a]", None),
    ("= items[approved]", [1, 2, 3]),  # a condition's value, true: every item
    ("= items[rejected]", []),
    ("= items[status]", None),  # neither a number nor a condition
    ("= items[amount / 1000]", None),  # 1.5 is no position
    ("= items[amount / 750]", 2),  # 2.0 is
    ("= items[items[-a] - 1]", 2),  # a position read from the list itself
    ("= orders[count(risks[item = \"debt\"]) = a].id", [1, 2, 3]),
    ("= orders[id = count(items[item > a])]", [{"id": 2, "amount": 2000}]),  # the inner item, then the variable
    ("= orders[count(lines[qty > id]) > 0].id", [2]),
    ("= orders[lines[id].qty = 5].id", [2]),
    ('= list contains(risks, "debt") and not(list contains(items, 4))', True),  # a Camunda 8 gateway's test
    ("= list contains(nothing, 1)", False),  # of null: null, which a gateway reads as false
    ('= orders[list contains([1, 3], id)].amount', [50, 800]),  # the position is the order's id: its list is the order's lines
]


@pytest.mark.parametrize(("expression", "meaning"), FEEL_MEANINGS)
def test_a_feel_expression_means_in_python_what_it_meant_in_camunda_8(expression: str, meaning: Any) -> None:
    assert run(feel(expression), LINES if "lines" in expression else None) == meaning


def _feel_position(items: list | None, position: int):
    """FEEL's `list[n]`: the n-th item counting from 1, from the end for a negative n; null past either end."""
    if not items:
        return None
    if position > 0:
        return items[position - 1] if position <= len(items) else None
    return items[len(items) + position] if -position <= len(items) else None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.lists(st.integers(), max_size=6)), st.integers(-8, 8).filter(bool))
def test_a_feel_position_reads_the_item_feel_reads(items: list | None, position: int) -> None:
    assert run(feel(f"= xs[{position}]"), {"xs": items}) == _feel_position(items, position)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.lists(st.integers(), max_size=6)), st.integers(-8, 8))
def test_a_position_computed_when_it_runs_reads_the_item_feel_reads(items: list | None, position: int) -> None:
    """`xs[i - 1]` reads what `xs[n]` reads for the n it gives (0: null); a position in a filter is read where
    the list is (the item's entry)."""
    assert run(feel("= xs[i - 1]"), {"xs": items, "i": position + 1}) == (_feel_position(items, position)
                                                                          if position else None)
    rows = [{"xs": items, "i": position}]
    picked = run(feel("= rows[xs[i] = null]"), {"rows": rows})
    assert picked == ([] if position and _feel_position(items, position) is not None else rows)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries({"amount": st.integers(-5, 5)}), max_size=6), st.integers(-5, 5))
def test_a_feel_filter_keeps_the_items_whose_condition_holds_in_order(orders: list, limit: int) -> None:
    kept = run(feel("= orders[amount > limit]"), {"orders": orders, "limit": limit})
    assert kept == [order for order in orders if order["amount"] > limit]


def test_feel_s_now_and_today_are_the_moment_and_the_day_in_utc() -> None:
    before = datetime.now(UTC)
    moment = run(feel('= now() + duration("PT1M")'))
    assert before + timedelta(minutes=1) <= moment <= datetime.now(UTC) + timedelta(minutes=1)
    assert run(feel("= today()")) in (before.date(), datetime.now(UTC).date())
    translated = translate.timer("timeDate", '=now() + duration("PT10M")')
    assert translated is not None and isinstance(run(translated.python), datetime)


# Flowable's functions on a variable that may not exist, and FEEL's `is defined`: refused before ("the function
# variables:get() is refused", "the FEEL function is defined() is not translated"); run in the sandbox process too
MAYBE_MISSING = [
    ("${variables:get(limit)}", {}, None),
    ("${variables:get(limit)}", {"limit": 3}, 3),
    ("${vars:getOrDefault(limit, 5)}", {"limit": None}, 5),
    ("${vars:getOrDefault(limit, 5)}", {"limit": 7}, 7),
    ("${var:exists(limit)}", {"limit": None}, True),
    ("${var:exists(limit)}", {}, False),
    ("${variables:isEmpty(note)}", {}, True),
    ("${variables:isEmpty(note)}", {"note": "x"}, False),
    ("${variables:isNotEmpty(note)}", {"note": []}, False),
    ("${variables:equals(status, 'open')}", {}, False),
    ("${variables:equals(status, 'open')}", {"status": "open"}, True),
    ("${variables:notEquals(status, 'open')}", {}, True),
    ("${vars:gte(amount, 100) && vars:lt(amount, 200)}", {"amount": 150}, True),
    ("${variables:greaterThan(amount, 100)}", {}, False),
    ("= not(is defined(breakfast))", {}, True),
    ("= is defined(breakfast)", {"breakfast": None}, True),  # defined, as null
    ('= if is defined(inquiry) then inquiry else "an example"', {}, "an example"),
    ('= if is defined(inquiry) then inquiry else "an example"', {"inquiry": "rates?"}, "rates?"),
]


@pytest.mark.parametrize(("expression", "data", "meaning"), MAYBE_MISSING)
def test_a_variable_that_may_not_exist_is_asked_about_first(expression: str, data: dict, meaning: Any) -> None:
    python = feel(expression) if expression.startswith("=") else juel(expression)
    assert run(python, data) == meaning
    assert SandboxEnvironment(isolation="always").evaluate(python, dict(data)) == meaning


HOSTILE = [
    ("${''.getClass()}", "reflection (getClass)"),
    ("${''.class.forName('java.lang.Runtime')}", "class access"),
    ("${x.class}", "class access"),
    ("${T(java.lang.Runtime).getRuntime().exec('rm')}", "type reference T(...)"),
    ("${''.getClass().forName('java.lang.Runtime')}", "reflection (getClass)"),
    ("${myBean.doIt()}", "myBean.doIt()"),
    ("${loanService.approve(execution)}", "loanService.approve()"),
    ("${status.replaceAll('a', 'b')}", "status.replaceAll()"),
    ("${doIt()}", "function call doIt()"),
    ("${fn:toUpperCase(name)}", "fn:toUpperCase()"),
    ("${variables:getVariable(name)}", "variables:getVariable()"),
    ("${variables:get('name')}", "takes a variable's name first"),
    ("${x = 5}", "assignment"),
    ("${x += 'a'}", "+="),
    ("${(x -> x + 1)(2)}", "lambda"),
    ("${a; b}", "semicolon"),
    ("${execution.setVariable('x', 1)}", "execution.setVariable()"),
    ("${execution.processEngine}", "execution.processEngine"),
    ("${execution}", "execution object"),
    ("${task.complete()}", "task.complete()"),
    ("${new java.io.File('/etc/passwd')}", "object construction (new)"),
    ("${x instanceof y}", "instanceof"),
    ("${{1, 2}}", "constructor"),
    ("${__import__}", "starts with '_'"),
    ("${a.__class__}", "reflection (__class__)"),
    ("${class}", "Python keyword"),
    ("${lambda}", "Python keyword"),
    ("${a$b}", "'$'"),
    ("${execution.getVariable(name)}", "one variable name in quotes"),
    ("${execution.getVariable('a b')}", "not a variable name"),
    ("${status.startsWith()}", "takes 1 argument"),
    ("${approved", "no closing"),
    ("${approved} or not", "text around"),
    ("${" + "(" * 50 + "a" + ")" * 50 + "}", "nested more than"),
    ("${" + "+".join(["a"] * 300) + "}", "nested more than"),
    ("${1e999}", "too large"),
]


@pytest.mark.parametrize(("expression", "named"), HOSTILE)
def test_what_has_no_safe_meaning_is_refused_naming_it(expression: str, named: str) -> None:
    with pytest.raises(ExpressionRefused) as refused:
        juel(expression)
    assert named in refused.value.reason


@pytest.mark.parametrize(("expression", "named"), [
    ('= some risk in risks satisfies risk = "red"', "quantified expression"),
    ("= x in [1, 2]", "membership test"),
    ("= x ** 2", "exponent"),
    ("= items[item]", "here it is a position"),
    ("= a[b[c[d[item > 1] = 1] = 1] = 1]", "filters nested more than 3 deep"),
    ('= get value(customer, "age")', "get value()"),
    ("= x = 'a'", "FEEL strings are in"),
    ('= Vacation Approval = "Approved"', "has spaces"),
    ("=(approved == false)", "FEEL compares with one =, not =="),  # was "unexpected '='"
    ("= {a: 1, a: 2}", "names a key twice"),
    ('= duration("P1M")', "a calendar period (P1M, P1Y) or a computed one is not"),
    ("= duration(wait)", "a calendar period (P1M, P1Y) or a computed one is not"),
    ("= {1: 2}", "a context's key is a name or a string"),
    ('= {a: __import__("os")}', "the FEEL function __import__() is not translated"),
    ('= {a: __builtins__}', "starts with '_'"),
    ('= [x.__class__]', "reflection (__class__)"),
    ("= is defined(customer.age)", "a variable, not a path"),
    ('= is defined("x")', "a variable, not a path"),
])
def test_feel_beyond_the_subset_is_refused_naming_it(expression: str, named: str) -> None:
    with pytest.raises(ExpressionRefused) as refused:
        feel(expression)
    assert named in refused.value.reason


# -- which conditions are foreign ----------------------------------------------------------------
@pytest.mark.parametrize(("text", "language", "meaning"), [
    ("${approved}", None, True),
    ("${approved}", "http://www.w3.org/1999/XPath", True),  # the tool's default language, JUEL content
    ("=approved", None, True),
    ("approved", "https://www.omg.org/spec/DMN/20191111/FEEL/", True),
    ('status = "Open"', None, True),
    ("true", "http://www.w3.org/1999/XPath", True),
    ("false", None, False),
])
def test_a_foreign_condition_is_translated(text: str, language: str | None, meaning: bool) -> None:
    done = translate.condition(text, language)
    assert done is not None and run(done.python) is meaning


@pytest.mark.parametrize("text", ["approved", "amount > 1000 and status == 'Open'", "not(approved)",
                                  "items[0] == 1", "", "   ", None, "'${literal}' == x"])
def test_a_python_condition_stays_as_it_is(text: str | None) -> None:
    assert translate.condition(text) is None


@pytest.mark.parametrize("text", ["amount >", "bpmn:getDataObject('approved')", 'Vacation Approval = "Approved"'])
def test_a_condition_that_is_neither_python_nor_feel_is_left_to_the_strict_check(text: str) -> None:
    assert translate.condition(text) is None
    assert not translate.refused("condition", text)


@pytest.mark.parametrize(("text", "language", "named"), [
    ("x > 1", "groovy", "written in groovy"),
    ("bpmn:getDataObject('approved')", "http://www.w3.org/1999/XPath", "written in http://www.w3.org/1999/XPath"),
    ('Vacation Approval = "Approved"', "https://www.omg.org/spec/DMN/20191111/FEEL/", "has spaces"),
    ("approved == ${x}", None, "mixes text and ${...}"),
])
def test_a_condition_that_cannot_run_is_refused(text: str, language: str | None, named: str) -> None:
    with pytest.raises(ExpressionRefused) as refused:
        translate.condition(text, language)
    assert named in refused.value.reason


# -- timers ----------------------------------------------------------------------------------------
NOW = datetime(2026, 12, 3, 23, 17, 42, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(("kind", "text", "data", "value"), [
    ("timeDuration", "PT2H", {}, "PT2H"),
    ("timeDuration", "P1D", {}, "P1D"),
    ("timeDuration", "P1Y2M3DT4H5M6.5S", {}, "P1Y2M3DT4H5M6.5S"),
    ("timeDate", "2026-12-03T10:00:00Z", {}, "2026-12-03T10:00:00Z"),
    ("timeDate", "2026-12-03", {}, "2026-12-03"),
    ("timeCycle", "R3/PT10M", {}, "R3/PT10M"),
    ("timeCycle", "R/PT1H", {}, "R/PT1H"),
    ("timeCycle", "R/2026-12-04T08:00:00Z/PT1H", {}, "R/2026-12-04T08:00:00Z/PT1H"),
    ("timeDuration", "${duration}", {"duration": "PT5M"}, "PT5M"),
    ("timeDuration", "#{reminder.after}", {"reminder": {"after": "P2D"}}, "P2D"),
    ("timeDuration", "PT${minutes}M", {"minutes": 15}, "PT15M"),
    ("timeCycle", "R${times}/PT${hours}H", {"times": 3, "hours": 2}, "R3/PT2H"),
    ("timeDuration", "=wait", {"wait": "PT1M"}, "PT1M"),
    ("timeCycle", "0 0/5 * * * ?", {}, "0 0/5 * * * ?"),
])
def test_a_foreign_timer_gives_the_value_our_timers_read(kind: str, text: str, data: dict, value: str) -> None:
    done = translate.timer(kind, text)
    assert done is not None
    assert run(done.python, data) == value
    durations.check_timer_value(value, NOW)  # what the clocked timers accept


@pytest.mark.parametrize("text", ['"PT2H"', "sla_duration", "timedelta(seconds=30)", "'R3/PT1H'", "wait['after']"])
def test_a_python_timer_stays_as_it_is(text: str) -> None:
    assert translate.timer("timeDuration", text) is None


@pytest.mark.parametrize(("text", "start", "period"), [
    ("0 0/5 * * * ?", datetime(2026, 12, 3, 23, 20, tzinfo=UTC), timedelta(minutes=5)),
    ("0 5/15 * * * ?", datetime(2026, 12, 3, 23, 20, tzinfo=UTC), timedelta(minutes=15)),
    ("0 * * * * ?", datetime(2026, 12, 3, 23, 18, tzinfo=UTC), timedelta(minutes=1)),
    ("0 0 * * * ?", datetime(2026, 12, 4, 0, 0, tzinfo=UTC), timedelta(hours=1)),
    ("15 30 */2 * * ?", datetime(2026, 12, 4, 0, 30, 15, tzinfo=UTC), timedelta(hours=2)),
    ("0 0 8 * * ?", datetime(2026, 12, 4, 8, 0, tzinfo=UTC), timedelta(days=1)),
    ("0 0 23 * * ? *", datetime(2026, 12, 4, 23, 0, tzinfo=UTC), timedelta(days=1)),
    ("0 30 23 * * ?", datetime(2026, 12, 3, 23, 30, tzinfo=UTC), timedelta(days=1)),
    ("0 0 8 ? * MON", datetime(2026, 12, 7, 8, 0, tzinfo=UTC), timedelta(days=7)),
    ("0 0 23 ? * 5", datetime(2026, 12, 10, 23, 0, tzinfo=UTC), timedelta(days=7)),  # Thursday, already passed
    ("0 0 8 ? * SUN", datetime(2026, 12, 6, 8, 0, tzinfo=UTC), timedelta(days=7)),
])
def test_a_cron_of_a_fixed_period_starts_at_its_next_firing_after_the_clock(text: str, start: datetime,
                                                                             period: timedelta) -> None:
    assert durations.parse_cycle(text, NOW) == (-1, start, period)


@pytest.mark.parametrize(("kind", "text", "named"), [
    ("timeCycle", "*/5 * * * *", "5 fields"),
    ("timeCycle", "0/5 0/1 * 1/1 * ?", "every 5 s: more often than every 60 s"),
    ("timeCycle", "0,30 * * * * ?", "30 s apart at its closest: more often than every 60 s"),
    ("timeCycle", "0 0 8 15 * MON", "both a day of the month and a day of the week"),
    ("timeCycle", "0 0 8 ? * MON#9", "not a Quartz cron field"),
    ("timeDuration", "0 0 8 * * ?", "put it in a timeCycle"),
    ("timeDuration", "R3/PT10M", "a timeDuration needs an ISO 8601 duration"),
    ("timeCycle", "PT1H", "a timeCycle needs an ISO 8601 cycle"),
    ("timeDuration", "${bean.delay()}", "bean.delay()"),
])
def test_a_timer_that_cannot_run_is_refused_naming_why(kind: str, text: str, named: str) -> None:
    with pytest.raises(ExpressionRefused) as refused:
        translate.timer(kind, text)
    assert named in refused.value.reason


@pytest.mark.parametrize("text", ["0 0/7 * * * ?", "0 20/15 * * * ?", "0 0 8 1 * ?", "0 0 8 ? * MON-FRI",
                                  "0 0 8,12 * * ?", "0 0 8 L * ?", "0 0 8 ? 1 *", "0 0 12 * * ? 2027",
                                  "0 0/5 8 * * ?"])
def test_a_cron_of_uneven_gaps_runs_at_each_match(text: str) -> None:
    """Refused before as "not a fixed period" (`cron_schedule` reads them now)."""
    done = translate.timer("timeCycle", text)
    assert done is not None and done.python == repr(text) and "uneven gaps" in str(done.note)


def test_a_cron_of_uneven_gaps_is_no_repeating_interval_but_a_schedule() -> None:
    with pytest.raises(durations.TimerValueError, match="not a fixed period.*day-of-week"):
        durations.parse_cycle("0 0 8 ? * MON-FRI", NOW)
    assert durations.irregular_cron("0 0 8 ? * MON-FRI", NOW) is not None
    with pytest.raises(cron.CronRefused):
        cron.read("0 0 8 ? * MON#2")


@pytest.mark.parametrize("text", ["a.", "elsex. ", "a[", "if a then", "starts with(", "not("])
def test_an_expression_that_ends_too_early_is_refused_not_a_crash(text: str) -> None:
    """The parser read past the last token (IndexError) on these before."""
    with pytest.raises(ExpressionRefused):
        feel(text)
    with pytest.raises(ExpressionRefused):
        juel("${" + text + "}")


def test_python_that_only_warns_is_python_under_warnings_as_errors() -> None:
    """`1and x` is Python with a SyntaxWarning; with warnings as errors (the test suite) it was read as
    not Python, then translated as FEEL."""
    assert translate.condition("1and x") is None


def test_a_juel_template_joins_text_and_values() -> None:
    assert juel_text("PT${minutes}M") == "'PT' + str(minutes) + 'M'"
    assert juel_text("${d}") == "d"
    with pytest.raises(ExpressionRefused, match="mixes"):
        juel_text("${a}#{b}")


# -- through the import layer and the engine --------------------------------------------------------
CAMUNDA = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="defs" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.0.0">
  <bpmn:process id="invoice" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="review" name="Review invoice" camunda:assignee="demo"/>
    <bpmn:exclusiveGateway id="approved_gw"/>
    <bpmn:intermediateCatchEvent id="cool_off">
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT2H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="paid"/>
    <bpmn:endEvent id="rejected"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="approved_gw"/>
    <bpmn:sequenceFlow id="yes" sourceRef="approved_gw" targetRef="cool_off">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${approved}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="no" sourceRef="approved_gw" targetRef="rejected">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">#{!approved}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="cool_off" targetRef="paid"/>
  </bpmn:process>
</bpmn:definitions>"""


def camunda_bundle(content: str = CAMUNDA) -> Bundle:
    return parse_diagrams([DiagramFile("invoice.bpmn", content.encode())])


def test_a_camunda_diagram_parses_lints_clean_and_says_what_the_import_changed() -> None:
    bundle = camunda_bundle()
    assert [p for p in lint_bundle(bundle, [], []) if p.severity == "error"] == []
    changed = {w.element_id: w.reason for w in bundle.warnings}
    assert changed["yes"] == "the condition '${approved}' is JUEL; the import runs it as 'approved'"
    assert changed["no"] == "the condition '#{!approved}' is JUEL; the import runs it as 'not approved'"
    assert "'PT2H' is an ISO 8601 duration" in changed["cool_off"]


@pytest.mark.parametrize(("approved", "end"), [(True, "paid"), (False, "rejected")])
def test_a_camunda_diagram_runs_to_its_end(approved: bool, end: str) -> None:
    now = [datetime(2026, 12, 3, 9, 0, tzinfo=UTC)]
    engine = ProcessEngine(clock=lambda: now[0])
    process = camunda_bundle().processes["invoice"]
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    waiting = engine.advance(workflow)
    (review,) = waiting.ready
    outcome = engine.complete_user_task(workflow, review.engine_task_id, {"approved": approved})
    if approved:
        assert outcome.status == "waiting" and outcome.due_at == now[0] + timedelta(hours=2)
        now[0] += timedelta(hours=2)
        outcome = engine.wake(workflow)
    assert outcome.status == "completed", outcome.error
    assert outcome.end_events == [end]


@pytest.mark.parametrize(("orders", "end"), [([{"amount": 50}, {"amount": 2000}], "paid"), ([{"amount": 50}], "rejected"),
                                             ([], "rejected")])
def test_a_feel_filter_decides_the_path_in_a_sandbox_process(orders: list, end: str) -> None:
    """`=count(orders[amount > limit]) > 0`, refused before ("a FEEL filter or index is not translated"), run
    by the engine's own script sandbox."""
    content = CAMUNDA.replace("${approved}", "=count(orders[amount &gt; limit]) &gt; 0").replace(
        "#{!approved}", "=count(orders[amount &gt; limit]) = 0")
    bundle = camunda_bundle(content)
    assert [p for p in lint_bundle(bundle, [], []) if p.severity == "error"] == []
    now = [datetime(2026, 12, 3, 9, 0, tzinfo=UTC)]
    engine = ProcessEngine(clock=lambda: now[0])
    process = bundle.processes["invoice"]
    workflow = engine.new_workflow(process.spec, process.embedded, {"limit": 1000})
    (review,) = engine.advance(workflow).ready
    outcome = engine.complete_user_task(workflow, review.engine_task_id, {"orders": orders})
    if end == "paid":
        now[0] += timedelta(hours=2)
        outcome = engine.wake(workflow)
    assert (outcome.status, outcome.end_events) == ("completed", [end]), outcome.error


def test_a_refused_expression_is_a_lint_error_naming_its_element_not_a_parse_refusal() -> None:
    content = CAMUNDA.replace("${approved}", "${invoiceService.isApproved(execution)}")
    bundle = camunda_bundle(content)  # accepted: SpiffWorkflow can read it, the strict check refuses it
    errors = [p for p in lint_bundle(bundle, [], []) if p.severity == "error"]
    refused = [e for e in errors if e.element_id == "yes"]
    assert refused and "invoiceService.isApproved()" in refused[0].reason
    assert not any(w.element_id == "yes" for w in bundle.warnings)


def test_a_cron_cycle_waits_for_its_next_firing_on_the_engines_clock() -> None:
    now = [datetime(2026, 12, 3, 23, 17, 42, tzinfo=UTC)]
    engine = ProcessEngine(clock=lambda: now[0])
    bundle = inline(timer_on_task("timeCycle", "0 0 8 * * ?"))
    assert [p for p in lint_bundle(bundle, [], []) if p.severity == "error"] == []
    assert any("fires every day at 08:00:00 UTC" in w.reason for w in bundle.warnings)
    process = bundle.processes["inline"]
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    assert engine.advance(workflow).due_at == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    now[0] = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    woken = engine.wake(workflow)
    assert ("timer_fired", "remind") in [(kind, element) for kind, element, _ in woken.history]
    assert woken.due_at == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def test_a_cron_that_fires_too_often_is_a_lint_error() -> None:
    bundle = inline(timer_on_task("timeCycle", "0/5 0/1 * 1/1 * ?"))
    errors = [p for p in lint_bundle(bundle, [], []) if p.severity == "error"]
    assert [e.element_id for e in errors] == ["remind"]
    assert "more often than every 60 s" in errors[0].reason


def test_the_projects_own_python_conditions_and_timers_are_not_touched() -> None:
    body = timer_on_task("timeDuration", '"PT48H"')
    bundle = parse_diagrams([DiagramFile("own.bpmn", diagram(body))])
    assert bundle.warnings == []


@pytest.mark.parametrize("isolation", ["always", "off"])
def test_a_script_asking_about_names_it_holds_in_a_tuple_is_sent_them(isolation: str) -> None:
    """`is_defined(name)` for each name of a tuple, in a comprehension: the names were not sent to the sandbox
    process (only a lone string beside the call was), so a value the data held read as missing."""
    data = {"amount": 4, "kept": None}
    SandboxEnvironment(isolation=isolation).execute(
        'saw = [name for name in ("amount", "kept", "absent") if is_defined(name)]', data)
    assert data["saw"] == ["amount", "kept"]


@pytest.mark.parametrize("isolation", ["always", "auto", "off"])
def test_feel_s_clock_is_bound_for_the_run_and_never_kept_in_the_data(isolation: str) -> None:
    """A script translated from FEEL's now() run where no engine gives a clock (the sandbox's moment): the
    name it reads was left in the task's data, stored with the instance."""
    data: dict[str, Any] = {"a": 1}
    SandboxEnvironment(isolation=isolation).execute(f"at = {feel('= now()')}", data)
    assert sorted(data) == ["a", "at"] and isinstance(data["at"], datetime)
