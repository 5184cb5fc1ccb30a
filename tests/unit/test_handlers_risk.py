"""The risk adapter: the simulator's determinism, grade bands and blacklist; the HTTP client against a stub."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.errors import ProviderError, ProviderUnavailable
from handlers.identifiers import CREDIT_ALPHABET, make_credit_code, make_id_number
from handlers.risk import GRADES, HttpRiskClient, RiskReport, RiskRequest, SimulatedRisk, grade_of
from tests.unit.provider_stub import provider_stub, refused_url

COMPANY = make_credit_code("91310000MA1FL0001")
PERSON = make_id_number("11010519900101001")


def company(amount: str = "500000.00", subject: str = COMPANY, product_kind: str = "order_financing") -> RiskRequest:
    return RiskRequest(subject=subject, subject_kind="credit_code", name="上海贸易有限公司", amount=amount,
                       product_kind=product_kind)


def person(amount: str = "50000.00") -> RiskRequest:
    return RiskRequest(subject=PERSON, subject_kind="id_number", name="张三", amount=amount, product_kind="credit_loan")


# --- the records -----------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, message", [
    ({"subject_kind": "passport"}, "subject_kind"),
    ({"subject": "  "}, "subject"),
    ({"amount": "lots"}, "amount"),
    ({"amount": "-1"}, "amount"),
    ({"amount": "NaN"}, "amount"),
])
def test_a_malformed_request_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        replace(company(), **changes)


def test_request_and_report_travel_as_json_objects():
    request = company()
    assert RiskRequest.from_dict(request.to_dict()) == request
    report = SimulatedRisk().assess(request)
    assert RiskReport.from_dict(report.to_dict()) == report


@pytest.mark.parametrize("changes", [
    {"score": 901}, {"score": 299}, {"score": "700"}, {"score": True}, {"grade": "F"}, {"report_id": ""},
    {"blacklisted": "no"}, {"hits": "blacklist"}, {"bureau": []},
])
def test_a_report_that_does_not_read_is_refused(changes):
    data = {**SimulatedRisk().assess(company()).to_dict(), **changes}
    with pytest.raises(ValueError):
        RiskReport.from_dict(data)


def test_a_report_missing_a_field_is_refused():
    data = SimulatedRisk().assess(company()).to_dict()
    del data["score"]
    with pytest.raises(ValueError, match="score"):
        RiskReport.from_dict(data)


# --- the simulator -----------------------------------------------------------------------------------

@pytest.mark.parametrize("score, grade", [
    (900, "A"), (750, "A"), (749, "B"), (680, "B"), (679, "C"), (600, "C"), (599, "D"), (520, "D"), (519, "E"),
    (300, "E"),
])
def test_grade_bands(score, grade):
    assert grade_of(score) == grade


def test_the_same_request_gets_the_same_report_from_any_simulator():
    first = SimulatedRisk().assess(company())
    assert SimulatedRisk().assess(company()) == first
    assert first.provider == "simulator" and first.report_id.startswith("SIM-")
    assert set(first.bureau) == {"overdue_accounts", "open_loans", "enquiries_6m"}
    assert not first.blacklisted and first.hits == []


def test_the_amount_is_read_as_a_number_and_the_subject_without_case_or_space():
    report = SimulatedRisk().assess(company())
    assert SimulatedRisk().assess(company(amount="500000")) == report
    assert SimulatedRisk().assess(company(subject=f"  {COMPANY.lower()} ")) == report


def test_another_amount_or_product_is_another_report():
    simulator = SimulatedRisk()
    ids = {simulator.assess(request).report_id
           for request in (company(), company(amount="500000.01"), company(product_kind="pledge_financing"), person())}
    assert len(ids) == 4


@given(st.text(alphabet=CREDIT_ALPHABET, min_size=17, max_size=17), st.integers(0, 10**9), st.integers(0, 10**9))
def test_score_grade_and_amount(body, smaller, larger):
    smaller, larger = sorted((smaller, larger))
    code = make_credit_code(body)
    low = SimulatedRisk().assess(company(amount=f"{smaller}.00", subject=code))
    high = SimulatedRisk().assess(company(amount=f"{larger}.00", subject=code))
    assert 300 <= high.score <= low.score <= 900  # asking more never raises the score
    assert low.grade == grade_of(low.score) and high.grade == grade_of(high.score)


def test_the_simulator_hands_out_every_grade():
    """The demo and the decision table need subjects in each band; a few hundred codes hold them all."""
    simulator = SimulatedRisk()
    grades = {simulator.assess(company(amount="100000.00", subject=make_credit_code(f"91310000MA1FL{n:04d}"))).grade
              for n in range(300)}
    assert grades == set(GRADES)


def test_a_blacklisted_subject_gets_the_hit_and_the_lowest_grade():
    clean = SimulatedRisk().assess(company())
    listed = SimulatedRisk(blacklist={COMPANY.lower()}).assess(company())
    assert listed.blacklisted and listed.hits == ["blacklist"]
    assert listed.grade == "E" and listed.score == 300
    assert listed.report_id != clean.report_id
    assert not SimulatedRisk(blacklist={COMPANY}).assess(person()).blacklisted


def test_the_blacklist_may_be_a_predicate_asked_with_the_normalised_identifier():
    asked = []

    def listed(subject: str) -> bool:
        asked.append(subject)
        return subject == PERSON

    simulator = SimulatedRisk(blacklist=listed)
    assert simulator.assess(RiskRequest(subject=PERSON.lower() + " ", subject_kind="id_number", name="张三",
                                        amount="1", product_kind="credit_loan")).blacklisted
    assert not simulator.assess(company()).blacklisted
    assert asked == [PERSON, COMPANY]


@pytest.mark.parametrize("subject, kind", [
    ("110105194912310021", "id_number"),   # wrong check digit
    (COMPANY, "id_number"),                # a credit code is no ID number
    ("91350100M000100Y44", "credit_code"),
    (PERSON, "credit_code"),
])
def test_a_malformed_identifier_is_refused_as_a_bureau_would(subject, kind):
    request = RiskRequest(subject=subject, subject_kind=kind, name="x", amount="1", product_kind="credit_loan")
    with pytest.raises(ProviderError, match="not a valid") as caught:
        SimulatedRisk().assess(request)
    assert not isinstance(caught.value, ProviderUnavailable)


# --- the HTTP client -----------------------------------------------------------------------------------

def client(url: str, **options) -> tuple[HttpRiskClient, list[float]]:
    waits: list[float] = []
    return HttpRiskClient(url, "risk-key", **{"timeout": 2, **options}, sleep=waits.append), waits


def test_the_client_posts_the_request_and_reads_the_report():
    report = SimulatedRisk().assess(company())
    with provider_stub() as stub:
        stub.answer(200, report.to_dict())
        risk, waits = client(stub.url + "/simulators/risk/")
        assert risk.assess(company()) == report
    [received] = stub.received
    assert received.path == "/simulators/risk/api/assess"
    assert received.headers["authorization"] == "Bearer risk-key"
    assert received.headers["content-type"].startswith("application/json")
    assert received.body == company().to_dict()
    assert waits == []


def test_the_client_retries_a_server_error_and_goes_on():
    report = SimulatedRisk().assess(company())
    with provider_stub() as stub:
        stub.answer(503, {"error": {"message": "busy"}})
        stub.answer(200, report.to_dict())
        risk, waits = client(stub.url)
        assert risk.assess(company()) == report
    assert len(stub.received) == 2 and waits == [0.2]


def test_a_provider_that_keeps_failing_is_unavailable_after_the_retries():
    with provider_stub() as stub:
        for _ in range(3):
            stub.answer(500, "Internal Server Error")
        risk, waits = client(stub.url, retries=2)
        with pytest.raises(ProviderUnavailable, match="HTTP 500") as caught:
            risk.assess(company())
    assert len(stub.received) == 3 and waits == [0.2, 0.4]
    assert caught.value.provider == "risk"


def test_a_provider_that_is_down_is_unavailable():
    risk, waits = client(refused_url(), retries=1)
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        risk.assess(company())
    assert waits == [0.2]


def test_a_provider_that_does_not_answer_in_time_is_unavailable():
    with provider_stub() as stub:
        stub.hang()
        stub.hang()
        risk, waits = client(stub.url, timeout=0.2, retries=1)
        with pytest.raises(ProviderUnavailable, match="timed out"):
            risk.assess(company())
    assert len(stub.received) == 2 and waits == [0.2]


@pytest.mark.parametrize("body, message", [
    ({"error": {"code": "invalid", "message": "unknown subject"}}, "unknown subject"),
    ({"message": "bad key"}, "bad key"),
    ("plain words", "plain words"),
])
def test_a_refusal_is_not_retried_and_carries_the_providers_message(body, message):
    with provider_stub() as stub:
        stub.answer(422, body)
        risk, waits = client(stub.url)
        with pytest.raises(ProviderError) as caught:
            risk.assess(company())
    assert not isinstance(caught.value, ProviderUnavailable)
    assert caught.value.status == 422 and caught.value.message == message
    assert len(stub.received) == 1 and waits == []


@pytest.mark.parametrize("body", [{"score": 1000}, b"\xff not json", ["a", "list"]])
def test_an_answer_that_is_not_a_report_is_a_provider_error(body):
    with provider_stub() as stub:
        stub.answer(200, body)
        risk, _waits = client(stub.url)
        with pytest.raises(ProviderError) as caught:
            risk.assess(company())
    assert not isinstance(caught.value, ProviderUnavailable)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://risk.example", "risk.example"])
def test_a_provider_url_is_http(url):
    with pytest.raises(ValueError, match="http"):
        HttpRiskClient(url, "key")
