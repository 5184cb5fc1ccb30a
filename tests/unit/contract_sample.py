"""A tri-party receivable-finance contract with Chinese names, for the contract and e-signature tests."""
from __future__ import annotations

import re

from handlers.contracts import ContractData, Party, ScheduleRow

BORROWER = Party("borrower", "上海示例贸易有限公司", "91310115MA1H7B8CX7", "上海市浦东新区世纪大道100号")
CORE = Party("core_enterprise", "中国示例制造股份有限公司", "91110000100017653L")
FUNDER = Party("funder", "深圳示例商业银行股份有限公司", "9144030071526726XG", "深圳市福田区深南大道1号")


def sample_contract(*parties: Party) -> ContractData:
    return ContractData(
        title="应收账款质押借款合同",
        number="HT-2026-000123",
        parties=parties or (FUNDER, BORROWER, CORE),  # listed out of signing order on purpose
        amount="¥1,000,000.00（人民币壹佰万元整）",
        annual_rate="8.50%",
        term="12个月 12 months",
        repayment_method="等额本息 Equal monthly instalments",
        schedule=tuple(ScheduleRow(f"2027-{m:02d}-15", "¥83,333.33", "¥7,083.33", "¥90,416.66") for m in range(1, 13)),
        collateral=("应收账款：对中国示例制造股份有限公司的应收账款，发票号 No. 00012345，金额 ¥1,200,000.00",),
        collection_account="6222 0210 0000 1234 567 深圳示例商业银行上海分行",
        clauses=("本合同自各方签署之日起生效。This contract takes effect when all parties have signed it.",
                 "因本合同引起的争议，提交上海国际经济贸易仲裁委员会仲裁。"),
    )


def tampered(pdf: bytes) -> bytes:
    """`pdf` with one byte changed inside its first stream (the document's own content, which every
    signature covers): the file still parses, and no signature is intact. (A byte flipped at a spot chosen
    by the file's length could land in a hex string — an `F` made a `G` — and leave a file that cannot be
    read at all: a test about intactness then failed one run in five.)"""
    found = re.search(rb"stream\r?\n", pdf)
    assert found is not None, "no stream in the PDF"
    data = bytearray(pdf)
    data[found.end() + 8] ^= 0x01
    return bytes(data)
