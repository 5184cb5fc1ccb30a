"""The e-signature simulator's sandbox CA (`handlers.esign.SandboxCA`), kept as PEMs in the setting
`esign.ca`: made on first use, then one certificate per signing party (a party code and the person
or company signing for it) issued the first time that party signs or is asked to sign."""
from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services import clock
from app.services.simulators import state
from handlers.esign import PartyCredential, SandboxCA

NAME = "esign.ca"


def _stored(for_update: bool = False) -> dict[str, Any]:
    value = state.get(NAME, for_update=for_update)
    if value is not None:
        return value
    created = {"root": SandboxCA.create(clock.now()).to_pem(), "parties": {}}
    try:
        with db.session.begin_nested():
            state.put(NAME, created)
    except IntegrityError:  # made at the same moment by another request: theirs is the CA
        value = state.get(NAME, for_update=for_update)
        if value is None:
            raise
        return value
    return created


def sandbox_ca() -> SandboxCA:
    """The simulator's root CA (its certificate is the trust root a verifier needs), made on first use."""
    return SandboxCA.from_pem(_stored()["root"])


def trust_root() -> Any:
    """The sandbox CA's certificate if the simulator has made one (None: nothing was signed here yet)."""
    value = state.get(NAME)
    return None if value is None else SandboxCA.from_pem(value["root"]).certificate


def certificate_pem() -> bytes:
    """The sandbox CA's certificate as PEM, what the simulator publishes for verifiers (the CA is
    made and kept now if it was not yet)."""
    pem = sandbox_ca().certificate.public_bytes(serialization.Encoding.PEM)
    db.session.commit()
    return pem


def party_key(party: str, name: str) -> str:
    return f"{party}:{name}"


def credential(party: str, name: str, identifier: str = "") -> PartyCredential:
    """The signing certificate and key of `name` signing as `party`, issued by the sandbox CA the first
    time it is asked for (`identifier`, a credit code or ID number, goes into that certificate)."""
    value = _stored(for_update=True)
    parties = dict(value.get("parties") or {})
    key = party_key(party, name)
    if key not in parties:
        issued = SandboxCA.from_pem(value["root"]).issue(name, identifier, clock.now())
        parties[key] = issued.to_pem()
        state.put(NAME, {**value, "parties": parties})
        return issued
    return PartyCredential.from_pem(parties[key])
