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
