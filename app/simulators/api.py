"""The simulators' machine APIs, as the adapters' real clients speak them (`handlers/*/client.py`):

- `POST /simulators/risk/api/assess`: a risk request (JSON) → the simulator's report, with the
  platform's blacklist.
- `POST /simulators/identity/api/verify` (also `.../api/verifications`, the path the adapter's
  client posts to): a verification request (JSON) → the verdict, the names known being the
  platform's organisations (credit code → name).
- `POST /simulators/identity/api/codes`: `{"mobile"}` → `{"reference", "sandbox_code"}`: no SMS is sent; the
  answer says the sandbox code the simulator accepts.
- `POST /simulators/notify/api/messages`: an SMS or e-mail (JSON, `Idempotency-Key`) → the receipt;
  the message is recorded in the outbox.

`Authorization: Bearer <SIMULATOR_API_KEY>` or 401; a body that does not read is 400; a request the
simulator refuses (an identifier or address it does not accept) is 422 with its message, in the
platform's error shape `{"error": {"code", "message"}}`.
"""
from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.api.errors import error_response
from app.services.notices import outbox
from app.services.origination import risk
from app.services.simulators import identity
from app.simulators import bp
from handlers.errors import ProviderError
from handlers.identity import VerificationRequest
from handlers.notify import Notification
from handlers.risk import RiskRequest


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _authorised() -> None:
    expected = str(current_app.config.get("SIMULATOR_API_KEY") or "")
    header = request.headers.get("Authorization", "")
    given = header[len("Bearer "):] if header.startswith("Bearer ") else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise _Refused(401, "unauthorized", "a simulator API needs Authorization: Bearer <the simulator's API key>")


def _body() -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Refused(400, "bad_request", "the body is not JSON") from None


def _answer(work: Callable[[Any], dict[str, Any]]) -> ResponseReturnValue:
    try:
        _authorised()
        return jsonify(work(_body())), 200
    except _Refused as exc:
        return error_response(exc.status, exc.code, exc.message)
    except ValueError as exc:  # the record's from_dict: a shape it cannot read
        return error_response(400, "bad_request", str(exc))
    except ProviderError as exc:
        return error_response(422, "refused", exc.message)


@bp.route("/risk/api/assess", methods=["POST"])
def risk_assess() -> ResponseReturnValue:
    """The risk simulator's report for a risk request, as a provider would answer."""
    return _answer(lambda body: risk.simulator().assess(RiskRequest.from_dict(body)).to_dict())


@bp.route("/identity/api/verify", methods=["POST"])
def identity_verify() -> ResponseReturnValue:
    """The identity simulator's verdict on a claim (name, ID number or credit code, mobile, code)."""
    return _answer(lambda body: identity.simulator().verify(VerificationRequest.from_dict(body)).to_dict())


@bp.route("/identity/api/verifications", methods=["POST"])
def identity_verifications() -> ResponseReturnValue:
    """`identity_verify` at the path `handlers.identity.HttpIdentityClient` posts to."""
    return identity_verify()


@bp.route("/identity/api/codes", methods=["POST"])
def identity_codes() -> ResponseReturnValue:
    """The identity simulator "sends" a verification code to a mobile number: it sends none and says the sandbox
    code it accepts."""
    return _answer(lambda body: identity.simulator().send_code(
        str(body.get("mobile") or "") if isinstance(body, dict) else "").to_dict())


@bp.route("/notify/api/messages", methods=["POST"])
def notify_messages() -> ResponseReturnValue:
    """Deliver an SMS or e-mail as the notify simulator, recorded in the outbox; the receipt."""
    key = request.headers.get("Idempotency-Key", "").strip() or None
    return _answer(lambda body: outbox.receive(Notification.from_dict(body), key).to_dict())


VIEWS = (risk_assess, identity_verify, identity_verifications, identity_codes, notify_messages)
