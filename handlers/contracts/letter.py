"""A one-page document the platform issues (a settlement certificate, a demand letter): a title, a
number, a table of facts and paragraphs, in the contract's CJK font, without signature fields."""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table

from .fonts import register_contract_font
from .render import _grid, _styles, _text


@dataclass(frozen=True)
class Letter:
    title: str
    number: str
    facts: tuple[tuple[str, str], ...] = ()
    paragraphs: tuple[str, ...] = ()
    issuer: str = ""
    issued_on: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # PDF metadata: subject, keywords


def render_letter(letter: Letter, font_path: str | None = None) -> bytes:
    """The letter as PDF bytes."""
    s = _styles(register_contract_font(font_path))
    story: list[Flowable] = [Paragraph(_text(letter.title), s["title"]),
                             Paragraph(f"编号 No.：{_text(letter.number)}", s["number"])]
    if letter.facts:
        table = Table([[Paragraph(_text(k), s["cell"]), Paragraph(_text(v), s["cell"])] for k, v in letter.facts],
                      colWidths=[55 * mm, 110 * mm])
        table.setStyle(_grid())
        story += [table, Spacer(1, 4 * mm)]
    story += [Paragraph(_text(p), s["body"]) for p in letter.paragraphs]
    if letter.issuer or letter.issued_on:
        story += [Spacer(1, 8 * mm), Paragraph(_text(letter.issuer), s["body"]),
                  Paragraph(_text(letter.issued_on), s["body"])]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=letter.title, subject=letter.extra.get("subject", letter.number),
                            leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=20 * mm)
    doc.build(story)
    return out.getvalue()
