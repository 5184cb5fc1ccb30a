"""`flask contracts verify FILE.pdf`: every signature with its signer, intact and trusted by the
e-signature simulator's sandbox CA; a changed byte, a foreign CA or no CA at all is said so."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from app.extensions import db
from app.services.simulators import esign_ca
from handlers.contracts import render_contract
from handlers.esign import SandboxCA
from handlers.esign.pades import sign_pdf
from tests.unit.contract_sample import BORROWER, CORE, FUNDER, sample_contract


@pytest.fixture
def signed_pdf(ctx, tmp_path: Path) -> Path:
    """The sample contract signed in order by credentials the simulator's sandbox CA issued."""
    pdf = render_contract(sample_contract())
    root = esign_ca.sandbox_ca().certificate
    for party in (BORROWER, CORE, FUNDER):
        credential = esign_ca.credential(party.role, party.name, party.identifier)
        pdf = sign_pdf(pdf, f"sig_{party.role}", credential.certificate, credential.key, [root])
    db.session.commit()
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    return path


def test_a_contract_signed_in_order_verifies(runner, signed_pdf: Path):
    result = runner.invoke(args=["contracts", "verify", str(signed_pdf)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines] == ["1. sig_borrower", "2. sig_core_enterprise", "3. sig_funder"]
    for line, party in zip(lines, (BORROWER, CORE, FUNDER), strict=True):
        assert party.name in line and "intact: yes" in line and "trusted: yes" in line


def test_a_changed_byte_or_a_foreign_ca_is_said_and_fails(runner, signed_pdf: Path, tmp_path: Path):
    data = bytearray(signed_pdf.read_bytes())
    spot = data.index(sample_contract().number.encode()) if sample_contract().number.encode() in data else 400
    data[spot] ^= 0x01
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    result = runner.invoke(args=["contracts", "verify", str(changed)])
    assert result.exit_code == 1 and "NO" in result.output, result.output
    foreign = SandboxCA.create(datetime.now(UTC), common_name="Some Other CA")
    pem = tmp_path / "other-ca.pem"
    pem.write_bytes(foreign.certificate.public_bytes(serialization.Encoding.PEM))
    result = runner.invoke(args=["contracts", "verify", str(signed_pdf), "--trust", str(pem)])
    assert result.exit_code == 1 and "trusted: NO" in result.output and "intact: yes" in result.output


def test_without_a_sandbox_ca_or_with_a_file_that_is_no_pdf_it_says_why(runner, tmp_path: Path):
    unsigned = tmp_path / "plain.pdf"
    unsigned.write_bytes(render_contract(sample_contract()))
    result = runner.invoke(args=["contracts", "verify", str(unsigned)])
    assert result.exit_code == 2 and "no sandbox CA" in result.output
    text = tmp_path / "not.pdf"
    text.write_text("hello")
    foreign = SandboxCA.create(datetime.now(UTC))
    pem = tmp_path / "ca.pem"
    pem.write_bytes(foreign.certificate.public_bytes(serialization.Encoding.PEM))
    assert runner.invoke(args=["contracts", "verify", str(text), "--trust", str(pem)]).exit_code == 2
    result = runner.invoke(args=["contracts", "verify", str(unsigned), "--trust", str(pem)])
    assert result.exit_code == 1 and "no signatures" in result.output


def test_a_byte_changed_anywhere_is_said_never_a_traceback(runner, signed_pdf: Path, tmp_path: Path):
    """Whatever byte of a signed contract is changed, the command says what it found — a signature not
    intact, or a file it cannot read — and exits 1 or 2; it never stops on a Python exception. (A byte
    flipped at offset 400 stopped it with `decimal.InvalidOperation`, which the reader raises on a number
    token it cannot read.)"""
    original = signed_pdf.read_bytes()
    changed = tmp_path / "changed.pdf"
    for spot in [400, *range(0, len(original), max(1, len(original) // 60))]:
        data = bytearray(original)
        data[spot] ^= 0x01
        changed.write_bytes(bytes(data))
        result = runner.invoke(args=["contracts", "verify", str(changed)])
        assert result.exception is None or isinstance(result.exception, SystemExit), (spot, result.exception)
        assert result.exit_code in (0, 1, 2), (spot, result.output)
        if result.exit_code == 2:
            assert result.stderr.startswith("error: not a PDF that can be read"), (spot, result.stderr)
