"""Files posted in a form's fields (a task's, or a start form's): each checked against the types its field
accepts, kept as a document of the instance in the caller's transaction, and its field's value made
`document:<id>`. Nothing is kept when anything is refused."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid
from app.services.workflow.documents import sniff, store_document
from app.text_input import is_whole


@dataclass(frozen=True)
class Upload:
    """A file posted in a form field (dotted path), already checked by `documents.sniff`."""

    field: str
    filename: str
    content: bytes


PENDING_DOCUMENT = "document:pending"


def keep(instance_id: int, task_id: int | None, schema: dict[str, Any] | None, uploads: Sequence[Upload],
         data: dict[str, Any], actor_id: int | None) -> None:
    """Refuse a file its field does not accept (422, next to the field), else keep each upload as a document of
    the instance (of the task, when one was worked) and set its field in `data` to `document:<id>`."""
    refuse_unaccepted(schema, uploads)
    for upload in uploads:
        document_id = store_document(instance_id, task_id, upload.field, upload.filename, upload.content, actor_id)
        _set_path(data, upload.field, f"document:{document_id}")


FILE_TYPE_NAMES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG", "text/plain": "CSV",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
                   "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
                   "application/zip": "ZIP"}


def _field_schema(schema: dict[str, Any] | None, dotted: str) -> dict[str, Any]:
    """The form's property of a dotted field path (`items.0.invoice`), {} when there is none."""
    prop: Any = schema or {}
    for part in dotted.split("."):
        if is_whole(part) and isinstance(prop, dict) and isinstance(prop.get("items"), dict):
            prop = prop["items"]
            continue
        prop = ((prop or {}).get("properties") or {}).get(part) if isinstance(prop, dict) else None
    return prop if isinstance(prop, dict) else {}


def _field_of(dotted: str) -> str:
    """The form field a file's path belongs to: `scans.1` (the second of a field's files) is said at `scans`;
    `items.0.invoice` (a file in a row) at its own place."""
    head, _dot, last = dotted.rpartition(".")
    return head if head and is_whole(last) else dotted


def refuse_unaccepted(schema: dict[str, Any] | None, uploads: Sequence[Upload]) -> None:
    """A file field may name the types it takes (`"accept": [MIME types]`, judged from the bytes):
    any other file is refused next to its field (422), before anything is kept."""
    fields: dict[str, list[str]] = {}
    for upload in uploads:
        accept = _field_schema(schema, upload.field).get("accept")
        if not isinstance(accept, list) or not accept:
            continue
        content_type, _kind = sniff(upload.content, upload.filename)
        if content_type not in accept:
            message = _l("%(type)s is not accepted here: the file must be %(allowed)s.",
                         type=FILE_TYPE_NAMES.get(content_type, content_type),
                         allowed=", ".join(FILE_TYPE_NAMES.get(str(a), str(a)) for a in accept))
            fields.setdefault(_field_of(upload.field), []).append(message)
    if fields:
        raise Invalid(_l("The form has errors: see the fields."), fields=fields, code="form_invalid")


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `items.0.invoice` style paths in submitted data."""
    parts = dotted.split(".")
    target: Any = data
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
    if isinstance(target, list):
        target[int(parts[-1])] = value
    else:
        target[parts[-1]] = value
