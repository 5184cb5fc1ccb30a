"""The e-signature adapter (CFCA-style): signing flows for a contract and its signers in order.

- `model`: `ESignProvider` (`create_flow`, `signed_document`, `flows`, `parse_callback`), `FlowRequest`, `Signer`,
  `FlowEvent`, `FlowState` and `SignerState` (a flow's signers as the provider holds them).
- `client`: `HttpESignClient`, the real client for a configured provider.
- `callbacks`: `sign_callback`/`verify_callback` with the `X-Esign-*` headers (`handlers.callbacks`:
  HMAC-SHA256 over timestamp, nonce and body, 5-minute window, single-use nonce; `CallbackRejected`).
- The simulator's core: `sandbox_ca` (`SandboxCA`, `PartyCredential`: a root CA and a certificate per
  party, kept as PEM by the caller) and `pades` (`sign_pdf`, `verify_pdf`, `SignatureReport`: PAdES
  signatures applied and checked with pyhanko).
"""
from __future__ import annotations

from handlers.callbacks import CallbackRejected

from .callbacks import sign_callback, verify_callback
from .client import HttpESignClient
from .model import ESignProvider, FlowEvent, FlowRequest, FlowState, Signer, SignerState
from .pades import SignatureReport, sign_pdf, verify_pdf
from .sandbox_ca import PartyCredential, SandboxCA

__all__ = ["CallbackRejected", "ESignProvider", "FlowEvent", "FlowRequest", "FlowState", "HttpESignClient",
           "PartyCredential", "SandboxCA", "SignatureReport", "Signer", "SignerState", "sign_callback", "sign_pdf",
           "verify_callback", "verify_pdf"]
