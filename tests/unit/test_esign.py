"""The e-signature adapter: the sandbox CA, PAdES signatures in signing order and their validation,
callback authentication, and the HTTP client against a stub provider."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.x509.oid import NameOID

from handlers.contracts import render_contract
from handlers.errors import ProviderError
from handlers.esign import (
    CallbackRejected,
    FlowEvent,
    FlowRequest,
    HttpESignClient,
    PartyCredential,
    SandboxCA,
    Signer,
    sign_callback,
    sign_pdf,
    verify_callback,
    verify_pdf,
)
from handlers.esign.pades import stamp_time
from handlers.esign.sandbox_ca import ROOT_NAME
from tests.unit.contract_sample import BORROWER, CORE, FUNDER, sample_contract
from tests.unit.provider_stub import provider_stub
from tests.unit.test_contracts_pdf import pdftotext, require_cjk_font

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
PARTIES = (BORROWER, CORE, FUNDER)


@pytest.fixture(scope="module")
def ca() -> SandboxCA:
    return SandboxCA.create(NOW)


@pytest.fixture(scope="module")
def credentials(ca) -> dict[str, PartyCredential]:
    return {p.role: ca.issue(p.name, p.identifier, NOW) for p in PARTIES}


@pytest.fixture(scope="module")
def contract() -> bytes:
    return render_contract(sample_contract())


SHANGHAI = ZoneInfo("Asia/Shanghai")  # the platform's business zone, as the e-signature simulator passes it


@pytest.fixture(scope="module")
def signed(ca, credentials, contract) -> bytes:
    """The contract signed by the borrower, the core enterprise and the funder, in that order."""
    pdf = contract
    for party in PARTIES:
        cred = credentials[party.role]
        pdf = sign_pdf(pdf, f"sig_{party.role}", cred.certificate, cred.key, [ca.certificate], stamp_zone=SHANGHAI)
    return pdf


def one_byte_changed(pdf: bytes, at: int) -> bytes:
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]


# --- the sandbox CA ------------------------------------------------------------------------------------

def test_the_ca_and_party_certificates_have_deterministic_names(ca, credentials):
    assert ca.certificate.subject == ca.certificate.issuer
    assert ca.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == ROOT_NAME
    borrower = credentials["borrower"]
    assert borrower.name == BORROWER.name
    assert borrower.certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == BORROWER.identifier
    assert borrower.certificate.issuer == ca.certificate.subject
    assert ca.issue(BORROWER.name, BORROWER.identifier, NOW).certificate.subject == borrower.certificate.subject


def test_keys_kept_as_pem_sign_as_before(ca, credentials, contract):
    kept_ca = SandboxCA.from_pem(json.loads(json.dumps(ca.to_pem())))
    assert kept_ca.certificate == ca.certificate and "PRIVATE KEY" in ca.to_pem()["key"]
    kept = PartyCredential.from_pem(credentials["borrower"].to_pem())
    newly_issued = kept_ca.issue("新签发企业有限公司", "91310115MA1H7B8CX7", NOW)
    pdf = sign_pdf(contract, "sig_borrower", kept.certificate, kept.key, [kept_ca.certificate])
    pdf = sign_pdf(pdf, "sig_core_enterprise", newly_issued.certificate, newly_issued.key, [kept_ca.certificate])
    assert [(r.signer_name, r.valid) for r in verify_pdf(pdf, [ca.certificate], at=NOW + timedelta(days=1))] == [
        (BORROWER.name, True), ("新签发企业有限公司", True)]


# --- signatures ----------------------------------------------------------------------------------------

def test_three_signatures_in_order_all_validate_against_the_sandbox_ca(ca, signed):
    reports = verify_pdf(signed, [ca.certificate])
    assert [(r.field, r.signer_name, r.intact, r.valid) for r in reports] == [
        ("sig_borrower", BORROWER.name, True, True),
        ("sig_core_enterprise", CORE.name, True, True),
        ("sig_funder", FUNDER.name, True, True),
    ]
    assert all(r.signed_at is not None and r.signed_at.tzinfo is not None for r in reports)


def test_each_signature_is_an_incremental_update_of_the_one_before(ca, credentials, contract, signed):
    cred = credentials["borrower"]
    first = sign_pdf(contract, "sig_borrower", cred.certificate, cred.key, [ca.certificate])
    assert first.startswith(contract)
    assert [r.field for r in verify_pdf(first, [ca.certificate])] == ["sig_borrower"]
    assert verify_pdf(contract, [ca.certificate]) == []
    assert len(signed) > len(first) > len(contract)


def test_the_signed_contract_still_reads_in_chinese(signed):
    require_cjk_font()
    assert BORROWER.name in pdftotext(signed)


def test_the_visible_stamp_says_the_time_in_china_with_its_offset(signed):
    """The stamp said "2026-12-07 07:05:24 UTC" for a signature made at 15:05 in Shanghai."""
    import re
    require_cjk_font()
    stamps = re.findall(r"Digitally signed\s+(\S+ \S+ \S+)", pdftotext(signed))
    assert len(stamps) == 3 and all(s.endswith(" UTC+08:00") for s in stamps), stamps
    assert stamp_time(datetime(2026, 12, 7, 7, 5, 24, tzinfo=UTC), SHANGHAI) == "2026-12-07 15:05:24 UTC+08:00"
    assert stamp_time(datetime(2026, 12, 7, 7, 5, 24, tzinfo=UTC)) == "2026-12-07 07:05:24 UTC+00:00"  # no zone: UTC


def test_a_copy_with_one_byte_changed_in_the_signed_range_fails(ca, contract, signed):
    at = contract.index(b"ReportLab")  # in the first revision, covered by every signature
    reports = verify_pdf(one_byte_changed(signed, at), [ca.certificate])
    assert len(reports) == 3
    assert not any(r.intact or r.valid for r in reports)


def test_a_byte_changed_in_the_last_revision_breaks_the_last_signature_only(ca, signed):
    at = signed.rindex(b"/M (D") + 8  # the funder's signing time: after its /Contents, inside its byte range
    reports = verify_pdf(one_byte_changed(signed, at), [ca.certificate])
    assert [(r.field, r.intact) for r in reports] == [("sig_borrower", True), ("sig_core_enterprise", True),
                                                       ("sig_funder", False)]
    assert not reports[2].valid


@pytest.mark.parametrize("common_name", [ROOT_NAME, "Another Test CA"])
def test_a_signature_from_a_certificate_the_ca_did_not_issue_is_not_trusted(ca, contract, common_name):
    impostor_ca = SandboxCA.create(NOW, common_name=common_name)
    impostor = impostor_ca.issue(BORROWER.name, BORROWER.identifier, NOW)
    pdf = sign_pdf(contract, "sig_borrower", impostor.certificate, impostor.key, [impostor_ca.certificate])
    [report] = verify_pdf(pdf, [ca.certificate])
    assert report.signer_name == BORROWER.name and report.intact and not report.valid
    assert verify_pdf(pdf, [impostor_ca.certificate])[0].valid  # the same signature, trusted by its own CA


def test_a_certificate_is_not_trusted_outside_its_validity(ca, signed):
    assert not any(r.valid for r in verify_pdf(signed, [ca.certificate], at=NOW - timedelta(days=1)))


def test_a_field_is_signed_once_and_must_exist(ca, credentials, signed, contract):
    cred = credentials["borrower"]
    with pytest.raises(ValueError, match="sig_borrower"):
        sign_pdf(signed, "sig_borrower", cred.certificate, cred.key, [ca.certificate])
    with pytest.raises(ValueError, match="sig_guarantor"):
        sign_pdf(contract, "sig_guarantor", cred.certificate, cred.key, [ca.certificate])
    with pytest.raises(ValueError):
        sign_pdf(b"not a pdf", "sig_borrower", cred.certificate, cred.key, [ca.certificate])
    with pytest.raises(ValueError, match="PDF"):
        verify_pdf(b"not a pdf", [ca.certificate])


# --- callbacks -----------------------------------------------------------------------------------------

SECRET = "esign-callback-secret"
BODY = json.dumps({"flow_id": "FLOW-1", "business_key": "LA-2026-000123", "status": "completed"}).encode()


class Nonces:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, nonce: str) -> bool:
        before = nonce in self.seen
        self.seen.add(nonce)
        return before


def headers_at(moment: datetime, nonce: str = "nonce-0001", body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return sign_callback(secret, body, moment, nonce)


def test_a_signed_fresh_callback_is_accepted():
    nonces = Nonces()
    verify_callback(SECRET, headers_at(NOW), BODY, NOW, nonces)
    lowered = {k.lower(): v for k, v in headers_at(NOW - timedelta(minutes=5), nonce="nonce-0002").items()}
    verify_callback(SECRET, lowered, BODY, NOW, nonces)  # header names in any case; 5 minutes is in the window
    assert nonces.seen == {"nonce-0001", "nonce-0002"}


@pytest.mark.parametrize("headers, body, reason", [
    ({}, BODY, "unsigned"),
    (headers_at(NOW), BODY.replace(b"completed", b"expired"), "bad_signature"),
    (headers_at(NOW, secret="someone-else"), BODY, "bad_signature"),
    ({**headers_at(NOW), "X-Esign-Timestamp": str(int(NOW.timestamp()) + 1)}, BODY, "bad_signature"),
    ({**headers_at(NOW), "X-Esign-Nonce": "nonce-0002"}, BODY, "bad_signature"),
    (sign_callback(SECRET, BODY, NOW, "nonce-0001") | {"X-Esign-Signature": ""}, BODY, "unsigned"),
    ({k.replace("Esign", "Pay"): v for k, v in headers_at(NOW).items()}, BODY, "unsigned"),
    (headers_at(NOW - timedelta(minutes=5, seconds=1)), BODY, "stale"),
    (headers_at(NOW + timedelta(minutes=6)), BODY, "stale"),
])
def test_an_unsigned_tampered_forged_or_stale_callback_is_rejected_and_uses_no_nonce(headers, body, reason):
    nonces = Nonces()
    with pytest.raises(CallbackRejected) as caught:
        verify_callback(SECRET, headers, body, NOW, nonces)
    assert caught.value.reason == reason
    assert nonces.seen == set()


def test_a_replayed_callback_is_rejected():
    nonces = Nonces()
    verify_callback(SECRET, headers_at(NOW), BODY, NOW, nonces)
    with pytest.raises(CallbackRejected) as caught:
        verify_callback(SECRET, headers_at(NOW), BODY, NOW + timedelta(seconds=30), nonces)
    assert caught.value.reason == "replayed"


# --- the HTTP client -----------------------------------------------------------------------------------

SIGNERS = (Signer("borrower", BORROWER.name, BORROWER.identifier, "applicant1"),
           Signer("funder", FUNDER.name, FUNDER.identifier, "finance1"))


def esign_client(url: str) -> HttpESignClient:
    return HttpESignClient(url, "esign-key", SECRET, timeout=2, sleep=lambda _: None)


def test_the_client_creates_a_flow_and_fetches_the_signed_document(contract, signed):
    request = FlowRequest("LA-2026-000123", "借款合同.pdf", contract, SIGNERS)
    with provider_stub() as stub:
        stub.answer(201, {"id": "FLOW-1", "status": "signing"})
        stub.answer(200, signed)
        esign = esign_client(stub.url + "/esign")
        assert esign.create_flow(request) == "FLOW-1"
        assert esign.signed_document("FLOW-1") == signed
    created, fetched = stub.received
    assert (created.method, created.path) == ("POST", "/esign/api/flows")
    assert created.headers["authorization"] == "Bearer esign-key"
    assert created.headers["idempotency-key"].startswith("LA-2026-000123:")
    assert base64.b64decode(created.body["document"]) == contract
    assert [(s["party"], s["field"], s["username"]) for s in created.body["signers"]] == [
        ("borrower", "sig_borrower", "applicant1"), ("funder", "sig_funder", "finance1")]
    assert (fetched.method, fetched.path) == ("GET", "/esign/api/flows/FLOW-1/document")


@pytest.mark.parametrize("answer", [(201, {"status": "signing"}), (200, "<html>sign in</html>")])
def test_a_provider_answer_that_does_not_read_is_an_error(contract, answer):
    with provider_stub() as stub:
        stub.answer(*answer)
        esign = esign_client(stub.url)
        with pytest.raises(ProviderError):
            if isinstance(answer[1], dict):
                esign.create_flow(FlowRequest("LA-1", "c.pdf", contract, SIGNERS))
            else:
                esign.signed_document("FLOW-1")


def test_the_client_reads_an_authentic_callback_and_rejects_a_forged_one():
    esign, nonces = esign_client("http://127.0.0.1:9"), Nonces()
    event = esign.parse_callback(headers_at(NOW), BODY, NOW, nonces)
    assert event == FlowEvent("FLOW-1", "LA-2026-000123", "completed")
    with pytest.raises(CallbackRejected):
        esign.parse_callback(headers_at(NOW, nonce="nonce-0009", secret="forger"), BODY, NOW, nonces)


def test_a_flow_request_is_a_pdf_signed_by_each_party_once(contract):
    with pytest.raises(ValueError, match="PDF"):
        FlowRequest("LA-1", "c.pdf", b"hello", SIGNERS)
    with pytest.raises(ValueError, match="once"):
        FlowRequest("LA-1", "c.pdf", contract, (SIGNERS[0], SIGNERS[0]))
    with pytest.raises(ValueError, match="status"):
        FlowEvent.from_dict({"flow_id": "F", "business_key": "B", "status": "lost"})


def test_signing_and_verifying_work_inside_a_running_event_loop(ca, credentials, contract):
    """A caller with an event loop (a server, a browser-test harness) still signs and verifies."""
    import asyncio

    async def inside_a_loop() -> list:
        cred = credentials["borrower"]
        pdf = sign_pdf(contract, "sig_borrower", cred.certificate, cred.key, [ca.certificate])
        return verify_pdf(pdf, [ca.certificate])

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:  # a thread of its own: this one may run a loop already
        [report] = pool.submit(lambda: asyncio.run(inside_a_loop())).result()
    assert report.field == "sig_borrower" and report.intact and report.valid
