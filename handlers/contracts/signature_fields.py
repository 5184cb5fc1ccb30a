"""Adds the blank AcroForm signature fields a contract is signed in (pyhanko), where the layout left room."""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigFieldSpec, append_signature_field


@dataclass(frozen=True)
class FieldBox:
    """A signature field: its name, the page (from 0) and the rectangle (x1, y1, x2, y2) in points."""

    name: str
    page: int
    box: tuple[float, float, float, float]


def add_signature_fields(pdf: bytes, boxes: Sequence[FieldBox]) -> bytes:
    """`pdf` with one empty signature field per box, appended as an incremental update."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    for field in boxes:
        append_signature_field(writer, SigFieldSpec(field.name, on_page=field.page,
                                                    box=tuple(round(v, 2) for v in field.box)))  # type: ignore[arg-type]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
