"""The outside services signing calls: the e-signature provider and identity verification.

Each is the configured provider (`LOANFLOW_ESIGN_URL`, `LOANFLOW_IDENTITY_URL`: the adapters' HTTP
clients, authenticated with `LOANFLOW_ESIGN_API_KEY` / `LOANFLOW_IDENTITY_API_KEY`) or, unset, the
simulator in process (`app.services.simulators`); a test puts its own in
`app.extensions["esign_provider"]` / `["identity_provider"]`. `make run` points both at the app's
own simulators over HTTP.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime

from app.services import context
from app.services.simulators import esign as esign_simulator
from app.services.simulators import identity as identity_simulator
from app.services.simulators.esign_callbacks import CALLBACK_PATH as ESIGN_CALLBACK_PATH
from handlers.esign import (
    ESignProvider,
    FlowEvent,
    FlowRequest,
    FlowState,
    HttpESignClient,
    SignerState,
    verify_callback,
)
from handlers.identity import HttpIdentityClient, IdentityVerifier


class SimulatedESign:
    """An `ESignProvider` over the e-signature simulator in process: a flow is created in the
    caller's transaction (the step of the diagram), the simulator calls the platform back from the
    worker as it does for a flow created over HTTP."""

    def create_flow(self, request: FlowRequest) -> str:
        return esign_simulator.open_flow(request, context.served_url() + ESIGN_CALLBACK_PATH).flow_id

    def signed_document(self, flow_id: str) -> bytes:
        return esign_simulator.signed_document(flow_id)[1]

    def flows(self, business_key: str) -> list[FlowState]:
        """The simulator's flows of `business_key` (no signing URL: the platform links to its own
        simulator's page, `flows.signing_link`)."""
        return [FlowState(flow.flow_id, flow.status, tuple(
                    SignerState(s.party, s.username, s.name, s.status, signed_at=s.signed_at.isoformat() if s.signed_at
                                else "") for s in flow.signers))
                for flow in esign_simulator.flows_for(business_key)]

    def parse_callback(self, headers: Mapping[str, str], body: bytes, now: datetime,
                       seen_nonce: Callable[[str], bool]) -> FlowEvent:
        verify_callback(str(context.config("ESIGN_CALLBACK_SECRET")), headers, body, now, seen_nonce)
        return FlowEvent.from_dict(json.loads(body.decode("utf-8")))


PAGE_TIMEOUT = 3.0  # seconds a page waits for the provider, once


def esign(for_page: bool = False) -> ESignProvider:
    """The e-signature provider this application signs contracts with; `for_page`: asked while a
    page is drawn, so over HTTP one attempt of at most `PAGE_TIMEOUT` seconds (no retries)."""
    def http(url: str, key: str, timeout: float) -> ESignProvider:
        secret = str(context.config("ESIGN_CALLBACK_SECRET"))
        if for_page:
            return HttpESignClient(url, key, secret, timeout=min(timeout, PAGE_TIMEOUT), retries=0)
        return HttpESignClient(url, key, secret, timeout=timeout)

    return context.provider("esign", http, SimulatedESign)


def identity() -> IdentityVerifier:
    """The identity-verification provider signers prove who they are to."""
    return context.provider("identity", lambda url, key, timeout: HttpIdentityClient(url, key, timeout=timeout),
                            identity_simulator.simulator, default_timeout=5)
