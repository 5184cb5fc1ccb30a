"""BPMN data stores and data associations (issue 17). Before, SpiffWorkflow refused every file with a
data store ("Data Store with name X has no implementation", "Data Store name is missing from bpmn
xml"), and an association it could not resolve was refused with a raw object repr ("Cannot resolve
dataOutputAssociation <Element ... at 0x...>"); a data object two subprocesses out made its parser
loop for ever. A store drawn without an implementation is now Loanflow's: one JSON value, by the
store's name, shared by every instance that names it."""
from __future__ import annotations

import pytest

from app.engine.data_stores import LoanflowDataStore, MemoryDataStores
from app.engine.errors import DiagramRejected
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from app.engine.xml import drop_comments, read_xml

B = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _file(process: str, outside: str = "", process_id: str = "stores") -> DiagramFile:
    return DiagramFile(f"{process_id}.bpmn", f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{B}" id="defs" targetNamespace="http://loanflow.local/bpmn">{outside}
  <bpmn:process id="{process_id}" isExecutable="true">{process}
  </bpmn:process>
</bpmn:definitions>""".encode())


def _chain(*tasks: str) -> str:
    """start -> the tasks (given whole, ids t1, t2, ...) -> end."""
    ids = ["start", *(f"t{n}" for n in range(1, len(tasks) + 1)), "end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}"/>'
                    for n, (a, b) in enumerate(zip(ids, ids[1:], strict=False)))
    return f'<bpmn:startEvent id="start"/>{"".join(tasks)}<bpmn:endEvent id="end"/>{flows}'


def _writes(task_id: str, ref: str, script: str) -> str:
    return (f'<bpmn:scriptTask id="{task_id}"><bpmn:dataOutputAssociation id="{task_id}_out">'
            f'<bpmn:targetRef>{ref}</bpmn:targetRef></bpmn:dataOutputAssociation>'
            f'<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')


def _reads(task_id: str, ref: str, script: str) -> str:
    return (f'<bpmn:scriptTask id="{task_id}"><bpmn:dataInputAssociation id="{task_id}_in">'
            f'<bpmn:sourceRef>{ref}</bpmn:sourceRef></bpmn:dataInputAssociation>'
            f'<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')


LEDGER = '<bpmn:dataStore id="ledger" name="Ledger"/>'
REF = '<bpmn:dataStoreReference id="ledger_ref" dataStoreRef="ledger"/>'
# reads the store, adds one, writes it back: in one task
INCREMENT = ('<bpmn:scriptTask id="t1"><bpmn:dataInputAssociation id="in"><bpmn:sourceRef>ledger_ref</bpmn:sourceRef>'
             '</bpmn:dataInputAssociation><bpmn:dataOutputAssociation id="out"><bpmn:targetRef>ledger_ref'
             '</bpmn:targetRef></bpmn:dataOutputAssociation><bpmn:script>ledger = (ledger or 0) + 1</bpmn:script>'
             '</bpmn:scriptTask>')


def _run(bundle, stores: MemoryDataStores, process_id: str = "stores", data: dict | None = None):
    engine = ProcessEngine(data_stores=stores)
    process = bundle.processes[process_id]
    workflow = engine.new_workflow(process.spec, process.embedded, data or {})
    return engine.advance(workflow)


def test_a_store_without_an_implementation_is_shared_by_the_instances_that_name_it():
    writer = parse_diagrams([_file(_chain(_writes("t1", "ledger_ref", 'ledger = {"balance": 5}')) + REF, LEDGER)])
    reader = parse_diagrams([_file(_chain(_reads("t1", "ledger_ref", 'seen = ledger["balance"]')) + REF, LEDGER,
                                   "other")])
    [said] = [w for w in writer.warnings if w.element_id == "ledger"]
    assert said.reason == ("the data store ledger names no implementation of its own; it is Loanflow's data store "
                           "'Ledger', one JSON value shared by every instance that names it")
    stores = MemoryDataStores()
    wrote = _run(writer, stores)
    assert wrote.status == "completed" and "ledger" not in wrote.data  # the value lives in the store
    assert stores.values == {"Ledger": {"balance": 5}}  # keyed by the store's name
    read = _run(reader, stores, "other")
    assert read.status == "completed" and read.data["seen"] == 5


def test_a_store_never_written_reads_as_none_and_each_instance_adds_to_it():
    bundle = parse_diagrams([_file(_chain(INCREMENT) + REF, LEDGER)])
    stores = MemoryDataStores()
    for _ in range(3):
        assert _run(bundle, stores).status == "completed"
    assert stores.values == {"Ledger": 3}


def test_a_store_without_a_name_is_keyed_by_its_id_and_the_import_says_so():
    bundle = parse_diagrams([_file(_chain(INCREMENT) + REF, '<bpmn:dataStore id="ledger"/>')])
    said = [w for w in bundle.warnings if w.element_id == "ledger"]
    assert said and "has no name" in said[0].reason and "'ledger'" in said[0].reason
    stores = MemoryDataStores()
    _run(bundle, stores)
    assert stores.values == {"ledger": 1}


def test_a_reference_that_names_no_store_is_a_store_keyed_by_its_name():
    reference = '<bpmn:dataStoreReference id="ledger_ref" name="Bank System"/>'
    bundle = parse_diagrams([_file(_chain(_writes("t1", "ledger_ref", "DataStore_ledger_ref = 7")) + reference)])
    said = [w for w in bundle.warnings if w.element_id == "ledger_ref"]
    assert said and "names no data store" in said[0].reason and "'Bank System'" in said[0].reason
    stores = MemoryDataStores()
    assert _run(bundle, stores).status == "completed"
    assert stores.values == {"Bank System": 7}


def test_spiffarena_json_stores_are_keyed_by_their_id_and_its_other_stores_are_refused():
    json_store = parse_diagrams([_file(_chain(INCREMENT) + REF, '<bpmn:dataStore id="ledger" name="JSONDataStore"/>')])
    said = [w for w in json_store.warnings if w.element_id == "ledger"]
    assert said and "SpiffArena's JSONDataStore" in said[0].reason
    stores = MemoryDataStores()
    _run(json_store, stores)
    assert stores.values == {"ledger": 1}
    with pytest.raises(DiagramRejected) as refused:
        parse_diagrams([_file(_chain(INCREMENT) + REF, '<bpmn:dataStore id="ledger" name="KKVDataStore"/>')])
    [problem] = refused.value.problems
    assert problem.element_id == "ledger" and "KKVDataStore" in problem.reason


def test_a_task_that_writes_a_store_without_setting_its_variable_stops_with_a_reason():
    bundle = parse_diagrams([_file(_chain(_writes("t1", "ledger_ref", "other = 1")) + REF, LEDGER)])
    stores = MemoryDataStores()
    outcome = _run(bundle, stores)
    assert outcome.status == "error" and outcome.error["element_id"] == "t1"
    assert "did not set" in outcome.error["message"] and "'Ledger'" in outcome.error["message"]
    assert outcome.error["reason"]["code"] == "data_store_unset"
    assert outcome.error["reason"]["params"] == {"element": "t1", "store": "'Ledger'", "name": "ledger"}
    assert stores.values == {}


def test_a_task_that_writes_a_data_object_without_setting_it_has_a_reason():
    objects = '<bpmn:dataObject id="amount"/><bpmn:dataObjectReference id="amount_ref" dataObjectRef="amount"/>'
    bundle = parse_diagrams([_file(objects + _chain(_writes("t1", "amount_ref", "other = 1")))])
    outcome = _run(bundle, MemoryDataStores())
    assert outcome.status == "error" and outcome.error["reason"]["code"] == "data_object_unset"
    assert outcome.error["reason"]["text"].startswith("t1 writes the data object amount, but the task did not set")


def test_a_value_that_is_not_json_is_not_written():
    bundle = parse_diagrams([_file(_chain(_writes("t1", "ledger_ref", "ledger = {1: 2}")) + REF, LEDGER)])
    stores = MemoryDataStores()
    outcome = _run(bundle, stores)
    assert outcome.status == "error" and "not JSON" in outcome.error["message"]
    assert outcome.error["reason"]["code"] == "data_store_not_json"
    assert stores.values == {}


def test_an_engine_without_stores_says_so():
    bundle = parse_diagrams([_file(_chain(INCREMENT) + REF, LEDGER)])
    process = bundle.processes["stores"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "error" and "no data stores" in outcome.error["message"]


def test_the_store_survives_the_saved_spec_and_state():
    wait = '<bpmn:userTask id="t2"/>'
    bundle = parse_diagrams([_file(_chain(_writes("t1", "ledger_ref", "ledger = 'a'"), wait,
                                          _reads("t3", "ledger_ref", "seen = ledger")) + REF, LEDGER)])
    stores = MemoryDataStores()
    engine = ProcessEngine(data_stores=stores)
    process = bundle.processes["stores"]
    spec, embedded = engine.serializer.load_spec(engine.serializer.dump_spec(process.spec, process.embedded))
    assert isinstance(spec.task_specs["t1"].data_output_associations[0], LoanflowDataStore)
    outcome = engine.advance(engine.new_workflow(spec, embedded, {}))
    stores.values["Ledger"] = "b"  # another instance writes meanwhile
    workflow = engine.restore(outcome.state, spec, embedded)
    done = engine.complete_user_task(workflow, outcome.ready[0].engine_task_id, {})
    assert done.status == "completed" and done.data["seen"] == "b"


def _refusal(process: str, outside: str = "") -> str:
    with pytest.raises(DiagramRejected) as refused:
        parse_diagrams([_file(process, outside)])
    reasons = [p.reason for p in refused.value.problems]
    assert not any("<Element" in r for r in reasons), reasons  # never an object's repr
    return " | ".join(reasons)


def test_an_association_to_nothing_is_refused_naming_the_task_and_the_reference():
    reason = _refusal(_chain(_writes("t1", "nowhere", "x = 1")))
    assert "data output association of t1" in reason and "'nowhere'" in reason


PROCESS_IO = ('<bpmn:ioSpecification><bpmn:dataInput id="request" name="Travel Request"/>'
              '<bpmn:dataOutput id="advert" name="Advertisement"/><bpmn:inputSet><bpmn:dataInputRefs>request'
              '</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet><bpmn:dataOutputRefs>advert</bpmn:dataOutputRefs>'
              '</bpmn:outputSet></bpmn:ioSpecification>')
# a task with a data input and output of its own, joined to the process's by data associations
OWN_IO = ('<bpmn:scriptTask id="t1"><bpmn:ioSpecification><bpmn:dataInput id="t1_in"/><bpmn:dataOutput id="t1_out"/>'
          '<bpmn:inputSet><bpmn:dataInputRefs>t1_in</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet>'
          '<bpmn:dataOutputRefs>t1_out</bpmn:dataOutputRefs></bpmn:outputSet></bpmn:ioSpecification>'
          '<bpmn:dataInputAssociation id="a_in"><bpmn:sourceRef>request</bpmn:sourceRef><bpmn:targetRef>t1_in'
          '</bpmn:targetRef></bpmn:dataInputAssociation><bpmn:dataOutputAssociation id="a_out"><bpmn:sourceRef>t1_out'
          '</bpmn:sourceRef><bpmn:targetRef>advert</bpmn:targetRef>{extra}</bpmn:dataOutputAssociation>'
          '<bpmn:script>t1_out = "seen " + t1_in</bpmn:script></bpmn:scriptTask>')


def test_associations_with_the_process_inputs_and_outputs_copy_to_and_from_the_tasks_own():
    bundle = parse_diagrams([_file(PROCESS_IO + _chain(OWN_IO.format(extra="")))])
    said = sorted(w.reason for w in bundle.warnings if w.element_id == "t1")
    assert said == [
        "the data input association of t1 reads request ('Travel Request'), a data input of the process stores; "
        "the import copies it into the task's data input t1_in when the task starts",
        "the data output association of t1 writes advert ('Advertisement'), a data output of the process stores; "
        "the import copies the task's data output t1_out into it when the task completes"]
    engine = ProcessEngine(data_stores=MemoryDataStores())
    process = bundle.processes["stores"]
    spec, embedded = engine.serializer.load_spec(engine.serializer.dump_spec(process.spec, process.embedded))
    outcome = engine.advance(engine.new_workflow(spec, embedded, {"request": "Rome"}))
    assert outcome.status == "completed" and outcome.data["advert"] == "seen Rome"
    missing = engine.advance(engine.new_workflow(spec, embedded, {}))
    assert missing.status == "error" and missing.error["reason"]["code"] == "missing_value"
    assert missing.error["reason"]["params"]["name"] == "request (Travel Request)"


def test_an_association_with_a_process_input_and_no_input_of_the_tasks_own_copies_nothing():
    bundle = parse_diagrams([_file(PROCESS_IO + _chain(_reads("t1", "request", "seen = request")))])
    said = [w.reason for w in bundle.warnings if w.element_id == "t1"]
    assert said and said[0].endswith("its value is in the task's data as request: nothing is copied")
    outcome = _run(bundle, MemoryDataStores(), data={"request": 3})
    assert outcome.status == "completed" and outcome.data["seen"] == 3


def test_an_association_that_transforms_the_value_is_refused():
    transform = '<bpmn:transformation>upper(t1_out)</bpmn:transformation>'
    reason = _refusal(PROCESS_IO + _chain(OWN_IO.format(extra=transform)))
    assert "of t1 changes the value of advert ('Advertisement') with an expression (its transformation)" in reason


def test_a_data_input_of_another_process_is_refused():
    other = ('<bpmn:process id="other" isExecutable="false"><bpmn:ioSpecification><bpmn:dataInput id="far"/>'
             '<bpmn:inputSet/><bpmn:outputSet/></bpmn:ioSpecification></bpmn:process>')
    reason = _refusal(_chain(_reads("t1", "far", "x = far")), other)
    assert "reads far, a data input of other, which is not around t1" in reason


def test_an_association_to_a_data_object_itself_reads_it_through_a_reference():
    obj = '<bpmn:dataObject id="amount"/>'
    bundle = parse_diagrams([_file(obj + _chain(_writes("t1", "amount", "amount = 3"),
                                                _reads("t2", "amount", "seen = amount")))])
    said = [w for w in bundle.warnings if w.element_id == "t1"]
    assert said and "the data object amount itself" in said[0].reason
    outcome = _run(bundle, MemoryDataStores())
    assert outcome.status == "completed" and outcome.data["seen"] == 3


def _sub(sub_id: str, body: str) -> str:
    """A subprocess: its own start -> body's element `{sub_id}_x` -> its own end."""
    return (f'<bpmn:subProcess id="{sub_id}"><bpmn:startEvent id="{sub_id}_s"/>{body}<bpmn:endEvent id="{sub_id}_e"/>'
            f'<bpmn:sequenceFlow id="{sub_id}_f1" sourceRef="{sub_id}_s" targetRef="{sub_id}_x"/>'
            f'<bpmn:sequenceFlow id="{sub_id}_f2" sourceRef="{sub_id}_x" targetRef="{sub_id}_e"/></bpmn:subProcess>')


def test_a_data_object_two_subprocesses_out_is_refused_rather_than_looped_on():
    reading = _reads("t1_x_x", "amount_ref", "x = amount")
    outer = _sub("t1", _sub("t1_x", reading))  # t1 > t1_x (a subprocess) > t1_x_x, the task
    objects = '<bpmn:dataObject id="amount"/><bpmn:dataObjectReference id="amount_ref" dataObjectRef="amount"/>'
    reason = _refusal(objects + _chain(outer))
    assert "data input association of t1_x_x" in reason and "2 subprocesses out" in reason


def test_a_data_object_one_subprocess_out_is_read():
    objects = '<bpmn:dataObject id="amount"/><bpmn:dataObjectReference id="amount_ref" dataObjectRef="amount"/>'
    bundle = parse_diagrams([_file(objects + _chain(_writes("t1", "amount_ref", "amount = 4"),
                                                    _sub("t2", _reads("t2_x", "amount_ref", "seen = amount"))))])
    outcome = _run(bundle, MemoryDataStores())
    assert outcome.status == "completed" and outcome.data["seen"] == 4


def test_a_data_object_of_another_process_is_refused():
    other = ('<bpmn:process id="other" isExecutable="false"><bpmn:dataObject id="amount"/>'
             '<bpmn:dataObjectReference id="amount_ref" dataObjectRef="amount"/></bpmn:process>')
    reason = _refusal(_chain(_reads("t1", "amount_ref", "x = amount")), other)
    assert "reads the data object amount of other, which is not around t1" in reason


def test_a_reference_to_a_store_the_file_does_not_define_is_refused():
    reason = _refusal(_chain(INCREMENT) + REF)
    assert "names the data store 'ledger', which the file does not define" in reason


def test_comments_are_dropped_and_the_text_around_them_kept():
    root = read_xml(b'<a><!-- one --><b>x = 1<!-- two -->\ny = 2</b><!-- three -->tail</a>', "c.xml")
    drop_comments(root)
    assert root.xpath("//comment()") == []
    assert root.find("b").text == "x = 1\ny = 2" and root.find("b").tail == "tail"
    commented = _chain('<bpmn:scriptTask id="t1"><!-- <bpmn:dataOutputAssociation/> -->'
                       '<bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>')
    assert _run(parse_diagrams([_file(commented)]), MemoryDataStores()).status == "completed"


def test_a_data_object_joined_to_the_tasks_own_input_and_output_is_copied_to_and_from_them():
    objects = ('<bpmn:dataObject id="amount"/><bpmn:dataObjectReference id="amount_ref" dataObjectRef="amount"/>'
               '<bpmn:dataObject id="total"/><bpmn:dataObjectReference id="total_ref" dataObjectRef="total"/>')
    task = ('<bpmn:scriptTask id="t2"><bpmn:ioSpecification><bpmn:dataInput id="t2_in"/><bpmn:dataOutput id="t2_out"/>'
            '<bpmn:inputSet><bpmn:dataInputRefs>t2_in</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet>'
            '<bpmn:dataOutputRefs>t2_out</bpmn:dataOutputRefs></bpmn:outputSet></bpmn:ioSpecification>'
            '<bpmn:dataInputAssociation id="b_in"><bpmn:sourceRef>amount_ref</bpmn:sourceRef><bpmn:targetRef>t2_in'
            '</bpmn:targetRef></bpmn:dataInputAssociation><bpmn:dataOutputAssociation id="b_out"><bpmn:sourceRef>'
            't2_out</bpmn:sourceRef><bpmn:targetRef>total_ref</bpmn:targetRef></bpmn:dataOutputAssociation>'
            '<bpmn:script>t2_out = t2_in * 2</bpmn:script></bpmn:scriptTask>')
    bundle = parse_diagrams([_file(objects + _chain(_writes("t1", "amount_ref", "amount = 4"), task,
                                                    _reads("t3", "total_ref", "seen = total")))])
    said = sorted(w.reason for w in bundle.warnings if w.element_id == "t2")
    assert [r.split("; ")[1] for r in said] == [
        "the import copies the data object amount into the task's data input t2_in when the task starts",
        "the import copies the task's data output t2_out into the data object total when the task completes"]
    outcome = _run(bundle, MemoryDataStores())
    assert outcome.status == "completed" and outcome.data["seen"] == 8


def test_a_task_that_leaves_its_own_data_input_or_output_unset_has_a_reason():
    task = ('<bpmn:scriptTask id="t1"><bpmn:ioSpecification><bpmn:dataInput id="t1_in"/><bpmn:dataOutput id="t1_out"/>'
            '<bpmn:inputSet><bpmn:dataInputRefs>t1_in</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet>'
            '<bpmn:dataOutputRefs>t1_out</bpmn:dataOutputRefs></bpmn:outputSet></bpmn:ioSpecification>'
            '<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')
    no_input = _run(parse_diagrams([_file(_chain(task.format(script="t1_out = 1")))]), MemoryDataStores())
    assert no_input.error["reason"]["code"] == "missing_value" and no_input.error["reason"]["params"]["name"] == "t1_in"
    no_output = _run(parse_diagrams([_file(_chain(task.format(script="x = t1_in")))]), MemoryDataStores(),
                     data={"t1_in": 1})
    assert no_output.error["reason"]["code"] == "data_output_missing"
    assert no_output.error["reason"]["text"] == ("t1 did not set its data output t1_out: set it in the task (a form "
                                                 "field, a script or a service's answer), then retry.")
