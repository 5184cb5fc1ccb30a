"""Instance state without its spec, spec text, and the task data that must survive both."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG as SPIFF_CONFIG

from app.engine import serializer as serializer_module
from app.engine.parser import Bundle, DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine, StepOutcome
from app.engine.serializer import (
    STATE_FORMAT,
    STATE_VERSION,
    STATE_VERSION_KEY,
    StateFormatError,
    StateSerializer,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


@cache
def bundle(*filenames: str) -> Bundle:
    return parse_diagrams([DiagramFile(name, (FIXTURES / name).read_bytes()) for name in filenames])


@cache
def engine() -> ProcessEngine:
    return ProcessEngine()


def specs(process_id: str, *filenames: str) -> tuple[Any, dict]:
    """The spec of `process_id` and every subprocess spec it may run (embedded and called)."""
    parsed = bundle(*filenames)
    process = parsed.processes[process_id]
    subprocess_specs = dict(process.embedded)
    for called in process.calls:
        subprocess_specs[called] = parsed.processes[called].spec
        subprocess_specs.update(parsed.processes[called].embedded)
    return process.spec, subprocess_specs


def start(process_id: str, data: dict, *filenames: str) -> tuple[BpmnWorkflow, StepOutcome]:
    spec, subprocess_specs = specs(process_id, *filenames)
    workflow = engine().new_workflow(spec, subprocess_specs, data)
    return workflow, engine().advance(workflow)


def ready_tasks(workflow: BpmnWorkflow) -> list:
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def task_table(workflow: BpmnWorkflow) -> dict:
    """Every task (subprocesses included) by id: its element, state and data."""
    table = {}
    for wf in (workflow, *workflow.subprocesses.values()):
        for task_id, task in wf.tasks.items():
            table[task_id] = (task.task_spec.name, task.state, task.data)
    return table


def spiff_serializer() -> BpmnWorkflowSerializer:
    """SpiffWorkflow's own serializer, configured the way its documentation recommends."""
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    registry.register(Decimal, lambda d: {"value": str(d)}, lambda d: Decimal(d["value"]))
    return BpmnWorkflowSerializer(registry)


TWELVE = ("twelve_steps", "twelve_steps.bpmn")


# -- state without the spec ------------------------------------------------------------------
def test_mid_way_state_has_no_spec_and_is_much_smaller() -> None:
    workflow, outcome = start(TWELVE[0], {"amount": Decimal("80000.00")}, TWELVE[1])
    assert outcome.status == "waiting"
    assert [t.element_id for t in outcome.ready] == ["review"]

    state = StateSerializer().dump_state(workflow)
    dct = json.loads(state)
    assert "spec" not in dct
    assert "subprocess_specs" not in dct
    assert dct["serializer_version"] == STATE_FORMAT
    assert str(ready_tasks(workflow)[0].id) in dct["tasks"]

    full = spiff_serializer().serialize_json(workflow)
    assert {"spec", "subprocess_specs"} <= set(json.loads(full))
    assert len(state) < 0.6 * len(full), (len(state), len(full))


def test_mid_way_state_restores_to_an_equivalent_workflow_that_completes() -> None:
    spec, subprocess_specs = specs(*TWELVE)
    workflow, outcome = start(TWELVE[0], {"amount": Decimal("80000.00"), "applicant": {"id": "A-1"}}, TWELVE[1])
    serializer = StateSerializer()

    restored = serializer.load_state(serializer.dump_state(workflow), spec, subprocess_specs)
    assert restored.spec is spec
    assert task_table(restored) == task_table(workflow)
    assert restored.last_task.id == workflow.last_task.id
    assert [t.id for t in ready_tasks(restored)] == [t.id for t in ready_tasks(workflow)]
    assert ready_tasks(restored)[0].data["amount"] == Decimal("80000.00")
    assert serializer.dump_state(restored) == serializer.dump_state(workflow)

    restored.script_engine = engine().script_engine
    task_id = outcome.ready[0].engine_task_id
    original_end = engine().complete_user_task(workflow, task_id, {"approved": True})
    restored_end = engine().complete_user_task(restored, task_id, {"approved": True})
    assert restored_end.status == original_end.status == "waiting"
    assert [t.element_id for t in restored_end.ready] == ["approve"]
    final = engine().complete_user_task(restored, restored_end.ready[0].engine_task_id, {})
    assert final.status == "completed"
    assert final.end_events == ["end_approved"]
    assert final.data["score"] == 10
    assert final.data["amount"] == "80000.00"


def test_restoring_needs_the_spec() -> None:
    workflow, _ = start(TWELVE[0], {}, TWELVE[1])
    with pytest.raises(ValueError, match="restored around its process version's spec"):
        StateSerializer().load_state(StateSerializer().dump_state(workflow), None, {})


@pytest.mark.parametrize("version", ["1.4", "9.9", None])
def test_state_of_an_unknown_format_is_refused(version: str | None) -> None:
    spec, subprocess_specs = specs(*TWELVE)
    workflow, _ = start(TWELVE[0], {}, TWELVE[1])
    dct = json.loads(StateSerializer().dump_state(workflow))
    if version is None:
        del dct["serializer_version"]
    else:
        dct["serializer_version"] = version
    with pytest.raises(ValueError, match=rf"format {version!r}; this engine reads {STATE_FORMAT}"):
        StateSerializer().load_state(json.dumps(dct), spec, subprocess_specs)


# -- format versions and their upgrades -------------------------------------------------------
def test_state_carries_its_version_and_round_trips() -> None:
    spec, subprocess_specs = specs(*TWELVE)
    workflow, _ = start(TWELVE[0], {"amount": Decimal("80000.00")}, TWELVE[1])
    serializer = StateSerializer()
    state = serializer.dump_state(workflow)
    assert json.loads(state)[STATE_VERSION_KEY] == STATE_VERSION
    restored = serializer.load_state(state, spec, subprocess_specs)
    assert task_table(restored) == task_table(workflow)
    assert serializer.dump_state(restored) == state


def _dumped(workflow: BpmnWorkflow, monkeypatch: pytest.MonkeyPatch, version: int | None) -> str:
    """The workflow's state as a Loanflow whose current version is `version` writes it (None: as
    one from before states carried a version)."""
    with monkeypatch.context() as patch:
        patch.setattr(serializer_module, "STATE_VERSION", version or 1)
        dct = json.loads(StateSerializer().dump_state(workflow))
    if version is None:
        del dct[STATE_VERSION_KEY]
    return json.dumps(dct)


def _note(step: str) -> Any:
    def upgrade(dct: dict) -> None:
        dct["data"]["upgrades"] = [*dct["data"].get("upgrades", []), step]
    return upgrade


def test_state_without_a_version_loads_as_version_1(monkeypatch: pytest.MonkeyPatch) -> None:
    spec, subprocess_specs = specs(*TWELVE)
    workflow, _ = start(TWELVE[0], {"amount": Decimal("80000.00")}, TWELVE[1])
    old = _dumped(workflow, monkeypatch, None)
    assert STATE_VERSION_KEY not in json.loads(old)
    restored = StateSerializer().load_state(old, spec, subprocess_specs)
    assert task_table(restored) == task_table(workflow)

    monkeypatch.setattr(serializer_module, "STATE_VERSION", 2)  # once there is a version 2, it is upgraded from 1
    monkeypatch.setitem(serializer_module.UPGRADES, 1, _note("1->2"))
    assert StateSerializer().load_state(old, spec, subprocess_specs).data["upgrades"] == ["1->2"]


@pytest.mark.parametrize(("written_in", "applied"), [(None, ["1->2", "2->3"]), (1, ["1->2", "2->3"]),
                                                      (2, ["2->3"]), (3, [])])
def test_an_older_state_runs_each_upgrade_from_its_version_in_order(monkeypatch: pytest.MonkeyPatch,
                                                                   written_in: int | None, applied: list) -> None:
    spec, subprocess_specs = specs(*TWELVE)
    workflow, outcome = start(TWELVE[0], {"amount": Decimal("80000.00")}, TWELVE[1])
    state = _dumped(workflow, monkeypatch, written_in)
    monkeypatch.setattr(serializer_module, "STATE_VERSION", 3)
    monkeypatch.setitem(serializer_module.UPGRADES, 1, _note("1->2"))
    monkeypatch.setitem(serializer_module.UPGRADES, 2, _note("2->3"))

    restored = StateSerializer().load_state(state, spec, subprocess_specs)
    assert restored.data.get("upgrades", []) == applied
    assert json.loads(StateSerializer().dump_state(restored))[STATE_VERSION_KEY] == 3  # written back as current
    restored.script_engine = engine().script_engine  # and the upgraded loan goes on
    after = engine().complete_user_task(restored, outcome.ready[0].engine_task_id, {"approved": True})
    assert [t.element_id for t in after.ready] == ["approve"]


def test_a_missing_upgrade_is_refused_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    spec, subprocess_specs = specs(*TWELVE)
    workflow, _ = start(TWELVE[0], {}, TWELVE[1])
    state = _dumped(workflow, monkeypatch, 1)
    monkeypatch.setattr(serializer_module, "STATE_VERSION", 3)
    monkeypatch.setitem(serializer_module.UPGRADES, 1, _note("1->2"))
    with pytest.raises(StateFormatError, match="no upgrade of an instance state from version 2 to 3"):
        StateSerializer().load_state(state, spec, subprocess_specs)


@pytest.mark.parametrize("version", [STATE_VERSION + 1, STATE_VERSION + 40])
def test_a_state_from_a_future_version_is_refused(version: int) -> None:
    spec, subprocess_specs = specs(*TWELVE)
    workflow, _ = start(TWELVE[0], {}, TWELVE[1])
    dct = json.loads(StateSerializer().dump_state(workflow))
    dct[STATE_VERSION_KEY] = version
    with pytest.raises(StateFormatError, match=rf"version {version}, written by a newer Loanflow; "
                                               rf"this engine reads up to version {STATE_VERSION}"):
        StateSerializer().load_state(json.dumps(dct), spec, subprocess_specs)


@pytest.mark.parametrize("version", ["1", "2", 0, -1, None, 1.5, [1]])
def test_a_state_version_that_is_not_one_is_refused(version: Any) -> None:
    spec, subprocess_specs = specs(*TWELVE)
    workflow, _ = start(TWELVE[0], {}, TWELVE[1])
    dct = json.loads(StateSerializer().dump_state(workflow))
    dct[STATE_VERSION_KEY] = version
    with pytest.raises(StateFormatError, match="which is not a state version"):
        StateSerializer().load_state(json.dumps(dct), spec, subprocess_specs)


# -- the fast task writer and reader ----------------------------------------------------------------------
def _stock_workflow_dict(converter, workflow) -> dict:
    """SpiffWorkflow's own converters, which the hand-written writer must match key for key."""
    return WorkflowConverter.to_dict(converter, workflow)


def _stock_read_tasks(converter, tasks: dict, workflow) -> dict:
    """SpiffWorkflow's own task reader, which the hand-written one must match."""
    return converter.mapping_from_dict(tasks, UUID, workflow=workflow)


def _restored_shape(workflow: BpmnWorkflow) -> tuple:
    """What a restored workflow is made of: every task's fields and data, subprocesses included,
    the waiting catch events and the last task."""
    tasks = {}
    for wf in (workflow, *workflow.subprocesses.values()):
        for task_id, task in wf.tasks.items():
            tasks[task_id] = (wf is workflow, task.task_spec.name, task.state, task._parent, list(task._children),
                              task.last_state_change, task.triggered, task.internal_data, task.data)
    waiting = sorted(str(t.id) for t in workflow.event_manager.tasks.values())
    return tasks, list(workflow.tasks), waiting, workflow.last_task.id if workflow.last_task else None


# (process, files, start data, what each user task is submitted)
FAST_WRITER_CASES = [
    ("twelve_steps", ("twelve_steps.bpmn",), {"amount": Decimal("80000.00"), "form": {"typename": "x"}},
     {"approved": True}),
    ("parallel_reviews", ("parallel_reviews.bpmn",), {"due": date(2026, 1, 2)}, {"legal_ok": True, "risk_ok": True}),
    ("embedded_subprocess", ("embedded_subprocess.bpmn",), {"amount": Decimal("100.00")}, {"signature": "ok"}),
    ("call_parent", ("call_parent.bpmn", "call_child.bpmn"), {"amount": Decimal("12.30")},
     {"countersigned_by": "li"}),
    ("prepare_then_await_funds", ("message_wait.bpmn",), {"loan": {"typename": "Decimal"}}, {}),
    ("gateway_loop", ("gateway_loop.bpmn",), {"limit": 3}, {}),
]


@pytest.mark.parametrize(("process_id", "files", "data", "submitted"), FAST_WRITER_CASES,
                         ids=[c[0] for c in FAST_WRITER_CASES])
def test_fast_task_writer_and_reader_do_what_spiffworkflow_does(monkeypatch: pytest.MonkeyPatch, process_id: str,
                                                           files: tuple[str, ...], data: dict,
                                                           submitted: dict) -> None:
    """After every step of a run: subprocesses, parallel branches, loops, data changes and deletions,
    the state written is SpiffWorkflow's, and read back it makes the workflow SpiffWorkflow's reader makes."""
    workflow, outcome = start(process_id, {**data, "scratch": 1}, *files)
    serializer = StateSerializer()
    while True:
        assert outcome.status != "error", outcome.error
        fast = serializer.dump_state(workflow)
        with monkeypatch.context() as patch:
            patch.setattr(serializer_module, "_workflow_dict", _stock_workflow_dict)
            stock = serializer.dump_state(workflow)
        assert json.loads(fast) == json.loads(stock)
        spec, subprocess_specs = specs(process_id, *files)
        read_fast = serializer.load_state(fast, spec, subprocess_specs)
        with monkeypatch.context() as patch:
            patch.setattr(serializer_module, "_read_tasks", _stock_read_tasks)
            read_stock = serializer.load_state(fast, spec, subprocess_specs)
        assert _restored_shape(read_fast) == _restored_shape(read_stock)
        if not outcome.ready:
            break
        task = workflow.get_task_from_id(UUID(outcome.ready[0].engine_task_id))
        task.data.pop("scratch", None)  # a key the task drops: written as a deletion
        outcome = engine().complete_user_task(workflow, outcome.ready[0].engine_task_id, submitted)


# -- task data that must survive ---------------------------------------------------------------
def same(a: Any, b: Any) -> bool:
    """Equal, of the same type, and for Decimal/datetime/float with the same representation."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal | float):
        return repr(a) == repr(b)
    if isinstance(a, datetime | time):
        return a == b and a.isoformat() == b.isoformat() and a.utcoffset() == b.utcoffset()
    return a == b


ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
KEYS = st.sampled_from(["typename", "value", "items", "data", "spec", "delta"]) | st.text(max_size=8)
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
           | st.decimals(allow_nan=False) | st.datetimes(timezones=ZONES) | st.dates() | st.times(timezones=ZONES)
           | st.uuids())
NESTED = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=20)


def _round_trip_ready_task_data(variables: dict) -> tuple[dict, dict]:
    spec, subprocess_specs = specs(*TWELVE)
    workflow, _ = start(TWELVE[0], {"amount": 1}, TWELVE[1])
    ready = ready_tasks(workflow)[0]
    ready.data.update(variables)
    workflow.data.update({"workflow_level": variables})
    serializer = StateSerializer()
    restored = serializer.load_state(serializer.dump_state(workflow), spec, subprocess_specs)
    return restored.get_task_from_id(ready.id).data, restored.data


@settings(max_examples=75, deadline=None, database=None)
@given(money=st.decimals(allow_nan=False), places=st.integers(min_value=0, max_value=6))
def test_decimals_survive_exactly(money: Decimal, places: int) -> None:
    quantized = money.quantize(Decimal(1).scaleb(-places)) if money.is_finite() and money.adjusted() < 20 else money
    values = {"money": money, "quantized": quantized, "ledger": [money, {"amount": quantized}]}
    data, workflow_data = _round_trip_ready_task_data(values)
    for name, value in values.items():
        assert same(data[name], value), (name, data[name], value)
    assert same(workflow_data["workflow_level"], values)


@settings(max_examples=75, deadline=None, database=None)
@given(variables=st.dictionaries(KEYS.filter(lambda k: k != "amount"), NESTED, max_size=5))
def test_nested_task_data_survives(variables: dict) -> None:
    data, workflow_data = _round_trip_ready_task_data(variables)
    for name, value in variables.items():
        assert same(data[name], value), (name, data[name], value)
    assert same(data["amount"], 1)
    assert same(workflow_data["workflow_level"], variables)


@pytest.mark.parametrize("value", [
    {"typename": "Decimal", "value": "1.50"},
    {"typename": "no-such-type"},
    {"typename": "BpmnEvent", "payload": {"typename": "UUID", "value": "not-a-uuid"}},
    [{"typename": "datetime", "value": "2025-01-01T00:00:00"}],
    {"typename": "LoanflowDataDict", "items": {"a": 1}},
], ids=["decimal-lookalike", "unknown-typename", "nested-lookalikes", "datetime-lookalike", "escape-lookalike"])
def test_user_data_that_looks_like_a_serialized_object_stays_data(value: Any) -> None:
    """A form may submit any JSON; the registry must not turn it into objects (or fail on it)."""
    data, _ = _round_trip_ready_task_data({"form": value, "typename": "a form field named typename"})
    assert same(data["form"], value)
    assert data["typename"] == "a form field named typename"


def test_dates_times_and_decimals_made_by_scripts_survive_a_step() -> None:
    """A script's date/time values (the allowed datetime module) are stored, not a crash."""
    workflow, outcome = start("call_parent", {"amount": Decimal("12.30")}, "call_parent.bpmn", "call_child.bpmn")
    ready_tasks(workflow)[0].data.update(due=date(2025, 3, 2), cutoff=time(17, 30), grace=timedelta(days=3))
    spec, subprocess_specs = specs("call_parent", "call_parent.bpmn", "call_child.bpmn")
    restored = engine().restore(StateSerializer().dump_state(workflow), spec, subprocess_specs)
    data = ready_tasks(restored)[0].data
    assert (data["due"], data["cutoff"], data["grace"]) == (date(2025, 3, 2), time(17, 30), timedelta(days=3))
    assert same(data["amount"], Decimal("12.30"))


# -- specs -----------------------------------------------------------------------------------
def test_spec_round_trip_runs_the_same() -> None:
    spec, subprocess_specs = specs("approval_gateway", "approval_gateway.bpmn")
    serializer = StateSerializer()
    text = serializer.dump_spec(spec, subprocess_specs)
    loaded, loaded_embedded = serializer.load_spec(text)
    assert loaded is not spec
    assert loaded.name == spec.name
    assert set(loaded.task_specs) == set(spec.task_specs)
    assert loaded_embedded == {}
    assert serializer.dump_spec(loaded, loaded_embedded) == text

    for approved, end in ((True, "end_approved"), (False, "end_rejected")):
        outcomes = []
        for s in (spec, loaded):
            workflow = engine().new_workflow(s, {}, {"amount": Decimal("60000")})
            first = engine().advance(workflow)
            last = engine().complete_user_task(workflow, first.ready[0].engine_task_id, {"approved": approved})
            outcomes.append((first.status, [t.element_id for t in first.ready], first.data,
                             last.status, last.end_events, last.data))
        assert outcomes[0] == outcomes[1]
        assert outcomes[1][4] == [end]


def test_state_written_with_the_parsed_spec_loads_around_the_stored_spec() -> None:
    """What deployment does: the spec is stored once as text, instances are stored without it."""
    spec, subprocess_specs = specs(*TWELVE)
    serializer = StateSerializer()
    stored_spec, stored_embedded = serializer.load_spec(serializer.dump_spec(spec, subprocess_specs))
    workflow, outcome = start(TWELVE[0], {"amount": 5}, TWELVE[1])
    restored = engine().restore(outcome.state, stored_spec, stored_embedded)
    assert restored.spec is stored_spec
    done = engine().complete_user_task(restored, outcome.ready[0].engine_task_id, {"approved": False})
    assert done.status == "waiting"
    assert [t.element_id for t in done.ready] == ["reject_note"]


# -- subprocesses ----------------------------------------------------------------------------
def test_embedded_subprocess_round_trip() -> None:
    files = ("embedded_subprocess", "embedded_subprocess.bpmn")
    spec, subprocess_specs = specs(*files)
    assert set(subprocess_specs) == {"signing"}
    serializer = StateSerializer()
    workflow, outcome = start(files[0], {"amount": Decimal("1000.00")}, files[1])
    assert outcome.status == "waiting"
    assert [t.element_id for t in outcome.ready] == ["sign"]

    dct = json.loads(outcome.state)
    assert "spec" not in dct and "subprocess_specs" not in dct
    assert len(dct["subprocesses"]) == 1
    (sub,) = dct["subprocesses"].values()
    assert sub["spec"] == "signing"  # a name, not a serialized spec
    assert outcome.ready[0].engine_task_id in sub["tasks"]

    stored_spec, stored_embedded = serializer.load_spec(serializer.dump_spec(spec, subprocess_specs))
    restored = engine().restore(outcome.state, stored_spec, stored_embedded)
    assert task_table(restored) == task_table(workflow)
    (sign,) = ready_tasks(restored)
    assert str(sign.id) == outcome.ready[0].engine_task_id
    assert sign.data["contract"] == {"amount": Decimal("1000.00"), "rate": Decimal("0.0425")}
    assert isinstance(sign.data["contract"]["rate"], Decimal)

    done = engine().complete_user_task(restored, str(sign.id), {"signature": "ok"})
    assert done.status == "completed"
    assert done.end_events == ["end"]
    assert done.data["signed_amount"] == "1000.00"
    assert done.data["archived"] is True


def test_call_activity_round_trip() -> None:
    files = ("call_parent.bpmn", "call_child.bpmn")
    spec, subprocess_specs = specs("call_parent", *files)
    assert set(subprocess_specs) == {"call_child"}
    workflow, outcome = start("call_parent", {"amount": 5}, *files)
    assert [t.element_id for t in outcome.ready] == ["countersign"]
    dct = json.loads(outcome.state)
    assert "subprocess_specs" not in dct
    assert [s["spec"] for s in dct["subprocesses"].values()] == ["call_child"]

    restored = engine().restore(outcome.state, spec, subprocess_specs)
    assert task_table(restored) == task_table(workflow)
    done = engine().complete_user_task(restored, outcome.ready[0].engine_task_id, {"countersigned_by": "bob"})
    assert done.status == "completed"
    assert done.data["contract_signed"] is True
    assert done.data["sealed_at"] == "2025-01-02T03:04:05"
    assert restored.data["sealed_at"] == datetime(2025, 1, 2, 3, 4, 5)
    assert isinstance(restored.data["sealed_at"], datetime)
    # and the completed instance round-trips too
    again = engine().restore(done.state, spec, subprocess_specs)
    assert again.is_completed()
    assert again.data == restored.data
