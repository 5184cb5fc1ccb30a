"""The e-signature adapter's real client for a configured provider (CFCA-style HTTP API).

`POST {base_url}/api/flows` with the `FlowRequest` as JSON (the PDF in base64) answers `{"id"}`;
`GET {base_url}/api/flows/{id}/document` answers the signed PDF; `GET {base_url}/api/flows?business_key=KEY`
answers `{"items": [{"id", "status", "signers": [...]}]}`, who has signed; completion callbacks are signed with
the shared `callback_secret` (`handlers.esign.callbacks`).
"""
from __future__ import annotations

import hashlib
import json
import time
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import datetime

from handlers.errors import ProviderError
from handlers.transport import endpoint, get_bytes, post_json

from .callbacks import verify_callback
from .model import FlowEvent, FlowRequest, FlowState

PROVIDER = "esign"


class HttpESignClient:
    """An `ESignProvider` over HTTP (`Authorization: Bearer <api_key>`); `timeout`, `retries` and `sleep`
    as for the other adapters' clients."""

    def __init__(self, base_url: str, api_key: str, callback_secret: str, timeout: float = 10, retries: int = 2, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url
        self.flows_url = endpoint(base_url, "/api/flows")
        self.api_key = api_key
        self.callback_secret = callback_secret
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep

    def create_flow(self, request: FlowRequest) -> str:
        """The provider's id of a new flow; the same request sent again carries the same idempotency key."""
        key = f"{request.business_key}:{hashlib.sha256(request.document).hexdigest()[:16]}"
        answer = post_json(self.flows_url, request.to_dict(), api_key=self.api_key, provider=PROVIDER,
                           timeout=self.timeout, retries=self.retries, idempotency_key=key, sleep=self.sleep)
        flow_id = answer.get("id")
        if not isinstance(flow_id, str) or not flow_id:
            raise ProviderError("answered a flow without an id", provider=PROVIDER)
        return flow_id

    def signed_document(self, flow_id: str) -> bytes:
        url = f"{self.flows_url}/{urllib.parse.quote(flow_id, safe='')}/document"
        document = get_bytes(url, api_key=self.api_key, provider=PROVIDER, timeout=self.timeout,
                             retries=self.retries, sleep=self.sleep)
        if not document.startswith(b"%PDF-"):
            raise ProviderError("answered a signed document that is not a PDF", provider=PROVIDER)
        return document

    def flows(self, business_key: str) -> list[FlowState]:
        """The provider's flows of `business_key`, oldest first, with their signers."""
        url = f"{self.flows_url}?{urllib.parse.urlencode({'business_key': business_key})}"
        body = get_bytes(url, api_key=self.api_key, provider=PROVIDER, timeout=self.timeout, retries=self.retries,
                         sleep=self.sleep)
        try:
            items = json.loads(body.decode("utf-8"))["items"]
            if not isinstance(items, list):
                raise ValueError("items is not a list")
            return [FlowState.from_dict(item) for item in items]
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"answered flows that do not read: {exc}", provider=PROVIDER) from exc

    def parse_callback(self, headers: Mapping[str, str], body: bytes, now: datetime,
                       seen_nonce: Callable[[str], bool]) -> FlowEvent:
        verify_callback(self.callback_secret, headers, body, now, seen_nonce)
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError("the callback's body is not JSON") from exc
        return FlowEvent.from_dict(data)
