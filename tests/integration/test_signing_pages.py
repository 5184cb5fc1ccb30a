"""The deal pages while the contract waits for signatures, and after (docs/signing.md): an approved
order-financing deal (the shipped diagrams) whose borrower's and core enterprise's signers verified
their identity. Every party's application page and task page's deal panel say 合同待签署 / The contract
is waiting for signatures with who has signed and who has not, as the e-signature provider says (in
process, and over HTTP with the simulator's key); only the signer whose turn it is gets the link to
the provider's signing page; once signed, the signed contract and the registration certificate are
documents every party opens. In Chinese and English, without raw codes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application, HumanTask, Organisation
from app.services.identity import directory as identity
from app.services.signing import providers
from app.services.simulators import esign, esign_callbacks
from app.services.workflow import tasks
from app.services.workflow.uploads import PENDING_DOCUMENT, Upload
from handlers.identifiers import make_credit_code
from tests.integration.origination_support import MANUAL_CODE, deploy_shipped, seed_parties
from tests.integration.test_identity import set_password, sign_in
from tests.integration.test_origination_flows import approve_both, confirm_order, draft, fresh, submit

CORE_CODE = make_credit_code("91420000MA0000001")
BANK_CODE = make_credit_code("91440000MA0000002")
BORROWER = {"name": "Lotus Trading", "id_number": MANUAL_CODE, "mobile": "13800138000", "code": "123456"}
CORE = {"name": "Yangtze Manufacturing", "id_number": CORE_CODE, "mobile": "13900139000", "code": "123456"}
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
CERTIFICATE = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
READERS = ("app1", "signer1", "rev1", "op1")  # the borrower, the core enterprise, the funder, the platform


@dataclass(frozen=True)
class Deal:
    id: int
    number: str
    instance_id: int


@pytest.fixture
def signing(app, runner, admin_token, served):
    """An approved order-financing deal whose signers have verified: its contract waits for signatures.
    The simulators call the platform back at the served app (BASE_URL and PUBLIC_URL restored after).
    No app context stays pushed: each page request signs its reader in afresh."""
    before = {k: app.config.get(k) for k in ("BASE_URL", "PUBLIC_URL")}
    app.config.update(BASE_URL=served, PUBLIC_URL=served)
    deploy_shipped(app, runner)
    with app.app_context():
        seed_parties()
        for code, credit_code in (("CORE1", CORE_CODE), ("BANK1", BANK_CODE)):
            db.session.scalar(select(Organisation).where(Organisation.code == code)).credit_code = credit_code
        db.session.commit()
        row = submit(draft("order"))
        confirm_order(row)
        approve_both(row)
        do(row, "verify_identity_borrower", "app1", BORROWER)
        do(row, "verify_identity_core", "signer1", CORE)
        row = fresh(row)
        assert (row.status, row.stage) == ("signing", "contract_signing")
        deal = Deal(row.id, row.number, row.instance_id)
        db.session.remove()
    for username in READERS:
        set_password(app, username)
    try:
        yield deal
    finally:
        app.config.update(before)


def do(row: Application | Deal, element: str, username: str, answer: dict, uploads: tuple[Upload, ...] = ()) -> None:
    db.session.expire_all()
    task_id = db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == row.instance_id, HumanTask.element_id == element,
        HumanTask.state.in_(("ready", "claimed"))))
    assert task_id is not None, element
    tasks.complete_task(task_id, answer, identity.principal_for(username), uploads)
    db.session.commit()


def reader(app, username: str):
    client = app.test_client()
    answer = sign_in(client, username)
    assert answer.status_code == 302, answer.text[:3000]
    return client


def page(client, row: Deal, headers=ZH) -> str:
    answer = client.get(f"/applications/{row.id}", headers=headers)
    assert answer.status_code == 200
    return answer.text


def box(text: str) -> str:
    """The page's contract-signing section ("" when there is none)."""
    found = re.search(r'<section class="reason-box" id="contract-signing".*?</section>', text, re.S)
    return found.group(0) if found else ""


def signers(text: str) -> list[tuple[str, str]]:
    """(party, signed yes/no) of each row of the signers' table, in signing order."""
    return re.findall(r'<tr data-party="([a-z_]+)" data-signed="(yes|no)">', box(text))


def sign_link(text: str) -> str | None:
    found = re.search(r'<a class="button primary" id="sign-link" href="([^"]+)">([^<]+)</a>', box(text))
    return f"{found.group(1)} {found.group(2)}" if found else None


def flow_id(app, row: Deal) -> str:
    with app.app_context():
        [flow] = esign.flows_for(row.number)
        db.session.remove()
    return flow.flow_id


def sign(app, row: Deal, username: str) -> None:
    with app.app_context():
        esign.sign(flow_id(app, row), username, esign.SANDBOX_CODE)
        db.session.remove()


def test_every_party_reads_who_has_signed_and_only_the_signer_in_turn_gets_the_link(signing, app):
    row = signing
    clients = {u: reader(app, u) for u in READERS}
    link = f"{app.config['PUBLIC_URL']}/simulators/esign/flows/{flow_id(app, row)}/sign"

    borrower = page(clients["app1"], row)
    assert "合同待签署" in box(borrower)
    assert signers(borrower) == [("borrower", "no"), ("core_enterprise", "no"), ("funder", "no")]
    assert "Lotus Trading" in box(borrower) and "Pearl River Bank" in box(borrower)
    assert "尚未签署" in box(borrower) and "其他方签署后自动加盖电子印章" in box(borrower)  # the funder's seal
    assert sign_link(borrower) == f"{link} 去签署"
    assert re.search(r'data-field="stage">([^<]*)<', borrower).group(1) == "合同待签署"
    for other in ("signer1", "rev1", "op1"):  # not their turn, or not a signer at all
        text = page(clients[other], row)
        assert signers(text) == signers(borrower), other
        assert sign_link(text) is None, other
    english = page(clients["app1"], row, EN)
    assert "The contract is waiting for signatures" in box(english) and "Not signed yet" in box(english)
    assert sign_link(english) == f"{link} Sign the contract"

    sign(app, row, "app1")
    borrower = page(clients["app1"], row)
    assert signers(borrower) == [("borrower", "yes"), ("core_enterprise", "no"), ("funder", "no")]
    assert sign_link(borrower) is None and "已签署" in box(borrower)
    assert sign_link(page(clients["signer1"], row)) == f"{link} 去签署"
    assert sign_link(page(clients["rev1"], row)) is None


def test_the_deal_panel_of_a_task_page_says_the_same(signing, app):
    row = signing
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == row.instance_id, HumanTask.element_id == "verify_identity_core"))
        db.session.remove()
    text = reader(app, "signer1").get(f"/tasks/{task_id}", headers=ZH).text
    panel = text[text.index('id="deal-panel"'):]
    assert "合同待签署" in box(panel) and sign_link(panel) is None
    sign(app, row, "app1")
    panel = reader(app, "signer1").get(f"/tasks/{task_id}", headers=EN).text
    assert signers(panel) == [("borrower", "yes"), ("core_enterprise", "no"), ("funder", "no")]
    assert sign_link(panel).endswith("Sign the contract")


def test_the_signed_contract_and_the_registration_certificate_are_documents_every_party_opens(signing, app):
    row = signing
    sign(app, row, "app1")
    sign(app, row, "signer1")  # the funder's seal follows at once
    with app.app_context():
        assert esign_callbacks.deliver_callbacks() == 1
        moved = fresh(row)
        assert (moved.status, moved.stage) == ("signing", "registration")
        db.session.remove()
    clients = {u: reader(app, u) for u in READERS}
    for username, client in clients.items():
        text = page(client, row)
        assert box(text) == "", username  # nothing waits for signatures any more
        assert "已签署合同" in text and "登记中" in text, username
        [signed_id] = re.findall(r'<li data-document-id="(\d+)"><a [^>]*><span translate="no">HT-[^<]*-signed\.pdf', text)
        opened = client.get(f"/applications/{row.id}/documents/{signed_id}")
        assert opened.status_code == 200 and opened.data.startswith(b"%PDF-"), username

    with app.app_context():
        do(row, "register_collateral", "op1", {"registry": "zhongdeng", "registration_number": "ZD-2026-0042",
                                                "registration_date": "2026-11-27", "certificate": PENDING_DOCUMENT},
           (Upload("certificate", "登记证明-ZD-2026-0042.pdf", CERTIFICATE),))
        db.session.remove()
    for username, client in clients.items():
        text = page(client, row)
        [listed] = re.findall(r'<li data-document-id="(\d+)"><a [^>]*><span translate="no">登记证明-ZD-2026-0042\.pdf</span></a> · ([^·]+) ·', text)
        assert listed[1].strip() == "登记证明", username
        opened = client.get(f"/applications/{row.id}/documents/{listed[0]}")
        assert (opened.status_code, opened.data) == (200, CERTIFICATE), username
    english = page(clients["app1"], row, EN)
    assert "Registration certificate" in english and "Signed contract" in english


def test_the_signers_are_read_from_a_provider_over_http_and_an_unreachable_one_is_said(signing, app, served):
    row = signing
    sign(app, row, "app1")
    before = {k: app.config.get(k) for k in ("ESIGN_URL", "ESIGN_API_KEY", "ESIGN_TIMEOUT")}
    try:
        app.config.update(ESIGN_URL=f"{served}/simulators/esign", ESIGN_API_KEY=app.config["SIMULATOR_API_KEY"])
        text = page(reader(app, "signer1"), row)
        assert signers(text) == [("borrower", "yes"), ("core_enterprise", "no"), ("funder", "no")]
        assert sign_link(text) == f"{served}/simulators/esign/flows/{flow_id(app, row)}/sign 去签署"  # the provider's page

        app.config.update(ESIGN_URL="http://127.0.0.1:9/esign")  # nothing listens there
        with app.app_context():  # a page asks once, briefly; a step of a diagram retries as configured
            assert (providers.esign(for_page=True).retries, providers.esign(for_page=True).timeout) == (0, 3.0)
            assert (providers.esign().retries, providers.esign().timeout) == (2, 10.0)
        text = page(reader(app, "signer1"), row)
        assert "合同待签署" in box(text) and "暂时无法连接电子签约服务商" in box(text)
        assert signers(text) == [] and sign_link(text) is None
    finally:
        app.config.update(before)


def test_the_borrowers_task_page_leaves_the_engines_steps_to_the_staff(signing, app):
    """Once signed, a borrower's task page said "收到消息" (the provider's completion caught) among its history:
    an engine's step, which the platform's staff read; the borrower reads the tasks."""
    from app.services.workflow.task_view import task_page

    row = signing
    sign(app, row, "app1")
    sign(app, row, "signer1")
    with app.app_context():
        assert esign_callbacks.deliver_callbacks() == 1
        task_id = db.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == row.instance_id, HumanTask.element_id == "verify_identity_borrower"))
        with app.test_request_context():
            staff = {e["kind"] for e in task_page(identity.principal_for("op1"), task_id, "en")["history"]}
            seen = task_page(identity.principal_for("app1"), task_id, "en")["history"]
            borrower = {e["kind"] for e in seen}
        db.session.remove()
    assert "message_received" in staff  # it happened
    assert "completed" not in borrower and "task_completed" in borrower
    # a message the borrower reads says what came (the step that waited for it), never a bare "Message received"
    assert all(e["title"] for e in seen if e["kind"] == "message_received"), seen
    text = reader(app, "app1").get(f"/tasks/{task_id}", headers=EN).text  # its heading: no staff's labels
    meta = re.search(r'<p class="meta">(.*?)</p>', text, re.S).group(1)
    assert row.number in meta and "Business key" not in meta and "State" not in meta, meta


def test_the_signer_reads_the_contracts_figures_beside_the_link(signing, app):
    """Walk I item 1: the borrower asked to sign read the approved amount only — the rate, the repayment
    method and what the loan costs were inside the PDF. The box says them, as the contract prints them."""
    from decimal import Decimal

    from app.models import ApplicationDocument
    from tests.unit.test_contracts_pdf import pdftotext

    row = signing
    with app.app_context():
        pdf = db.session.scalar(select(ApplicationDocument.content).where(
            ApplicationDocument.application_id == row.id, ApplicationDocument.kind == "contract"))
        db.session.remove()
    printed = re.findall(r"^\s*\d+\s+\d{4}-\d\d-\d\d\s+¥([\d,.]+)\s+¥([\d,.]+)\s+¥([\d,.]+)", pdftotext(pdf), re.M)
    interest = sum(Decimal(i.replace(",", "")) for _, i, _ in printed)
    total = sum(Decimal(t.replace(",", "")) for _, _, t in printed)
    assert printed and interest > 0
    borrower = box(page(reader(app, "app1"), row))
    terms = re.search(r'<dl class="data" id="contract-terms">.*?</dl>', borrower, re.S)
    assert terms, borrower
    words = re.sub(r"<[^>]+>", " ", terms.group(0))
    for said in ("年利率", "还款方式", "等额本息", f"{len(printed)} 期", "利息合计", f"¥{interest:,.2f}",
                 "还款总额", f"¥{total:,.2f}", "罚息", "按日计收", "提前还款违约金"):
        assert said in words, (said, words)
    assert "以合同为准" in borrower
    english = box(page(reader(app, "app1"), row, EN))
    assert "Total interest" in english and "Equal instalments of principal and interest" in english
