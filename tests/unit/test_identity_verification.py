"""The identity adapter: the records, every reason the simulator refuses a claim, its registry of
names, and the HTTP client against a stub provider."""
from __future__ import annotations

from dataclasses import replace

import pytest

from handlers.errors import ProviderError, ProviderUnavailable
from handlers.identifiers import make_credit_code, make_id_number
from handlers.identity import (
    REASON_CODES,
    SANDBOX_CODE,
    HttpIdentityClient,
    SimulatedIdentity,
    VerificationRequest,
    VerificationResult,
)
from tests.unit.provider_stub import provider_stub, refused_url

ID_NUMBER = make_id_number("11010519491231002")
CREDIT_CODE = make_credit_code("91310000MA1234567")
PERSON = VerificationRequest(name="张三", id_number=ID_NUMBER, mobile="13800138000", code=SANDBOX_CODE)
ENTERPRISE = VerificationRequest(name="上海链融贸易有限公司", credit_code=CREDIT_CODE, mobile="13900139000",
                                 code=SANDBOX_CODE)


def broken(identifier: str) -> str:
    """`identifier` with a wrong check character."""
    return identifier[:17] + ("1" if identifier[17] != "1" else "2")


# --- the records ---------------------------------------------------------------------------------------

def test_requests_and_results_travel_as_json_objects():
    for request in (PERSON, ENTERPRISE):
        assert VerificationRequest.from_dict(request.to_dict()) == request
    for result in (VerificationResult(True, "", "", "R-1"),
                   VerificationResult(False, "wrong_code", "the verification code is wrong", "R-2")):
        assert VerificationResult.from_dict(result.to_dict()) == result
    assert PERSON.identifier == ID_NUMBER and ENTERPRISE.identifier == CREDIT_CODE


@pytest.mark.parametrize("data, message", [
    ({"name": "张三", "mobile": "13800138000", "code": "123456"}, "exactly one"),
    ({"name": "张三", "id_number": ID_NUMBER, "credit_code": CREDIT_CODE, "mobile": "13800138000", "code": "1"},
     "exactly one"),
    ({"name": "张三", "id_number": ID_NUMBER, "mobile": 13800138000, "code": "123456"}, "mobile"),
    ({"id_number": ID_NUMBER, "mobile": "13800138000", "code": "123456"}, "name"),
    ("张三", "object"),
])
def test_a_malformed_request_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        VerificationRequest.from_dict(data)


@pytest.mark.parametrize("data, message", [
    ({"verified": "yes", "reason_code": "", "reason": "", "reference": "R"}, "verified"),
    ({"verified": False, "reason_code": "lost", "reason": "", "reference": "R"}, "reason_code"),
    ({"verified": False, "reason_code": "", "reason": "", "reference": "R"}, "reason_code"),
    ({"verified": True, "reason_code": "wrong_code", "reason": "", "reference": "R"}, "no reason_code"),
    ({"verified": True, "reason_code": "", "reason": ""}, "reference"),
])
def test_a_malformed_result_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        VerificationResult.from_dict(data)


# --- the simulator -------------------------------------------------------------------------------------

def test_a_true_claim_is_verified_with_a_reference_the_same_claim_always_gets():
    simulator = SimulatedIdentity()
    person, enterprise = simulator.verify(PERSON), simulator.verify(ENTERPRISE)
    assert person.verified and enterprise.verified
    assert person.reason_code == enterprise.reason_code == ""
    assert person.reference.startswith("SIM-IDV-") and person.reference != enterprise.reference
    assert SimulatedIdentity().verify(PERSON) == person
    assert simulator.verify(replace(PERSON, id_number=ID_NUMBER.lower(), name=" 张三 ")) == person


@pytest.mark.parametrize("request_, reason_code", [
    (replace(PERSON, id_number=broken(ID_NUMBER)), "bad_identifier"),
    (replace(PERSON, id_number="11010519491331002X"), "bad_identifier"),  # no 31st of the 13th month
    (replace(ENTERPRISE, credit_code=broken(CREDIT_CODE)), "bad_identifier"),
    (replace(ENTERPRISE, credit_code="91310000MA123456"), "bad_identifier"),
    (replace(PERSON, mobile="12800138000"), "bad_mobile"),
    (replace(PERSON, mobile="1380013800"), "bad_mobile"),
    (replace(PERSON, mobile="+8613800138000"), "bad_mobile"),
    (replace(PERSON, code="654321"), "wrong_code"),
    (replace(PERSON, code=""), "wrong_code"),
    (replace(PERSON, code=" 123456"), "wrong_code"),
    (replace(PERSON, name="  "), "name_mismatch"),
])
def test_the_simulator_refuses_a_claim_with_the_reason(request_, reason_code):
    result = SimulatedIdentity().verify(request_)
    assert result.verified is False
    assert result.reason_code == reason_code and reason_code in REASON_CODES
    assert result.reason and result.reason.isascii()
    assert result.reference.startswith("SIM-IDV-")


def test_the_first_failing_check_is_the_reason():
    claim = replace(PERSON, id_number=broken(ID_NUMBER), mobile="1", code="000000", name="李四")
    simulator = SimulatedIdentity({ID_NUMBER: "张三"})
    assert simulator.verify(claim).reason_code == "bad_identifier"
    assert simulator.verify(replace(claim, id_number=ID_NUMBER)).reason_code == "bad_mobile"
    assert simulator.verify(replace(claim, id_number=ID_NUMBER, mobile=PERSON.mobile)).reason_code == "wrong_code"
    assert simulator.verify(replace(PERSON, name="李四")).reason_code == "name_mismatch"


def test_a_registered_identifier_accepts_only_its_holders_name():
    simulator = SimulatedIdentity({ID_NUMBER: "张三", CREDIT_CODE.lower(): "上海链融贸易有限公司"})
    assert simulator.verify(PERSON).verified
    assert simulator.verify(ENTERPRISE).verified
    refused = simulator.verify(replace(PERSON, name="李四"))
    assert (refused.verified, refused.reason_code) == (False, "name_mismatch")
    assert simulator.verify(replace(ENTERPRISE, name="别的公司")).reason_code == "name_mismatch"


def test_an_unknown_identifier_accepts_any_name_and_the_registry_may_be_a_function():
    asked: list[str] = []

    def holder(identifier: str) -> str | None:
        asked.append(identifier)
        return "张三" if identifier == ID_NUMBER else None

    simulator = SimulatedIdentity(holder)
    assert simulator.verify(replace(ENTERPRISE, name="任何名字")).verified
    assert simulator.verify(replace(PERSON, name="李四")).reason_code == "name_mismatch"
    assert asked == [CREDIT_CODE, ID_NUMBER]


# --- the HTTP client -----------------------------------------------------------------------------------

def client(url: str, **options) -> tuple[HttpIdentityClient, list[float]]:
    waits: list[float] = []
    return HttpIdentityClient(url, "identity-key", **{"timeout": 2, **options}, sleep=waits.append), waits


def test_the_client_posts_the_claim_and_reads_the_verdict():
    refused = {"verified": False, "reason_code": "name_mismatch", "reason": "name differs", "reference": "P-2"}
    with provider_stub() as stub:
        stub.answer(200, {"verified": True, "reason_code": None, "reason": "", "reference": "P-1"})
        stub.answer(200, refused)
        verifier, waits = client(stub.url + "/simulators/identity")
        assert verifier.verify(PERSON) == VerificationResult(True, "", "", "P-1")
        assert verifier.verify(ENTERPRISE) == VerificationResult.from_dict(refused)
    first, second = stub.received
    assert first.path == "/simulators/identity/api/verifications"
    assert first.headers["authorization"] == "Bearer identity-key"
    assert first.body == PERSON.to_dict() and second.body == ENTERPRISE.to_dict()
    assert waits == []


def test_a_provider_that_keeps_failing_or_is_down_is_unavailable():
    with provider_stub() as stub:
        stub.answer(502, "Bad Gateway")
        stub.answer(503, {"error": {"message": "maintenance"}})
        verifier, waits = client(stub.url, retries=1)
        with pytest.raises(ProviderUnavailable, match="maintenance") as caught:
            verifier.verify(PERSON)
    assert len(stub.received) == 2 and waits == [0.2]
    assert caught.value.provider == "identity"
    down, _ = client(refused_url(), retries=0)
    with pytest.raises(ProviderUnavailable):
        down.verify(PERSON)


def test_a_refused_request_or_a_verdict_that_does_not_read_is_a_provider_error():
    with provider_stub() as stub:
        stub.answer(400, {"error": {"code": "bad_request", "message": "mobile is required"}})
        stub.answer(200, {"verified": "maybe", "reference": "P-3"})
        verifier, waits = client(stub.url)
        with pytest.raises(ProviderError) as refused:
            verifier.verify(PERSON)
        with pytest.raises(ProviderError, match="verdict") as unreadable:
            verifier.verify(PERSON)
    for caught in (refused, unreadable):
        assert not isinstance(caught.value, ProviderUnavailable)
    assert refused.value.status == 400 and refused.value.message == "mobile is required"
    assert len(stub.received) == 2 and waits == []


def test_the_simulator_sends_no_code_and_says_its_sandbox_code():
    from handlers.identity import CodeSent

    sent = SimulatedIdentity().send_code("13800138000")
    assert sent.reference.startswith("SIM-SMS-") and sent.sandbox_code == SANDBOX_CODE
    assert CodeSent.from_dict(sent.to_dict()) == sent
    with pytest.raises(ValueError):
        SimulatedIdentity().send_code("123")
    with pytest.raises(ValueError):
        CodeSent.from_dict({"reference": ""})
