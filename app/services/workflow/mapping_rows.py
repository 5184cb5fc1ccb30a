"""The rows of the admin's mapping tables (`operator_mappings`, `group_mappings`): one per key however many
admins write it at once (mapping again replaces; of two first mappings racing, the later wins), removed by
id, each change committed or rolled back whole."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import Model, db
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, NotFound
from app.services.identity.user_admin import MAX_ID

Row = TypeVar("Row", bound=Model)
T = TypeVar("T")


def upsert(model: type[Row], key: dict[str, Any], values: dict[str, Any], actor_id: int | None) -> Row:
    """The row of `key`, with `values` set; made (by `actor_id`) when there is none. The insert that loses
    a race with another transaction's finds the winner's row on its second look and replaces its values,
    as one mapping after the other would; in the caller's transaction (a savepoint around the insert)."""
    for _attempt in range(2):
        row = db.session.execute(select(model).filter_by(**key)).scalar_one_or_none()
        if row is not None:
            for name, value in values.items():
                setattr(row, name, value)
            return row
        row = model(**key, **values, created_by_id=actor_id)
        try:
            with db.session.begin_nested():
                db.session.add(row)
            return row
        except IntegrityError:
            continue
    raise Conflict(_l("The mapping changed meanwhile; try again."), code="mapping_changed")


def removed(model: type[Row], mapping_id: int | None = None, **key: Any) -> Row:
    """The row of that id (or of that key: the command line names what the diagram says), deleted in the
    caller's transaction; NotFound when there is none (the ids are 32-bit integers: a bigger one is no row,
    not an overflow)."""
    if mapping_id is not None:
        row = db.session.get(model, mapping_id) if 0 < mapping_id <= MAX_ID else None
    else:
        row = db.session.execute(select(model).filter_by(**key)).scalar_one_or_none()
    if row is None:
        raise NotFound(_l("No such mapping."), code="mapping_not_found")
    db.session.delete(row)
    return row


def committed(change: Callable[[], T]) -> T:
    """What `change` returns, its writes committed; nothing written when it raises."""
    try:
        result = change()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
