"""BPMN data stores' values (`app/engine/data_stores.py`), in the table `data_store_values`.

The engine reads and writes a store through `StoreAccess`, which acts for the step running in this
thread (`Runtime.step` opens one `StepStores` per step): a read takes the row's value and version (on
PostgreSQL it also locks the row until the step's transaction ends, so a second instance reading
the same store waits for the first to commit and reads its value); a write is kept until the step
has run and is then written over the version this step read (`flush`, inside the step's
transaction). If another instance wrote the store in between (SQLite takes no row lock), the step
is refused with a conflict and changes nothing: no write is lost. A value read in one step and
written back in a later one (a user task that shows the store and saves it) writes over whatever
the store holds then, as a person editing a shared record would.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import deepcopy
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import DataStoreValue
from app.services.clock import now
from app.services.errors import Conflict

STORES: Table = DataStoreValue.__table__  # type: ignore[assignment]
CONFLICT = "a data store this step writes was written by another instance at the same time; retry"


def _core(statement, params: Any = None):  # noqa: ANN001, ANN202
    return db.session.connection().execute(statement, params)


class StepStores:
    """The data stores one step reads and writes: versions read, values to write."""

    def __init__(self, instance_id: int | None) -> None:
        self.instance_id = instance_id
        self.versions: dict[str, int | None] = {}  # key -> version read (None: no row yet)
        self.pending: dict[str, Any] = {}

    def _load(self, key: str) -> Any:
        row = _core(select(STORES.c.value, STORES.c.version).where(STORES.c.key == key).with_for_update()).first()
        if key not in self.versions:
            self.versions[key] = row.version if row is not None else None
        return row.value if row is not None else None

    def read(self, key: str) -> Any:
        if key in self.pending:
            return deepcopy(self.pending[key])
        return self._load(key)

    def write(self, key: str, value: Any) -> None:
        if key not in self.versions:  # a write without a read: over whatever the store holds now
            self._load(key)
        self.pending[key] = deepcopy(value)

    def flush(self) -> None:
        """Write the step's values over the versions it read; `Conflict` if another step wrote first."""
        at = now()
        for key, value in self.pending.items():
            version = self.versions.get(key)
            if version is None:
                try:  # the store's first value; another step's insert of the same key makes this one fail
                    _core(insert(STORES).values(key=key, value=value, version=1, updated_at=at,
                                                updated_by_instance_id=self.instance_id))
                except IntegrityError:
                    raise Conflict(CONFLICT, code="stale_version") from None
                self.versions[key] = 1
                continue
            written = _core(update(STORES).where(STORES.c.key == key, STORES.c.version == version).values(
                value=value, version=version + 1, updated_at=at, updated_by_instance_id=self.instance_id)).rowcount
            if written != 1:
                raise Conflict(CONFLICT, code="stale_version")
            self.versions[key] = version + 1
        self.pending.clear()


_current: ContextVar[StepStores | None] = ContextVar("loanflow_data_stores", default=None)


@contextmanager
def step_stores(instance_id: int | None) -> Iterator[StepStores]:
    """The data stores of the step running in this context (see `StoreAccess`)."""
    stores = StepStores(instance_id)
    token = _current.set(stores)
    try:
        yield stores
    finally:
        _current.reset(token)


def flush() -> None:
    """Write what the current step wrote to data stores (`run_step` calls it before its commit)."""
    stores = _current.get()
    if stores is not None:
        stores.flush()


class StoreAccess:
    """The engine's `DataStoreAccess`: the current step's stores (a read outside a step opens none)."""

    @staticmethod
    def _stores() -> StepStores:
        stores = _current.get()
        if stores is None:
            raise RuntimeError("a data store was used outside an instance's step")
        return stores

    def read(self, key: str) -> Any:
        return self._stores().read(key)

    def write(self, key: str, value: Any) -> None:
        self._stores().write(key, value)


def values(keys: list[str]) -> dict[str, Any]:
    """The values of the stores `keys` (a store never written is left out)."""
    if not keys:
        return {}
    rows = db.session.execute(select(STORES.c.key, STORES.c.value).where(STORES.c.key.in_(keys))).all()
    return {row.key: row.value for row in rows}
