"""The per-application engine runtime: the process engine, the handler registry, the spec cache."""
from __future__ import annotations

import threading
from collections import OrderedDict
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from app.engine.runner import ProcessEngine
from app.extensions import db
from app.models import ProcessVersion
from handlers import HandlerContext, HandlerRegistry, default_registry


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


class Runtime:
    def __init__(self, app: Flask, handlers: HandlerRegistry | None = None) -> None:
        self.handlers = handlers or default_registry()
        self.engine = ProcessEngine(app.config["ENGINE_MAX_TREE_DEPTH"], call_service=self._call_service)
        self.specs = SpecCache(self.engine)

    def _call_service(self, operator: str, params: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        step = _step.get() or StepContext(None, None)
        ctx = HandlerContext(step.instance_id, step.business_key, context["element_id"],
                             f"{step.instance_id}:{context['engine_task_id']}")
        return self.handlers.call(operator, params, ctx)

    @staticmethod
    def step(instance_id: int | None, business_key: str | None):  # noqa: ANN205
        """Context manager marking which instance the engine is stepping (for handler contexts)."""
        return _StepScope(StepContext(instance_id, business_key))


class _StepScope:
    def __init__(self, ctx: StepContext) -> None:
        self._ctx = ctx
        self._token: Token[StepContext | None] | None = None

    def __enter__(self) -> StepContext:
        self._token = _step.set(self._ctx)
        return self._ctx

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _step.reset(self._token)


def runtime() -> Runtime:
    return current_app.extensions["loanflow_runtime"]
