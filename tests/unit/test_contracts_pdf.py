"""Contracts as PDF: Chinese text that renders and can be extracted, a blank signature field per signer,
the font chosen (an embedded CJK TrueType font, else reportlab's CID font)."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import replace

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from handlers.contracts import (
    CID_FALLBACK,
    DEBIAN_FONTS,
    ContractData,
    Party,
    find_cjk_font,
    register_contract_font,
    render_contract,
    signature_field_name,
)
from tests.unit.contract_sample import BORROWER, CORE, FUNDER, sample_contract

REQUIRE_SERVICES = os.environ.get("LOANFLOW_REQUIRE_SERVICES") == "1"


def require_tool(name: str) -> str:
    """The path of a poppler-utils binary; skips (fails under LOANFLOW_REQUIRE_SERVICES=1) when it is missing."""
    path = shutil.which(name)
    if path is None:
        if REQUIRE_SERVICES:
            pytest.fail(f"LOANFLOW_REQUIRE_SERVICES=1 but {name} is missing: install Debian's poppler-utils")
        pytest.skip(f"{name} is not installed (Debian's poppler-utils)")
    return path


def require_cjk_font() -> str:
    """A Debian CJK TrueType font; skips (fails under LOANFLOW_REQUIRE_SERVICES=1) when none is installed."""
    path = find_cjk_font()
    if path is None:
        if REQUIRE_SERVICES:
            pytest.fail("LOANFLOW_REQUIRE_SERVICES=1 but no CJK TrueType font is installed: install fonts-wqy-zenhei")
        pytest.skip("no CJK TrueType font installed (Debian's fonts-wqy-zenhei)")
    return path


def pdftotext(pdf: bytes) -> str:
    result = subprocess.run([require_tool("pdftotext"), "-enc", "UTF-8", "-", "-"], input=pdf,
                            capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def signature_fields(pdf: bytes) -> list[tuple[str, bool]]:
    """(name, signed) of each signature field, in the document's order."""
    reader = PdfFileReader(io.BytesIO(pdf))
    return [(name, value is not None) for name, value, _ in enumerate_sig_fields(reader)]


@pytest.fixture(scope="module")
def contract_pdf() -> bytes:
    return render_contract(sample_contract())


def test_a_contract_is_a_pdf_with_a_blank_signature_field_per_signer_in_signing_order(contract_pdf):
    assert contract_pdf.startswith(b"%PDF-")
    assert signature_fields(contract_pdf) == [("sig_borrower", False), ("sig_core_enterprise", False),
                                              ("sig_funder", False)]


def test_a_bilateral_contract_has_two_signature_fields():
    pdf = render_contract(sample_contract(BORROWER, FUNDER, replace(CORE, signs=False)))
    assert signature_fields(pdf) == [("sig_borrower", False), ("sig_funder", False)]


def test_the_chinese_text_can_be_extracted(contract_pdf):
    require_cjk_font()
    text = pdftotext(contract_pdf)
    for expected in ("应收账款质押借款合同", "HT-2026-000123", BORROWER.name, "91310115MA1H7B8CX7", CORE.name,
                     FUNDER.name, "等额本息", "2027-12-15", "¥90,416.66", "发票号", "6222 0210 0000 1234 567",
                     "上海国际经济贸易仲裁委员会", "借款人 Borrower"):
        assert expected in text, expected


def test_the_cjk_font_is_embedded(contract_pdf):
    font = require_cjk_font()
    fonts = subprocess.run([require_tool("pdffonts"), "-"], input=contract_pdf, capture_output=True, check=True)
    listing = fonts.stdout.decode()
    assert register_contract_font().path == font
    embedded = [line for line in listing.splitlines() if "TrueType" in line]
    assert embedded and all(" yes yes yes " in line for line in embedded), listing


def test_a_configured_font_is_used_and_must_exist(tmp_path):
    font = require_cjk_font()
    assert find_cjk_font(font, candidates=()) == font
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_cjk_font(str(tmp_path / "missing.ttf"))
    not_a_font = tmp_path / "not-a-font.ttf"
    not_a_font.write_bytes(b"hello")
    with pytest.raises(ValueError, match="TrueType"):
        register_contract_font(str(not_a_font))


def test_without_a_truetype_font_the_cid_font_is_used(tmp_path):
    assert find_cjk_font(candidates=(str(tmp_path / "none.ttc"),)) is None
    font = register_contract_font(candidates=())
    assert font.name == CID_FALLBACK and not font.embedded
    assert all(path.startswith("/usr/share/fonts/truetype/") for path in DEBIAN_FONTS)


def test_a_contract_names_each_signing_role_once():
    with pytest.raises(ValueError, match="once"):
        sample_contract(BORROWER, replace(FUNDER, role="borrower"))
    with pytest.raises(ValueError, match="parties"):
        ContractData(title="t", number="n", parties=(), amount="1", annual_rate="1%", term="1",
                     repayment_method="m")
    with pytest.raises(ValueError, match="role"):
        Party("借款人", "张三", "310115199003071239")
    assert signature_field_name("core_enterprise") == "sig_core_enterprise"
    assert [p.role for p in sample_contract().signers] == ["borrower", "core_enterprise", "funder"]


def test_text_that_looks_like_markup_is_printed_as_written():
    require_cjk_font()
    pdf = render_contract(replace(sample_contract(), clauses=("违约金 < 5% & 罚息 > 0 <b>不加粗</b>",)))
    assert "违约金 < 5% & 罚息 > 0 <b>不加粗</b>" in pdftotext(pdf)


def test_a_contract_renders_with_the_cid_font_when_no_truetype_font_is_found(monkeypatch):
    import handlers.contracts.render as render
    monkeypatch.setattr(render, "register_contract_font", lambda path: register_contract_font(path, candidates=()))
    pdf = render_contract(sample_contract())
    assert signature_fields(pdf)[0] == ("sig_borrower", False)
    assert b"/BaseFont /STSong-Light" in pdf and b"/FontFile2" not in pdf  # named, not embedded
