"""What `processes compat` counts as an executable process in a file it reads without SpiffWorkflow (a
file the import refuses): every `<process>` not marked `isExecutable="false"` that has something to run.
A pool drawn empty (Bizagi writes a `<process>` for each pool of a collaboration) is left out, as the
import leaves it out of a file it reads (`implicit_flow`), instead of counting as a process that did not run."""
from __future__ import annotations

from app.services.workflow.compat_index import executable_processes

B = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _doc(processes: str) -> bytes:
    return f'<definitions xmlns="{B}" id="d" targetNamespace="t">{processes}</definitions>'.encode()


def test_a_process_with_flow_nodes_counts_an_empty_or_non_executable_one_does_not():
    content = _doc('<process id="work"><startEvent id="s"/><userTask id="u"/></process>'
                   '<process id="pool"><documentation/><laneSet id="ls"/></process>'
                   '<process id="drawn_only" isExecutable="false"><task id="t"/></process>'
                   '<process id="calls"><callActivity id="c" calledElement="x"/></process>')
    assert executable_processes(content) == [("work", True), ("pool", False), ("drawn_only", False), ("calls", True)]


def test_a_file_that_is_not_xml_has_no_process():
    assert executable_processes(b"not <xml") == []


def test_the_camunda_forms_of_a_diagrams_maven_module_are_found_farthest_first(tmp_path):
    from app.services.workflow.compat_index import DiagramIndex
    from app.services.workflow.compat_needs import Needs

    module = tmp_path / "examples" / "invoice"
    (module / "src" / "main" / "resources").mkdir(parents=True)
    (module / "src" / "main" / "webapp" / "forms").mkdir(parents=True)
    near = module / "src" / "main" / "webapp" / "task.form"
    far = module / "src" / "main" / "webapp" / "forms" / "task.form"
    for path in (near, far, tmp_path / "examples" / "other.form"):
        path.write_text("{}", encoding="utf-8")
    needs = Needs(DiagramIndex(tmp_path, [], []))
    try:
        assert needs.application_forms(module / "src" / "main" / "resources") == [far, near]
        # not in a module: the forms below its folder (a Camunda 8 project's `Diagrams/Forms/`), farthest first
        assert needs.application_forms(tmp_path / "examples") == [far, near, tmp_path / "examples" / "other.form"]
        merged = needs.forms_folder(module / "src" / "main" / "resources", [])
        assert [p.name for p in merged.iterdir()] == ["task.form"]
    finally:
        needs.close()
