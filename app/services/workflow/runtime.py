"""The per-application engine runtime: the process engine, the handler registry, the spec cache."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.engine.errors import InstanceFault
from app.engine.runner import ProcessEngine, ServiceBusinessError
from app.engine.task_ids import deterministic_ids
from app.extensions import db
from app.models import ProcessVersion
from app.services import clock, context
from app.services.workflow import data_stores
from app.services.workflow.operators import BusinessError, HandlerContext, HandlerRegistry, UnknownOperator


@dataclass(frozen=True)
class StepContext:
    instance_id: int | None
    business_key: str | None


_step: ContextVar[StepContext | None] = ContextVar("loanflow_step", default=None)


class SpecCache:
    """Parsed specs by process-version id; a version's spec never changes, so entries never go stale."""

    def __init__(self, engine: ProcessEngine, maxsize: int = 512) -> None:
        self._engine = engine
        self._maxsize = maxsize
        self._entries: OrderedDict[int, tuple[Any, dict]] = OrderedDict()
        self._forms: dict[int, dict[str, int]] = {}
        self._lock = threading.Lock()

    def get_many(self, version_ids: list[int]) -> dict[int, tuple[Any, dict]]:
        found: dict[int, tuple[Any, dict]] = {}
        with self._lock:
            for vid in version_ids:
                if vid in self._entries:
                    self._entries.move_to_end(vid)
                    found[vid] = self._entries[vid]
        missing = [vid for vid in version_ids if vid not in found]
        if missing:
            rows = db.session.execute(select(ProcessVersion.id, ProcessVersion.spec, ProcessVersion.forms)
                                      .where(ProcessVersion.id.in_(missing))).all()
            for vid, text, forms in rows:
                found[vid] = self._engine.serializer.load_spec(text)
                self._forms[vid] = dict(forms or {})
            with self._lock:
                for vid in missing:
                    if vid in found:
                        self._entries[vid] = found[vid]
                while len(self._entries) > self._maxsize:
                    evicted, _ = self._entries.popitem(last=False)
                    self._forms.pop(evicted, None)
        return found

    def forms(self, version_id: int) -> dict[str, int]:
        """Form file name -> form_versions.id of a version (cached with its spec)."""
        if version_id not in self._forms:
            self.get_many([version_id])
        return self._forms.get(version_id, {})

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._forms.clear()

    def workflow_specs(self, version_id: int, pins: dict[str, int]) -> tuple[Any, dict]:
        """The spec of a version and every subprocess spec it may run (embedded and pinned calls)."""
        ids = [version_id, *pins.values()]
        entries = self.get_many(ids)
        spec, embedded = entries[version_id]
        subprocess_specs = dict(embedded)
        for process_id, vid in pins.items():
            called, called_embedded = entries[vid]
            subprocess_specs[process_id] = called
            subprocess_specs.update(called_embedded)
        return spec, subprocess_specs


class LiveWorkflows:
    """Workflows of recently stepped instances, keyed by (instance id, lock_version).

    A step takes its instance's workflow (with what else it knew: its open task rows and parties)
    from here instead of restoring the state text, when the row has not changed since this process
    last stepped it; anything that changes those rows also moves the lock_version. Taking removes the entry, so two
    threads never share one workflow object; a step puts it back only after its commit.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self._maxsize = maxsize
        self._entries: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: int, lock_version: int) -> Any | None:
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        if entry is not None and entry[0] == lock_version:
            return entry[1]
        return None

    def keep(self, instance_id: int, lock_version: int, workflow: Any) -> None:
        with self._lock:
            self._entries[instance_id] = (lock_version, workflow)
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Runtime:
    def __init__(self, max_tree_depth: int, handlers: HandlerRegistry) -> None:
        self.handlers = handlers
        self.engine = ProcessEngine(max_tree_depth, call_service=self._call_service, clock=clock.now,
                                    data_stores=data_stores.StoreAccess())
        self.specs = SpecCache(self.engine)
        self.live = LiveWorkflows()
        self.form_contents: dict[int, dict] = {}  # form_versions rows never change once written
        self.latest_versions: dict[str, tuple[Any, float]] = {}  # process id -> (LatestVersion, expiry)

    def clear_caches(self) -> None:
        """Forget cached specs, forms and workflows (tests that empty the tables need this)."""
        self.specs.clear()
        self.live.clear()
        self.form_contents.clear()
        self.latest_versions.clear()

    def _call_service(self, operator: str, params: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        step = _step.get() or StepContext(None, None)
        ctx = HandlerContext(step.instance_id, step.business_key, context["element_id"],
                             f"{step.instance_id}:{context['engine_task_id']}", context["engine_task_id"])
        try:
            return self.handlers.call(operator, params, ctx)
        except UnknownOperator as exc:  # retrying cannot help: an incident at once
            raise InstanceFault(str(exc), context["element_id"], kind="unknown_operator") from exc
        except BusinessError as exc:
            raise ServiceBusinessError(exc.code, str(exc), exc.payload, context["engine_task_id"]) from exc

    @staticmethod
    @contextmanager
    def step(instance_id: int | None, business_key: str | None, lock_version: int = 0) -> Iterator[None]:
        """Mark which instance the engine is stepping (handler contexts) and make its new task ids
        repeatable: the same step redone from the same state gives the same ids, hence the same keys."""
        token = _step.set(StepContext(instance_id, business_key))
        try:
            with deterministic_ids(f"{instance_id}:{lock_version}"), data_stores.step_stores(instance_id):
                yield
        finally:
            _step.reset(token)


def runtime() -> Runtime:
    """The running application's runtime (the application factory keeps it as `loanflow_runtime`)."""
    return context.extension("loanflow_runtime")
