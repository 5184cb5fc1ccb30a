"""The e-signature adapter's client reading a business key's flows and who has signed
(`GET {base}/api/flows?business_key=`), against a stub provider: the query and key sent, the
signers read in order, and answers that do not read refused as the provider's error."""
from __future__ import annotations

import pytest

from handlers.errors import ProviderError
from handlers.esign import FlowState, HttpESignClient, SignerState
from tests.unit.provider_stub import provider_stub

FLOW = {"id": "EF-1", "status": "signing", "business_key": "APP-2026-0001", "signers": [
    {"party": "borrower", "username": "applicant1", "name": "申城贸易有限公司", "status": "signed",
     "signing_url": "https://esign.example/flows/EF-1/sign", "signed_at": "2026-12-07T02:15:00+00:00"},
    {"party": "funder", "username": "seal:BANK1", "name": "华东商业银行", "status": "waiting"}]}


def client(url: str) -> HttpESignClient:
    return HttpESignClient(url, "esign-key", "secret", timeout=2, retries=0, sleep=lambda _s: None)


def test_the_client_reads_the_flows_of_a_business_key_with_their_signers():
    with provider_stub() as stub:
        stub.answer(200, {"items": [FLOW]})
        flows = client(stub.url + "/esign").flows("APP-2026-0001 &x")
    [asked] = stub.received
    assert (asked.method, asked.path) == ("GET", "/esign/api/flows?business_key=APP-2026-0001+%26x")
    assert asked.headers["authorization"] == "Bearer esign-key"
    assert flows == [FlowState("EF-1", "signing", (
        SignerState("borrower", "applicant1", "申城贸易有限公司", "signed", "https://esign.example/flows/EF-1/sign",
                    "2026-12-07T02:15:00+00:00"),
        SignerState("funder", "seal:BANK1", "华东商业银行", "waiting", "")))]


@pytest.mark.parametrize("moment", ["yesterday", "2026-12-07T02:15:00", 1765073700, None, "", ["2026-12-07"]])
def test_a_signing_moment_that_does_not_read_as_one_with_its_offset_is_not_kept(moment):
    """A provider's answer is not trusted: a time without its offset would be read in the wrong zone."""
    flow = FlowState.from_dict({**FLOW, "signers": [{**FLOW["signers"][0], "signed_at": moment}]})
    assert flow.signers[0].signed_at == "" and flow.signers[0].status == "signed"


@pytest.mark.parametrize("answer", [
    (200, {"flows": []}), (200, {"items": {"id": "EF-1"}}), (200, {"items": [{"status": "signing"}]}),
    (200, {"items": [{"id": "EF-1", "signers": "borrower"}]}), (200, "not json"), (404, {"error": {"message": "no"}})])
def test_answers_that_do_not_read_are_the_providers_error(answer):
    with provider_stub() as stub:
        stub.answer(*answer)
        with pytest.raises(ProviderError):
            client(stub.url).flows("APP-1")
