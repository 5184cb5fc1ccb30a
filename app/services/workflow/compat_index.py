"""Where `processes compat` finds what a diagram needs around it: the processes it calls and the
decisions it names, read once for the whole folder.

SpiffArena resolves a called process (and a decision) by id across its whole repository of process
models, not in the caller's folder only; a file's neighbours are looked at in that spirit, nearest
first: its own folder (for decisions, its folder and below), then its source tree (the first folder
under the measured folder), then the whole measured folder.
"""
from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from app.engine.implicit_flow import FLOW_NODES

_COMPARED = re.compile(r"""\b([A-Za-z_]\w*)\s*==\s*(['"])([^'"]*)\2|(['"])([^'"]*)\4\s*==\s*([A-Za-z_]\w*)\b""")
_DMN_NS = re.compile(rb"<([\w-]+:)?decision\b[^>]*\bid=\"([^\"]+)\"")
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _root(content: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(content, _XML)
    except etree.XMLSyntaxError:
        return None


def _has_flow_node(process: etree._Element) -> bool:
    return any(isinstance(n.tag, str) and etree.QName(n).localname in FLOW_NODES for n in process)


def executable_processes(content: bytes) -> list[tuple[str, bool]]:
    """(process id, executable) of each `<process>` of a BPMN document, read without SpiffWorkflow
    (the rows of a file that does not parse); [] when it is not XML. A process not marked
    `isExecutable="false"` with no flow node (a pool drawn empty) is not executable: there is nothing
    to run, and the import leaves it out (`implicit_flow`)."""
    root = _root(content)
    if root is None:
        return []
    return [(node.get("id") or "-", node.get("isExecutable", "true") == "true" and _has_flow_node(node))
            for node in root.iter("{*}process")]


def processes_with_end_events(content: bytes) -> set[str]:
    """The ids of the `<process>`es that hold an end event (their embedded subprocesses' count too)."""
    root = _root(content)
    if root is None:
        return set()
    return {node.get("id") or "-" for node in root.iter("{*}process") if next(node.iter("{*}endEvent"), None) is not None}


def message_ends(content: bytes) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """By message name, the ids of the processes of a BPMN document that send it (a send task, a message
    throw or end event) and of those that wait for it (a receive task, a message catch, boundary or start
    event); a message without a name goes by its id, as the parser reads it."""
    root = _root(content)
    sends: dict[str, set[str]] = {}
    waits: dict[str, set[str]] = {}
    if root is None:
        return sends, waits
    names = {m.get("id"): m.get("name") or m.get("id") for m in root.iter("{*}message")}
    for process in root.iter("{*}process"):
        pid = process.get("id") or "-"
        for node in process.iter("{*}sendTask", "{*}receiveTask"):
            side = sends if etree.QName(node).localname == "sendTask" else waits
            side.setdefault(names.get(node.get("messageRef"), node.get("messageRef") or ""), set()).add(pid)
        for node in process.iter("{*}messageEventDefinition"):
            kind = etree.QName(node.getparent()).localname
            side = sends if kind in ("intermediateThrowEvent", "endEvent") else waits
            side.setdefault(names.get(node.get("messageRef"), node.get("messageRef") or ""), set()).add(pid)
    sends.pop("", None)
    waits.pop("", None)
    return sends, waits


def decision_refs(content: bytes) -> set[str]:
    """The decision ids a BPMN document's business-rule tasks name, in the forms SpiffArena and Camunda
    write them (`spiffworkflow:calledDecisionId`, `spiffworkflow:calledDecision decisionId=`,
    `camunda:decisionRef`); an expression (`${...}`) names none."""
    root = _root(content)
    if root is None:
        return set()
    found: set[str] = set()
    for task in root.iter("{*}businessRuleTask"):
        found.update(v for k, v in task.attrib.items() if k.endswith("}decisionRef"))
        for node in task.iter("{*}calledDecisionId"):
            found.add((node.text or "").strip())
        for node in task.iter("{*}calledDecision"):
            found.add((node.get("decisionId") or "").strip())
    return {ref for ref in found if ref and "{" not in ref}


def compared_strings(contents: list[bytes]) -> dict[str, list[str]]:
    """The string literals the documents' conditions compare a variable with (`answer == 'Yes'`), by
    variable: the answers a person reading the diagram would know to give a free-text field."""
    found: dict[str, list[str]] = {}
    for content in contents:
        root = _root(content)
        if root is None:
            continue
        for node in root.iter("{*}conditionExpression", "{*}condition"):
            for m in _COMPARED.finditer(node.text or ""):
                name, value = (m.group(1), m.group(3)) if m.group(1) else (m.group(6), m.group(5))
                if value not in found.setdefault(name, []):
                    found[name].append(value)
    return found


class DiagramIndex:
    """The diagrams under `root` by the processes and decisions they define."""

    def __init__(self, root: Path, bpmn: list[Path], dmn: list[Path]) -> None:
        self.root = root
        self.bpmn = bpmn
        self.dmn = dmn
        self._decisions: dict[Path, tuple[str, ...]] = {}
        self._defines: dict[str, list[Path]] | None = None
        self._messages: dict[Path, tuple[dict[str, set[str]], dict[str, set[str]]]] = {}

    def decision_ids(self, path: Path) -> tuple[str, ...]:
        if path not in self._decisions:
            self._decisions[path] = tuple(m.group(2).decode("utf-8", "replace")
                                          for m in _DMN_NS.finditer(path.read_bytes()))
        return self._decisions[path]

    def dmn_under(self, folder: Path) -> list[Path]:
        return [p for p in self.dmn if folder in p.parents]

    def tree(self, path: Path) -> Path:
        """The file's source tree: the first folder under the measured folder (the folder itself for
        a file directly in it)."""
        parts = path.relative_to(self.root).parts
        return self.root / parts[0] if len(parts) > 1 else self.root

    def _nearest(self, candidates: list[Path], near: Path, own_folder_and_below: bool) -> Path | None:
        if not candidates:
            return None
        folder, tree = near.parent, self.tree(near)
        in_folder = [p for p in candidates if (folder in p.parents if own_folder_and_below else p.parent == folder)]
        in_tree = [p for p in candidates if tree in p.parents]
        return (in_folder or in_tree or candidates)[0]

    def _process_index(self) -> dict[str, list[Path]]:
        if self._defines is None:
            self._defines = {}
            for path in self.bpmn:
                for pid, _executable in executable_processes(path.read_bytes()):
                    self._defines.setdefault(pid, []).append(path)
        return self._defines

    def process_file(self, process_id: str, near: Path) -> Path | None:
        """The BPMN file, other than `near`, that defines `process_id`: in `near`'s folder, its source
        tree, else anywhere under the root; None when no file does."""
        return self._nearest([p for p in self._process_index().get(process_id, []) if p != near], near, False)

    def message_partners(self, near: Path, sends: set[str], waits: set[str]) -> list[Path]:
        """The other BPMN files of `near`'s conversation, those that wait for a message it sends or send one
        it waits for: in its folder, and, when its folder is a process model of its own (its only BPMN file,
        as SpiffArena keeps one model per folder), in the sibling models of its group. Nearest first."""
        folder = near.parent
        alone = [p for p in self.bpmn if p.parent == folder] == [near]
        found = []
        for path in self.bpmn:
            if path == near or not (path.parent == folder or (alone and path.parent.parent == folder.parent)):
                continue
            their_sends, their_waits = self.message_ends(path)
            if sends & set(their_waits) or waits & set(their_sends):
                found.append(path)
        return sorted(found, key=lambda p: (p.parent != folder, p.as_posix()))

    def message_ends(self, path: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        if path not in self._messages:
            self._messages[path] = message_ends(path.read_bytes())
        return self._messages[path]

    def decision_file(self, decision_id: str, near: Path) -> Path | None:
        """The DMN file that defines `decision_id`: under `near`'s folder, in its source tree, else
        anywhere under the root; None when no file does."""
        return self._nearest([p for p in self.dmn if decision_id in self.decision_ids(p)], near, True)

    def named_decision_files(self, decision_id: str) -> list[Path]:
        """DMN files whose `<definitions>` (not a decision) carry the id: a likely mix-up to name."""
        needle = f'id="{decision_id}"'.encode()
        return [p for p in self.dmn if needle in p.read_bytes().split(b"<decision", 1)[0]]
