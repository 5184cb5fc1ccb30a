"""Contracts as PDF documents: `render_contract(ContractData) -> bytes` (reportlab), Chinese text that
renders and can be extracted (`fonts`: an embedded CJK TrueType font, else reportlab's CID font), and a
blank signature field per signer (`sig_borrower`, `sig_core_enterprise`, `sig_funder`) for the
e-signature adapter to fill.
"""
from __future__ import annotations

from .fonts import CID_FALLBACK, DEBIAN_FONTS, ContractFont, find_cjk_font, register_contract_font
from .letter import Letter, render_letter
from .model import SIGNING_ORDER, ContractData, Party, ScheduleRow, signature_field_name
from .render import render_contract

__all__ = ["CID_FALLBACK", "DEBIAN_FONTS", "SIGNING_ORDER", "ContractData", "ContractFont", "Party", "ScheduleRow",
           "Letter", "find_cjk_font", "register_contract_font", "render_contract", "render_letter",
           "signature_field_name"]
