"""The simulated providers' own state: what an outside provider would keep in its own database, kept
here so the simulators served under `/simulators/` behave as providers do (docs/signing.md).

- `state`: named JSON settings (`simulator_state`): the e-signature sandbox CA, queued callbacks.
- `esign_ca`: the e-signature simulator's sandbox CA and one certificate per signing party, made on demand.
- `esign`: signing flows and their signers: created by the platform's client, signed in order by
  each signer with the sandbox code, each signature applied to the PDF with PAdES; expiry.
- `esign_callbacks`: the completion (or expiry) callbacks, queued with the change that caused them
  and POSTed, signed, by the worker (`deliver_callbacks`).
- `identity`: the identity-verification simulator, knowing the platform's organisations by credit code.

Rank 1: it imports only `identity` (whose users sign). The platform reads this state only through
the simulators' HTTP APIs, as it would a provider's.
"""
