"""The e-signature simulator's certificate authority: a root CA and one signing certificate per party.

Made with `cryptography` (RSA 2048, SHA-256). Names are deterministic: the root is always
`CN=Loanflow E-Sign Sandbox Root CA, O=Loanflow Sandbox, C=CN`; a party's certificate names the party
(`CN=<name>`, `serialNumber=<credit code or ID number>`, `O=Loanflow Sandbox`, `C=CN`) and its serial
number is derived from its public key. Keys are generated once (`SandboxCA.create`, `issue`) and kept
by the caller as PEM (`to_pem`/`from_pem`, `PartyCredential.to_pem`/`from_pem`): nothing here is
stored. Certificates are valid from `now` for `CERT_YEARS` years; `now` is passed in.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ROOT_NAME = "Loanflow E-Sign Sandbox Root CA"
ORGANISATION = "Loanflow Sandbox"
CA_YEARS, CERT_YEARS = 20, 5
KEY_BITS = 2048


def _name(common_name: str, serial: str = "") -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                  x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                  x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if serial:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    return x509.Name(attributes)


def _serial_of(key: rsa.RSAPublicKey) -> int:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return int.from_bytes(hashlib.sha256(der).digest()[:16], "big") >> 1 or 1


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def _load_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("a sandbox key is an RSA private key")
    return key


@dataclass(frozen=True)
class PartyCredential:
    """A party's signing certificate and its private key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def name(self) -> str:
        return str(self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)

    def to_pem(self) -> dict[str, str]:
        return {"certificate": self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                "key": _private_pem(self.key)}

    @classmethod
    def from_pem(cls, data: dict[str, str]) -> PartyCredential:
        return cls(x509.load_pem_x509_certificate(data["certificate"].encode("ascii")), _load_key(data["key"]))


@dataclass(frozen=True)
class SandboxCA:
    """The simulator's root: `certificate` is the trust root a verifier is given, `key` signs the parties' certificates."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @classmethod
    def create(cls, now: datetime, common_name: str = ROOT_NAME) -> SandboxCA:
        """A new root CA (a new key) valid from `now` for `CA_YEARS` years."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        name = _name(common_name)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(_serial_of(key.public_key()))
                .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=365 * CA_YEARS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=True, crl_sign=True, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(ski, critical=False)
                .sign(key, hashes.SHA256()))
        return cls(cert, key)

    def issue(self, name: str, identifier: str, now: datetime) -> PartyCredential:
        """A new key and certificate for the party `name` (its credit code or ID number `identifier`)."""
        if not name.strip():
            raise ValueError("a certificate names its party")
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        cert = (x509.CertificateBuilder().subject_name(_name(name, identifier)).issuer_name(self.certificate.subject)
                .public_key(key.public_key()).serial_number(_serial_of(key.public_key()))
                .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=365 * CERT_YEARS))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=False, crl_sign=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                               critical=False)
                .sign(self.key, hashes.SHA256()))
        return PartyCredential(cert, key)

    def to_pem(self) -> dict[str, str]:
        return {"certificate": self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                "key": _private_pem(self.key)}

    @classmethod
    def from_pem(cls, data: dict[str, str]) -> SandboxCA:
        return cls(x509.load_pem_x509_certificate(data["certificate"].encode("ascii")), _load_key(data["key"]))
