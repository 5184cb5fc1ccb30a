"""Adapters to services outside the platform: risk, e-signature, payments, notification, identity.

Each adapter is a provider-neutral interface, a real client speaking the provider's protocol
(HTTP, signed callbacks) and a simulator that is part of the product and says so on screen
(its pages and JSON APIs under `/simulators/`). Adapters know no Flask, no tables and no domain:
the domain that owns a service task (`app.services.<domain>.operators`) calls an adapter.
The service-task registry itself is the workflow runtime's (`app.services.workflow.operators`).

What lives here:
- `errors`: `ProviderError` (the provider refused the request) and `ProviderUnavailable` (it stayed
  down after the client's retries), raised by every adapter.
- `transport`: JSON over HTTP for the real clients, and a GET of a document (standard library, timeout,
  bounded retries).
- `identifiers`: checks and builds PRC resident ID numbers and unified social credit codes.
- `risk`: `RiskProvider` (`assess(RiskRequest) -> RiskReport`), `HttpRiskClient`, `SimulatedRisk`.
- `notify`: `Notifier` (`send(Notification) -> SendResult`), `HttpNotifyClient`, `SimulatedNotify`.
- `identity`: `IdentityVerifier` (`verify(VerificationRequest) -> VerificationResult`), `HttpIdentityClient`,
  `SimulatedIdentity` (实名认证 of a signer).
- `payments`: `PaymentGateway` (`create_order`, `query`), `HttpPaymentsClient`, `SimulatedGateway` over an
  `OrderStore`; signed `Notification`s (`sign_notification` / `verify_notification`).
- `callbacks`: `sign_callback` / `verify_callback` (HMAC-SHA256 over timestamp, nonce and body, 5 minutes,
  single-use nonce) and `CallbackRejected`, for any provider that calls the platform back.
- `contracts`: `render_contract(ContractData) -> bytes`, a contract PDF with Chinese text and a blank
  signature field per signer (reportlab; an embedded CJK TrueType font, else the CID font `STSong-Light`).
- `esign`: `ESignProvider` (`create_flow`, `signed_document`, `parse_callback`), `HttpESignClient`, signed
  callbacks (`X-Esign-*` headers over `callbacks`), and the simulator's core: `SandboxCA` and PAdES
  signatures applied and verified with pyhanko (`sign_pdf`, `verify_pdf`).
"""
