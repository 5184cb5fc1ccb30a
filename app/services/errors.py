"""Errors the use cases raise: each carries a kind (what went wrong), never an HTTP status.

The API and the pages turn a kind into a response (`app.api.errors.STATUS_BY_KIND`); the command
line and the worker read the message. `code` is the machine-readable reason a client sees.

A message a person may read is given as `context.lazy_gettext("...")`: it is read in the reader's
language where the error is raised (a page, the API), in English on the command line and in the worker.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Protocol


class Text(Protocol):
    """A message: a `str`, or a translation read with `str()` (`app.services.context.lazy_gettext`)."""

    def __str__(self) -> str: ...


class ErrorKind(StrEnum):
    BAD_REQUEST = "bad_request"    # the request cannot be understood as asked
    UNAUTHORIZED = "unauthorized"  # who is asking is unknown
    FORBIDDEN = "forbidden"        # the asker may not do this
    NOT_FOUND = "not_found"        # no such thing, or not one the asker may see
    CONFLICT = "conflict"          # the state moved on: done already, a stale version
    TOO_LARGE = "too_large"        # more than a limit allows
    INVALID = "invalid"            # well-formed but wrong: per-field errors


class ServiceError(Exception):
    kind = ErrorKind.BAD_REQUEST
    code = "bad_request"

    def __init__(self, message: str | Text, fields: Mapping[str, Sequence[str | Text]] | None = None,
                 code: str | None = None) -> None:
        text = str(message)  # a translation is read now: in the language of the request that raised it
        super().__init__(text)
        self.message = text
        self.translated = not isinstance(message, str)  # False: English, the catalogue may not have it
        self.fields = {name: [str(m) for m in messages] for name, messages in (fields or {}).items()}
        if code:
            self.code = code


class NotFound(ServiceError):
    kind = ErrorKind.NOT_FOUND
    code = "not_found"


class Forbidden(ServiceError):
    kind = ErrorKind.FORBIDDEN
    code = "forbidden"


class Unauthorized(ServiceError):
    kind = ErrorKind.UNAUTHORIZED
    code = "unauthorized"


class Conflict(ServiceError):
    kind = ErrorKind.CONFLICT
    code = "conflict"


class Invalid(ServiceError):
    kind = ErrorKind.INVALID
    code = "invalid"


class TooLarge(ServiceError):
    kind = ErrorKind.TOO_LARGE
    code = "too_large"
