"""What the OpenAPI document says about errors and callers: every error an operation answers, in the one shape.

Each operation lists its error statuses, with no catch-all `default`, so a status the document does
not name is a bug the schema tests (tests/integration/test_api_schema.py) catch. Some errors
belong to every operation of a blueprint and are added here; the rest a route names itself with
`@blp.errors(403, 404, ...)`:

- 400 on every operation: a malformed request (a NUL or a lone surrogate in its text, a body that
  is not standard JSON).
- 401 and the bearer security requirement on every operation of a blueprint that resolves its
  caller (`require_user`).
- 413 on every operation that takes a body: a request larger than MAX_CONTENT_LENGTH.
- 422 on every operation with arguments (flask-smorest adds it): input that does not validate.
"""
from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def error_response(status: int) -> str:
    """The name of the response component flask-smorest registers for an error status (the error shape)."""
    return HTTPStatus(status).name


class DocumentedErrors:
    """A flask-smorest Blueprint mixin: the errors of every operation, documented."""

    _prepare_doc_cbks: list[Callable[..., dict[str, Any]]]
    before_request_funcs: dict[Any, list[Callable[..., Any]]]
    alt_response: Callable[..., Callable[[Callable[..., Any]], Callable[..., Any]]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_errors_doc)

    def errors(self, *statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: the route answers these error statuses too, each with the error shape."""
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            for status in statuses:
                func = self.alt_response(status, response=error_response(status))(func)
            return func
        return decorator

    def _requires_user(self) -> bool:
        from app.api.auth import require_user

        return require_user in self.before_request_funcs.get(None, [])

    def _prepare_errors_doc(self, doc: dict[str, Any], doc_info: dict[str, Any], **_: Any) -> dict[str, Any]:
        responses = doc.setdefault("responses", {})
        statuses = [400]
        if self._requires_user():
            statuses.append(401)
            doc["security"] = BEARER
        if "requestBody" in doc or "requestBody" in doc_info.get("manual_doc", {}):
            statuses.append(413)
        for status in statuses:
            responses.setdefault(status, error_response(status))
        return doc
