"""Lays a `ContractData` out as a PDF (reportlab) with one blank signature field per signing party.

`render_contract(data)` returns the PDF's bytes: the title and number, the parties, the loan's terms,
the schedule table, the collateral, the collection account, the clauses, and a signature block per
signer in signing order. Under each signer's block is an empty AcroForm signature field named
`sig_<role>` (`sig_borrower`, `sig_core_enterprise`, `sig_funder`) that the e-signature adapter fills.
Labels are printed in Chinese and English; the data is printed as given.
"""
from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .fonts import ContractFont, register_contract_font
from .model import ContractData, Party, signature_field_name
from .signature_fields import FieldBox, add_signature_fields

BOX_WIDTH, BOX_HEIGHT = 70 * mm, 28 * mm


class _SignatureBox(Flowable):
    """An empty frame where a party signs; remembers where it was drawn so the field can be put there."""

    def __init__(self, field_name: str, placed: dict[str, FieldBox]) -> None:
        super().__init__()
        self.field_name = field_name
        self.placed = placed
        self.width, self.height = BOX_WIDTH, BOX_HEIGHT

    def draw(self) -> None:
        self.canv.setStrokeColor(colors.grey)
        self.canv.setDash(2, 2)
        self.canv.rect(0, 0, self.width, self.height)
        x, y = self.canv.absolutePosition(0, 0)
        page = self.canv.getPageNumber() - 1
        self.placed[self.field_name] = FieldBox(self.field_name, page, (x, y, x + self.width, y + self.height))


def _styles(font: ContractFont) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font.name, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=1, spaceAfter=4 * mm),
        "number": ParagraphStyle("number", parent=base, alignment=2, spaceAfter=4 * mm),
        "heading": ParagraphStyle("heading", parent=base, fontSize=12, leading=18, spaceBefore=4 * mm,
                                  spaceAfter=2 * mm),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13),
    }


def _text(value: str) -> str:
    return escape(value).replace("\n", "<br/>")


def _party_lines(party: Party, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    lines = [f"{party.label}：{_text(party.name)}", f"统一社会信用代码/身份证号 Credit code / ID：{_text(party.identifier)}"]
    if party.address:
        lines.append(f"住所 Address：{_text(party.address)}")
    return [Paragraph(line, s["body"]) for line in lines] + [Spacer(1, 2 * mm)]


def _terms(data: ContractData, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    rows = [("借款金额 Amount", data.amount), ("年化利率 Annual rate", data.annual_rate), ("借款期限 Term", data.term),
            ("还款方式 Repayment method", data.repayment_method)]
    if data.collection_account:
        rows.append(("回款账户 Collection account", data.collection_account))
    table = Table([[Paragraph(_text(k), s["cell"]), Paragraph(_text(v), s["cell"])] for k, v in rows],
                  colWidths=[55 * mm, 110 * mm])
    table.setStyle(_grid())
    return [Paragraph("第一条 借款条件 Terms of the loan", s["heading"]), table]


def _schedule(data: ContractData, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    if not data.schedule:
        return []
    head = ["期次 No.", "还款日 Due date", "本金 Principal", "利息 Interest", "合计 Total"]
    body = [[str(i), r.due_date, r.principal, r.interest, r.total] for i, r in enumerate(data.schedule, 1)]
    table = Table([[Paragraph(_text(c), s["cell"]) for c in row] for row in [head, *body]],
                  colWidths=[18 * mm, 33 * mm, 38 * mm, 38 * mm, 38 * mm], repeatRows=1)
    table.setStyle(_grid(header=True))
    return [Paragraph("第二条 还款计划 Repayment schedule", s["heading"]), table]


def _grid(header: bool = False) -> TableStyle:
    commands: list[tuple[Any, ...]] = [("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke))
    return TableStyle(commands)


def _signature_block(party: Party, s: dict[str, ParagraphStyle], placed: dict[str, FieldBox]) -> Flowable:
    return KeepTogether([
        Paragraph(f"{party.label}（签章 Signature）：{_text(party.name)}", s["body"]),
        Spacer(1, 1 * mm),
        _SignatureBox(signature_field_name(party.role), placed),
        Spacer(1, 4 * mm),
    ])


def render_contract(data: ContractData, font_path: str | None = None) -> bytes:
    """The contract as PDF bytes with a blank signature field per signer (see `fonts` for the font used)."""
    font = register_contract_font(font_path)
    s = _styles(font)
    story: list[Flowable] = [Paragraph(_text(data.title), s["title"]),
                             Paragraph(f"合同编号 Contract No.：{_text(data.number)}", s["number"])]
    for party in data.parties:
        story += _party_lines(party, s)
    story += _terms(data, s) + _schedule(data, s)
    if data.collateral:
        story.append(Paragraph("第三条 担保 Collateral", s["heading"]))
        story += [Paragraph(_text(line), s["body"]) for line in data.collateral]
    if data.clauses:
        story.append(Paragraph("其他条款 Other clauses", s["heading"]))
        story += [Paragraph(_text(clause), s["body"]) for clause in data.clauses]
    story.append(Paragraph("签署 Signatures", s["heading"]))
    placed: dict[str, FieldBox] = {}
    story += [_signature_block(party, s, placed) for party in data.signers]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=data.title, subject=data.number, leftMargin=20 * mm,
                            rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=20 * mm)
    doc.build(story)
    return add_signature_fields(out.getvalue(), [placed[signature_field_name(p.role)] for p in data.signers])
