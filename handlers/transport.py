"""JSON over HTTP for the adapters' real clients: one POST (or a GET of a document) with a timeout and bounded retries.

Standard library only (`urllib.request`). A connection error, a timeout or a 5xx answer is retried
`retries` times with a short doubling backoff; then `ProviderUnavailable` is raised. A 4xx answer
is not retried: it raises `ProviderError` carrying the provider's own message (the platform's
error shape `{"error": {"message"}}`, a top-level `message`, or the start of the body).
"""
from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from handlers.errors import ProviderError, ProviderUnavailable

BACKOFF_SECONDS = 0.2  # before the first retry; doubled before each next one
_BODY_EXCERPT = 200


def endpoint(base_url: str, path: str) -> str:
    """`base_url` joined with `path`; ValueError unless the base is an http(s) URL (checked when a client is built)."""
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ValueError(f"a provider's URL starts with http:// or https://, not {base_url!r}")
    return base_url.rstrip("/") + path


def post_json(url: str, payload: Mapping[str, Any], *, api_key: str, provider: str, timeout: float = 5,
              retries: int = 2, idempotency_key: str | None = None,
              sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """POST `payload` as JSON to `url` with `Authorization: Bearer <api_key>`; the JSON object answered.

    At most `retries + 1` attempts. `idempotency_key`, when given, is sent as `Idempotency-Key` so a
    provider can recognise a retried request it already carried out. `sleep` is the backoff's wait
    (tests pass one that does not wait).
    """
    if retries < 0:
        raise ValueError("retries must be zero or more")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"a provider's URL starts with http:// or https://, not {url!r}")
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
               "Authorization": f"Bearer {api_key}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return _json_object(_exchange(lambda: urllib.request.Request(url, data=data, headers=headers, method="POST"),
                                  provider=provider, timeout=timeout, retries=retries, sleep=sleep), provider)


def get_bytes(url: str, *, api_key: str, provider: str, timeout: float = 5, retries: int = 2,
              sleep: Callable[[float], None] = time.sleep) -> bytes:
    """GET `url` with `Authorization: Bearer <api_key>`; the body answered (a document), retried like `post_json`."""
    if retries < 0:
        raise ValueError("retries must be zero or more")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"a provider's URL starts with http:// or https://, not {url!r}")
    headers = {"Authorization": f"Bearer {api_key}"}
    return _exchange(lambda: urllib.request.Request(url, headers=headers, method="GET"), provider=provider,
                     timeout=timeout, retries=retries, sleep=sleep)


def _exchange(make_request: Callable[[], urllib.request.Request], *, provider: str, timeout: float, retries: int,
              sleep: Callable[[float], None]) -> bytes:
    """The body of the first 2xx answer; 4xx raises ProviderError, and unreachable or 5xx after the retries
    ProviderUnavailable."""
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(make_request(), timeout=timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                text = exc.read().decode("utf-8", "replace")
            if exc.code >= 500:
                last = f"answered HTTP {exc.code}: {_message_of(text) or exc.reason}"
                continue
            raise ProviderError(_message_of(text) or str(exc.reason), provider=provider, status=exc.code) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            last = f"unreachable: {str(reason) or type(reason).__name__}"
            continue
    raise ProviderUnavailable(f"{last} after {retries + 1} attempt(s)", provider=provider)


def _json_object(body: bytes, provider: str) -> dict[str, Any]:
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProviderError("answered something that is not JSON", provider=provider) from exc
    if not isinstance(answer, dict):
        raise ProviderError("answered JSON that is not an object", provider=provider)
    return answer


def _message_of(text: str) -> str:
    """The provider's message in an error body, whichever common shape it has."""
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        return text.strip()[:_BODY_EXCERPT]
    if isinstance(answer, dict):
        error = answer.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
        if isinstance(answer.get("message"), str):
            return answer["message"]
    return text.strip()[:_BODY_EXCERPT]


Reader = Callable[[Any], Any]


class JsonClient:
    """The shape every adapter's real client shares: a provider's base URL and API key
    (`Authorization: Bearer`), a timeout per attempt, `retries` after the first attempt on a connection
    error, a timeout or a 5xx answer (then `ProviderUnavailable`), and answers read into the adapter's
    records (an answer that does not read is a `ProviderError`). `provider` names it in errors."""

    provider = ""

    def __init__(self, base_url: str, api_key: str, timeout: float = 5, retries: int = 2, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        endpoint(base_url, "")  # refuse a base that is no http(s) URL when the client is built
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep  # the backoff's wait; tests pass one that does not wait

    def post(self, path: str, payload: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        return post_json(endpoint(self.base_url, path), payload, api_key=self.api_key, provider=self.provider,
                         timeout=self.timeout, retries=self.retries, idempotency_key=idempotency_key,
                         sleep=self.sleep)

    def read(self, answer: Any, reader: Reader, what: str) -> Any:
        """`reader(answer)`, or a `ProviderError` saying the provider answered `what` that does not read."""
        try:
            return reader(answer)
        except ValueError as exc:
            raise ProviderError(f"answered {what} that does not read: {exc}", provider=self.provider) from exc
