"""BPMN data stores and data associations: what the import layer does with them, and the store itself.

A BPMN data store is data that outlives an instance and is shared by every instance that uses it (a
customer database, a ledger). SpiffWorkflow reads a `<dataStore>` only when its parser has an
implementation registered under the store's name (`DATA_STORE_CLASSES`) and refuses the file
otherwise. Loanflow gives every store drawn without an implementation of its own one: a
`LoanflowDataStore`, one JSON value kept by the application under the store's name (its key),
shared by every instance that names that store. A task with a data input association from the
store finds its value in its data under the store's id when it starts; a task with a data output
association to it writes what its data holds under that id when it completes (and the variable
leaves the task's data: the value lives in the store). The engine imports nothing of the
application: it reads and writes through the `DataStoreAccess` its script engine was given
(`ProcessEngine(data_stores=...)`), which the application backs with a table written in the step's
own transaction.

`prepare(root, filename)` repairs what has one meaning and refuses what has none, before
SpiffWorkflow reads the tree (each repair a warning naming the element):

- a store is Loanflow's, keyed by its name (said for each store); one without a name is keyed by
  its id; a data store reference that names no store stands for
  a store of its own, keyed by the reference's name (its id when it has none);
- SpiffArena's JSON stores (`JSONDataStore`, `JSONFileDataStore`: the name is the implementation,
  the key is the id) become Loanflow stores keyed by their id; its other stores, whose meaning is
  not one JSON value (`KKVDataStore`, `TypeaheadDataStore`), are refused;
- an association to a data object itself (not to a reference) gets a reference beside the object;
- an association with a data input or output of the process (or subprocess) around the task, which
  SpiffWorkflow does not resolve, is a copy between it and the task's own data input or output
  (`DataCopy`, noted on the task and attached to its spec after parsing, `attach_copies`), or
  nothing to copy when the task names none of its own: both live in the task's data by their ids;
- an association that names nothing, a data object outside the task's scope (or more than one
  subprocess out, which SpiffWorkflow's parser would loop on for ever), a data input or output of a
  process not around the task, or one that transforms the value with an expression is refused,
  naming the element and the reference.
"""
from __future__ import annotations

import json
from copy import deepcopy
from typing import Any, Protocol

from lxml import etree
from SpiffWorkflow.bpmn.serializer.helpers import BpmnDataSpecificationConverter
from SpiffWorkflow.bpmn.specs.data_spec import BpmnDataSpecification, BpmnDataStoreSpecification

from app.engine.errors import DiagramProblem, InstanceFault
from app.engine.said import said
from app.engine.xml import BPMN_NS
from app.engine.xml import source_line as _line
from app.engine.xml import unique_id as _unique

_B = f"{{{BPMN_NS}}}"
_SCOPES = frozenset({"process", "subProcess", "adHocSubProcess", "transaction"})
# SpiffArena's stores keep one JSON value keyed by the store's id (the name is the implementation)
SPIFFARENA_JSON_STORES = frozenset({"JSONDataStore", "JSONFileDataStore"})
# SpiffArena's stores whose meaning is not one JSON value
SPIFFARENA_OTHER_STORES = {
    "KKVDataStore": said("a two-level key-key-value table read through a lookup function"),
    "TypeaheadDataStore": said("a search index filled from a list"),
}


class DataStoreAccess(Protocol):
    """What the engine asks of the application: a store's value by its key, and a new value for it."""

    def read(self, key: str) -> Any: ...

    def write(self, key: str, value: Any) -> None: ...


class MemoryDataStores:
    """Stores in a dict: for an engine without a database (tests, a single run)."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})

    def read(self, key: str) -> Any:
        return deepcopy(self.values.get(key))

    def write(self, key: str, value: Any) -> None:
        self.values[key] = deepcopy(value)


def _json_problem(value: Any, path: str = "") -> str | None:
    """Why `value` is not a JSON value (None if it is)."""
    if value is None or isinstance(value, bool | int | str):
        return None
    if isinstance(value, float):
        return None if value == value and value not in (float("inf"), float("-inf")) else f"{path or 'it'} is {value}"
    if isinstance(value, list | tuple):
        return next((p for i, v in enumerate(value) if (p := _json_problem(v, f"{path}[{i}]"))), None)
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{path or 'it'} has the key {k!r}, which is not text"
            if (p := _json_problem(v, f"{path}[{k!r}]")) is not None:
                return p
        return None
    return f"{path or 'it'} is a {type(value).__name__}"


class DataStoreFault(InstanceFault):
    """A task cannot write its data store; `reason_code` and `reason_params` are its reason (`reasons`)."""

    def __init__(self, message: str, element_id: str, code: str, **params: str) -> None:
        super().__init__(message, element_id)
        self.reason_code = code
        self.reason_params = params


class LoanflowDataStore(BpmnDataStoreSpecification):
    """A data store kept by the application: one JSON value under `key` (the store's name)."""

    @property
    def key(self) -> str:
        return str(self.bpmn_name or self.bpmn_id)

    def _access(self, my_task) -> DataStoreAccess:  # noqa: ANN001
        access = getattr(my_task.workflow.script_engine, "data_stores", None)
        if access is None:
            raise InstanceFault(said("the data store %(store)r cannot be reached: this engine was given no data stores",
                                     store=self.key), my_task.task_spec.bpmn_id)
        return access  # type: ignore[no-any-return]

    def get(self, my_task) -> None:  # noqa: ANN001
        """The store's value into the task's data under the store's id (None: never written)."""
        my_task.data[self.bpmn_id] = self._access(my_task).read(self.key)

    def set(self, my_task) -> None:  # noqa: ANN001
        """What the task's data holds under the store's id becomes the store's value."""
        element = my_task.task_spec.bpmn_id
        if self.bpmn_id not in my_task.data:
            raise DataStoreFault(
                f"{element} writes the data store {self.key!r} from its variable {self.bpmn_id!r}, which it did not "
                f"set: set {self.bpmn_id} in the task, or remove the data output association", element,
                "data_store_unset", store=repr(self.key), name=self.bpmn_id)
        value = my_task.data[self.bpmn_id]
        problem = _json_problem(value)
        if problem is not None:
            raise DataStoreFault(
                f"{element} writes the data store {self.key!r} a value that is not JSON ({problem}): a data store "
                "holds text, numbers, true/false, null, lists and objects", element,
                "data_store_not_json", store=repr(self.key), problem=problem)
        self._access(my_task).write(self.key, json.loads(json.dumps(value)))
        del my_task.data[self.bpmn_id]


class DataCopy(BpmnDataSpecification):
    """A data association between item-aware elements that live in the task's data: a process's (or an
    enclosing subprocess's) data input or output and the task's own. `direction` "input": when the task
    starts, the value of `source` is copied to `bpmn_id` (the task's data input); "output": when it
    completes, the value of `source` (the task's data output) is copied to `bpmn_id`."""

    def __init__(self, bpmn_id: str, bpmn_name: str | None = None, source: str = "", direction: str = "input") -> None:
        super().__init__(bpmn_id, bpmn_name)
        self.source = source
        self.direction = direction

    def _copy(self, my_task) -> None:  # noqa: ANN001
        element = my_task.task_spec.bpmn_id
        if self.source not in my_task.data:
            label = f" ({self.bpmn_name})" if self.bpmn_name else ""
            raise DataStoreFault(f"{element} reads {self.source}{label}, which this instance has no value for",
                                 element, "missing_value", name=f"{self.source}{label}")
        my_task.data[self.bpmn_id] = deepcopy(my_task.data[self.source])

    def get(self, my_task) -> None:  # noqa: ANN001
        if self.direction == "input":
            self._copy(my_task)

    def set(self, my_task) -> None:  # noqa: ANN001
        if self.direction == "output":
            self._copy(my_task)


class _DataCopyConverter(BpmnDataSpecificationConverter):
    def to_dict(self, data_spec) -> dict:  # noqa: ANN001
        return {**super().to_dict(data_spec), "source": data_spec.source, "direction": data_spec.direction}


COPY_TAG = "{https://loanflow.local/bpmn/import}dataCopy"  # the import's note of a copy on its task


def attach_copies(spec, root: etree._Element) -> None:  # noqa: ANN001 - a process spec
    """The copies the import noted on the tasks of `root` (`prepare`), added to the task specs of `spec`:
    inputs after the data objects and stores SpiffWorkflow resolved, outputs before them."""
    noted: dict[str, list[etree._Element]] = {}
    for note in root.iter(COPY_TAG):
        owner = note.getparent()
        if owner is not None and owner.get("id"):
            noted.setdefault(str(owner.get("id")), []).append(note)
    for task_spec in spec.task_specs.values():
        for note in noted.get(getattr(task_spec, "bpmn_id", None) or "", []):
            copy = DataCopy(str(note.get("target")), note.get("label"), str(note.get("source")),
                            str(note.get("direction")))
            have = task_spec.data_input_associations if copy.direction == "input" else task_spec.data_output_associations
            if any(isinstance(d, DataCopy) and (d.source, d.bpmn_id) == (copy.source, copy.bpmn_id) for d in have):
                continue
            if copy.direction == "input":
                have.append(copy)
            else:
                have.insert(0, copy)


class _EveryNameIsAStore(dict):
    """SpiffWorkflow's `DATA_STORE_CLASSES`: every store the import layer let through is Loanflow's."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __getitem__(self, name: str) -> type[LoanflowDataStore]:
        return LoanflowDataStore


STORE_CLASSES: dict[str, type] = _EveryNameIsAStore()


def keys(specs) -> list[str]:  # noqa: ANN001 - process specs
    """The keys of the data stores the tasks of `specs` read or write, sorted."""
    found = {each.key for spec in specs for task_spec in spec.task_specs.values()
             for each in [*getattr(task_spec, "data_input_associations", []),
                          *getattr(task_spec, "data_output_associations", [])]
             if isinstance(each, LoanflowDataStore)}
    return sorted(found)


def register(parser) -> None:  # noqa: ANN001 - a SpiffWorkflow BpmnParser
    """Make `parser` read every data store as a Loanflow data store."""
    parser.DATA_STORE_CLASSES = STORE_CLASSES


def register_serializer(config: dict) -> None:
    """The serializer's converter for the store (a spec names its key; the value is never in a state)."""
    config[LoanflowDataStore] = BpmnDataSpecificationConverter
    config[DataCopy] = _DataCopyConverter


# -- the import layer ---------------------------------------------------------------------------


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _scope(node: etree._Element) -> etree._Element | None:
    """The process or subprocess `node` is drawn in."""
    parent = node.getparent()
    while parent is not None and _local(parent) not in _SCOPES:
        parent = parent.getparent()
    return parent


def prepare(root: etree._Element, filename: str) -> tuple[list[DiagramProblem], list[DiagramProblem]]:
    """Data stores and data associations: (refusals, changes); see the module's docstring."""
    taken = {str(i) for i in root.xpath("//@id")}
    refusals: list[DiagramProblem] = []
    changes: list[DiagramProblem] = []
    _stores(root, filename, taken, refusals, changes)
    _references(root, filename, taken, refusals, changes)
    _associations(root, filename, taken, refusals, changes)
    return refusals, changes


def _stores(root: etree._Element, filename: str, taken: set[str], refusals: list[DiagramProblem],
            changes: list[DiagramProblem]) -> None:
    for store in root.iter(f"{_B}dataStore"):
        if not store.get("id"):
            store.set("id", _unique("DataStore", taken))
            changes.append(DiagramProblem(filename, store.get("id"), said("the data store %(name)r had no id; the "
                                                                          "import gave it id %(id)s",
                                                                          name=store.get("name"), id=store.get("id")),
                                          _line(store), "warning"))
        store_id, name = store.get("id"), (store.get("name") or "").strip()
        if name in SPIFFARENA_OTHER_STORES:
            refusals.append(DiagramProblem(
                filename, store_id, said("the data store %(store)s is SpiffArena's %(kind)s, %(meaning)s; Loanflow's "
                                         "data stores hold one JSON value under their name: draw a data store of your "
                                         "own name and read or write its value", store=store_id, kind=name,
                                         meaning=SPIFFARENA_OTHER_STORES[name]), _line(store)))
        elif name in SPIFFARENA_JSON_STORES:
            store.set("name", store_id)
            changes.append(DiagramProblem(
                filename, store_id, said("the data store %(store)s is SpiffArena's %(kind)s, one JSON value kept "
                                         "under the store's id; the import keeps it as Loanflow's data store "
                                         "%(quoted)r, shared by every instance that names it (in Loanflow's own table: "
                                         "SpiffArena's copy of the value is not read)", store=store_id, kind=name,
                                         quoted=store_id),
                _line(store), "warning"))
        elif not name:
            store.set("name", store_id)
            changes.append(DiagramProblem(
                filename, store_id, said("the data store %(store)s has no name; the import keys its value by its "
                                         "id: it is Loanflow's data store %(quoted)r, shared by every instance that "
                                         "names it", store=store_id, quoted=store_id),
                _line(store), "warning"))
        else:
            changes.append(DiagramProblem(
                filename, store_id, said("the data store %(store)s names no implementation of its own; it is "
                                         "Loanflow's data store %(name)r, one JSON value shared by every instance "
                                         "that names it", store=store_id, name=name),
                _line(store), "warning"))


def _references(root: etree._Element, filename: str, taken: set[str], refusals: list[DiagramProblem],
                changes: list[DiagramProblem]) -> None:
    stores = {s.get("id"): s for s in root.iter(f"{_B}dataStore")}
    made: dict[str, str] = {}  # key -> id of the store the import drew for references naming no store
    for reference in root.iter(f"{_B}dataStoreReference"):
        ref_id, named = reference.get("id"), (reference.get("dataStoreRef") or "").strip()
        if named:
            if named not in stores:
                refusals.append(DiagramProblem(
                    filename, ref_id, said("the data store reference %(reference)s names the data store %(store)r, "
                                           "which the file does not define: draw the data store, or point the "
                                           "reference at one", reference=ref_id, store=named), _line(reference)))
            continue
        key = (reference.get("name") or "").strip() or str(ref_id)
        if key not in made:
            store = etree.Element(f"{_B}dataStore", id=_unique(f"DataStore_{ref_id}", taken), name=key)
            root.insert(0, store)
            stores[store.get("id")] = store
            made[key] = str(store.get("id"))
        reference.set("dataStoreRef", made[key])
        keyed_by = said("its name") if reference.get("name") else said("its id (it has no name)")
        changes.append(DiagramProblem(
            filename, ref_id, said("the data store reference %(reference)s names no data store; the import makes it "
                                   "Loanflow's data store %(store)r, keyed by %(keyed_by)s and shared by every "
                                   "instance that names it", reference=ref_id, store=key, keyed_by=keyed_by),
            _line(reference), "warning"))


def _associations(root: etree._Element, filename: str, taken: set[str], refusals: list[DiagramProblem],
                  changes: list[DiagramProblem]) -> None:
    """What SpiffWorkflow's parser resolves, checked first: the source of each data input association
    and the target of each data output association (the task's end of each is its own business)."""
    by_id = {node.get("id"): node for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    for kind, end in (("dataInputAssociation", "sourceRef"), ("dataOutputAssociation", "targetRef")):
        for association in list(root.iter(f"{_B}{kind}")):  # a copy's association leaves the tree
            owner = association.getparent()
            owner_id = owner.get("id") if owner is not None else None
            what = (said("data input association") if kind == "dataInputAssociation"
                    else said("data output association"))
            for ref in association.findall(f"{_B}{end}"):
                found = _resolve(ref, owner, by_id, taken, filename, what, changes)
                if found is not None:
                    refusals.append(DiagramProblem(filename, owner_id, found, _line(ref)))


def _resolve(ref: etree._Element, owner: etree._Element, by_id: dict, taken: set[str], filename: str, what: str,
             changes: list[DiagramProblem]) -> str | None:
    """Why the association's end `ref` cannot be read (None if it can, repairing what has one meaning)."""
    owner_id = owner.get("id")
    name = (ref.text or "").strip()
    target = by_id.get(name)
    if target is None:
        return said("the %(what)s of %(owner)s names %(name)r, which no element of the file has", what=what,
                    owner=owner_id, name=name)
    kind = _local(target)
    if kind == "dataStoreReference":
        return None  # its store was checked (or drawn) above
    if kind == "dataObject":  # an association to the object itself: read through a reference beside it
        reference = etree.Element(f"{_B}dataObjectReference", id=_unique(f"{name}_ref", taken), dataObjectRef=name)
        target.addnext(reference)
        by_id[reference.get("id")] = reference
        ref.text = reference.get("id")
        changes.append(DiagramProblem(
            filename, owner_id, said("the %(what)s of %(owner)s names the data object %(object)s itself; the import "
                                     "reads it through a data object reference %(reference)s beside it (the same "
                                     "object)", what=what, owner=owner_id, object=name, reference=reference.get("id")),
            _line(ref), "warning"))
        target = reference
        kind = "dataObjectReference"
    if kind == "dataObjectReference":
        refused = _object_in_scope(target, owner, by_id, what)
        if refused is None:
            _object_to_own_io(ref, owner, str(target.get("dataObjectRef")), filename, what, changes)
        return refused
    if kind in ("dataInput", "dataOutput"):
        return _io_copy(ref, owner, target, filename, what, changes)
    return said("the %(what)s of %(owner)s names %(name)s, a %(kind)s, which holds no data a task can read or write",
                what=what, owner=owner_id, name=name, kind=kind)


def _io_holder(node: etree._Element) -> etree._Element | None:
    """The process, subprocess or task whose ioSpecification declares the data input or output `node`."""
    parent = node.getparent()
    return parent.getparent() if parent is not None and _local(parent) == "ioSpecification" else None


def _own_io(association: etree._Element, owner: etree._Element, reading: bool) -> etree._Element | None:
    """The task's own data input (reading) or output the association's other end names, if it does."""
    other_end = association.find(f"{_B}{'targetRef' if reading else 'sourceRef'}")
    if other_end is None:
        return None
    wanted = (other_end.text or "").strip()
    return next((n for n in owner.iter(f"{_B}dataInput" if reading else f"{_B}dataOutput")
                 if n.get("id") == wanted and _io_holder(n) is owner), None)


def _object_to_own_io(ref: etree._Element, owner: etree._Element, object_id: str, filename: str, what: str,
                      changes: list[DiagramProblem]) -> None:
    """SpiffWorkflow reads a data object into the task's data under the object's id (and writes it back
    from there), while the task's own data input (or output) at the association's other end has an id
    of its own: the import copies between the two, and says so."""
    reading = what.startswith("data input")
    own = _own_io(ref.getparent(), owner, reading)
    if own is None:
        return
    source, target = (object_id, own.get("id")) if reading else (own.get("id"), object_id)
    if any(n.get("source") == source and n.get("target") == target for n in owner.findall(COPY_TAG)):
        return
    etree.SubElement(owner, COPY_TAG, direction="input" if reading else "output", source=str(source),
                     target=str(target), **({"label": own.get("name")} if own.get("name") else {}))
    change = (said("the %(what)s of %(owner)s joins the data object %(object)s to the task's own data input "
                   "%(own)s; the import copies the data object %(object)s into the task's data input %(own)s when "
                   "the task starts", what=what, owner=owner.get("id"), object=object_id, own=own.get("id"))
              if reading else
              said("the %(what)s of %(owner)s joins the data object %(object)s to the task's own data output "
                   "%(own)s; the import copies the task's data output %(own)s into the data object %(object)s when "
                   "the task completes", what=what, owner=owner.get("id"), object=object_id, own=own.get("id")))
    changes.append(DiagramProblem(filename, owner.get("id"), change, _line(ref), "warning"))


def _io_copy(ref: etree._Element, owner: etree._Element, target: etree._Element, filename: str, what: str,
             changes: list[DiagramProblem]) -> str | None:
    """An association between a data input or output of a process (or subprocess) around the task and
    the task: these live in the task's data under their ids, so it is a copy to or from the task's own
    data input or output (or nothing to do when the task names none). Refused when the element is not
    around the task, or the association transforms the value."""
    association, owner_id, name = ref.getparent(), owner.get("id"), (ref.text or "").strip()
    reading = what.startswith("data input")
    holder = _io_holder(target)
    label = target.get("name") or None
    named = f"{name} ({label!r})" if label else name  # the element's id and name: data, said as they are
    kind = said("data input") if _local(target) == "dataInput" else said("data output")
    verb = said("reads") if reading else said("writes")
    scope = _scope(owner)
    while scope is not None and scope is not holder:
        scope = _scope(scope)
    if holder is None or scope is None:
        where = said("of %(holder)s", holder=holder.get("id")) if holder is not None else said("outside any process")
        return said("the %(what)s of %(owner)s %(verb)s %(name)s, a %(kind)s %(where)s, which is not around "
                    "%(owner)s: a task reads and writes the data inputs and outputs of its own process", what=what,
                    owner=owner_id, verb=verb, name=named, kind=kind, where=where)
    expression = next((etree.QName(c).localname for c in association if isinstance(c.tag, str)
                       and etree.QName(c).localname in ("transformation", "assignment")), None)
    if expression is not None:
        return said("the %(what)s of %(owner)s changes the value of %(name)s with an expression (its "
                    "%(expression)s), which Loanflow does not evaluate: compute the value in a script task and remove "
                    "the expression", what=what, owner=owner_id, name=named, expression=expression)
    own = _own_io(association, owner, reading)
    whose = (said("the process %(id)s", id=holder.get("id")) if _local(holder) == "process"
             else said("the subprocess %(id)s", id=holder.get("id")))
    if own is None:
        note = (said("its value is in the task's data as %(name)s: nothing is copied", name=name) if reading else
                said("the task's data holds it as %(name)s: nothing is copied", name=name))
    else:
        source, copied_to = (name, own.get("id")) if reading else (own.get("id"), name)
        etree.SubElement(owner, COPY_TAG, direction="input" if reading else "output", source=str(source),
                         target=str(copied_to), **({"label": label} if label else {}))
        note = (said("the import copies it into the task's data input %(own)s when the task starts", own=own.get("id"))
                if reading else
                said("the import copies the task's data output %(own)s into it when the task completes",
                     own=own.get("id")))
    if association.getparent() is owner:  # an association with several sources leaves once
        owner.remove(association)
    changes.append(DiagramProblem(
        filename, owner_id, said("the %(what)s of %(owner)s %(verb)s %(name)s, a %(kind)s of %(whose)s; %(note)s",
                                 what=what, owner=owner_id, verb=verb, name=named, kind=kind, whose=whose, note=note),
        _line(ref), "warning"))
    return None


def _object_in_scope(reference: etree._Element, owner: etree._Element, by_id: dict, what: str) -> str | None:
    """A data object reference is read where its object is defined in the task's scope or the one
    around it (SpiffWorkflow's parser looks no further, and loops for ever when asked to)."""
    owner_id = owner.get("id")
    object_id = reference.get("dataObjectRef")
    data_object = by_id.get(object_id)
    if data_object is None or _local(data_object) != "dataObject":
        return said("the %(what)s of %(owner)s reads the data object reference %(reference)s, whose data object "
                    "%(object)r the file does not define", what=what, owner=owner_id, reference=reference.get("id"),
                    object=object_id)
    where = _scope(data_object)
    scope, depth = _scope(owner), 0
    while scope is not None and scope is not where:
        scope, depth = _scope(scope), depth + 1
    if scope is None:
        return said("the %(what)s of %(owner)s reads the data object %(object)s of %(scope)s, which is not around "
                    "%(owner)s: a task reads the data objects of its own process or subprocess and those around it",
                    what=what, owner=owner_id, object=object_id,
                    scope=where.get("id") if where is not None else said("another scope"))
    if depth > 1 and where is not None:
        return said("the %(what)s of %(owner)s reads the data object %(object)s of %(scope)s, %(depth)d subprocesses "
                    "out; SpiffWorkflow reads data objects of the task's own subprocess and the one around it only: "
                    "define the data object there, or pass the value in the task's data", what=what, owner=owner_id,
                    object=object_id, scope=where.get("id"), depth=depth)
    return None
