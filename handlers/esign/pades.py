"""PAdES signatures on a PDF, applied and checked with pyhanko.

`sign_pdf` fills one signature field as an incremental update: the bytes already signed are kept
as they are, so earlier signatures stay intact and each signer's signature covers everything signed
before it. `verify_pdf` reports every signature in the document: which field, who signed (the
certificate's common name), whether the signed bytes are unchanged (`intact`) and whether the
signature is `valid` (intact, cryptographically sound, made by a certificate that chains to one of
the trust roots, and not followed by changes a later signature does not allow).
"""
from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

# ASCII: the stamp's font has no Chinese glyphs. The time is the signer's wall clock in the zone the caller gives
# (the platform's business zone), with its offset: a contract signed at 17:15 in Shanghai said "09:15:48 UTC",
# eight hours off for every party who read it.
STAMP = TextStampStyle(stamp_text="Digitally signed\n%(when)s")


def stamp_time(at: datetime, zone: tzinfo = UTC) -> str:
    """How the visible stamp says when a signature was made, in `zone`: `2026-12-07 17:15:48 UTC+08:00` in China."""
    local = at.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} UTC{offset[:3]}:{offset[3:]}"


@dataclass(frozen=True)
class SignatureReport:
    """One signature found in a PDF (`signed_at` is the time the signer's software reported)."""

    field: str
    signer_name: str
    intact: bool
    valid: bool
    signed_at: datetime | None


T = TypeVar("T")


def _off_loop(call: Callable[[], T]) -> T:
    """`call()` here, or in a thread of its own when this thread runs an event loop: pyhanko's
    synchronous API runs `asyncio.run`, which refuses to start inside a running loop (a server or
    test harness with one) and leaves its coroutine never awaited."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def sign_pdf(pdf_bytes: bytes, field_name: str, signer_cert: x509.Certificate, signer_key: rsa.RSAPrivateKey,
             ca_chain: Sequence[x509.Certificate], stamp_zone: tzinfo = UTC) -> bytes:
    """`pdf_bytes` with the signature field `field_name` signed (PAdES baseline B, SHA-256), appended as an
    incremental update. The certificates of `ca_chain` are embedded beside the signer's; the visible stamp says
    the time in `stamp_zone` with its offset.

    ValueError when `pdf_bytes` is not a PDF or the field is missing or already signed.
    """
    key_der = signer_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    signer = signers.SimpleSigner(
        signing_cert=_asn1_cert(signer_cert), signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c) for c in ca_chain]))
    meta = signers.PdfSignatureMetadata(field_name=field_name, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
        pdf_signer = signers.PdfSigner(meta, signer=signer, stamp_style=STAMP)
        when = {"when": stamp_time(datetime.now(UTC), stamp_zone)}
        out = _off_loop(lambda: pdf_signer.sign_pdf(writer, existing_fields_only=True, appearance_text_params=when))
    except (PdfError, SigningError) as exc:
        raise ValueError(f"cannot sign {field_name}: {exc}") from exc
    return bytes(out.getvalue())


# What pyhanko raises reading a damaged file, lazily, object by object: its own PdfError, and Python's errors
# on a token it cannot read (a number token with a changed byte is `decimal.InvalidOperation`, an arithmetic
# error; a damaged cross-reference a KeyError or an IndexError).
_UNREADABLE = (PdfError, ValueError, ArithmeticError, KeyError, IndexError, TypeError)
UNKNOWN_SIGNER = "?"  # a signature whose signer cannot be read from the damaged file


def verify_pdf(pdf_bytes: bytes, trust_roots: Sequence[x509.Certificate],
               at: datetime | None = None) -> list[SignatureReport]:
    """A report per signature in `pdf_bytes`, in the order they were applied; trust is checked against
    `trust_roots` only (no fetching of revocation information) at the moment `at` (now when None).

    ValueError when `pdf_bytes` is not a PDF that can be read.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        embedded = list(reader.embedded_signatures)
    except _UNREADABLE as exc:
        raise ValueError(f"not a PDF that can be read: {exc or type(exc).__name__}") from exc
    context = ValidationContext(trust_roots=[_asn1_cert(c) for c in trust_roots], allow_fetching=False,
                                moment=at)
    reports = []
    for sig in embedded:
        name = UNKNOWN_SIGNER
        try:  # a damaged signature may name no signer it can be matched to: not intact either
            name = str(sig.signer_cert.subject.native.get("common_name", ""))
            status = _off_loop(functools.partial(validate_pdf_signature, sig, context))
        except (SignatureValidationError, *_UNREADABLE):  # what it signed cannot be read as it was: not intact
            reports.append(SignatureReport(sig.field_name, name, intact=False, valid=False, signed_at=None))
            continue
        reports.append(SignatureReport(sig.field_name, name, intact=status.intact, valid=status.bottom_line,
                                       signed_at=status.signer_reported_dt))
    return reports
