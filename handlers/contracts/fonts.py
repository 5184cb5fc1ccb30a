"""The font a contract's Chinese text is set in: an embedded CJK TrueType font, or reportlab's CID font.

Two outcomes, and what each gives:

- **An embedded TrueType font** (`.ttf`, or the first face of a `.ttc`) found at the configured path or,
  when none is configured, at the first of `DEBIAN_FONTS` that exists (Debian's `fonts-wqy-zenhei`,
  `fonts-wqy-microhei`, `fonts-arphic-uming`, `fonts-arphic-ukai`). reportlab embeds the subset of
  glyphs the contract uses with a ToUnicode map: the PDF looks the same in every reader and its text
  can be extracted (`pdftotext`) anywhere. This is what `.ci/run` installs (`fonts-wqy-zenhei`).
  OpenType CJK fonts with PostScript (CFF) outlines, such as Debian's Noto CJK, cannot be embedded by
  reportlab and are not searched.
- **reportlab's CID font `STSong-Light`** when no such file exists. Nothing is embedded: a reader
  substitutes a Chinese font of its own, and text extraction needs the Adobe-GB1 character maps on the
  reading machine (`pdftotext` without Debian's `poppler-data` reports "Missing language pack for
  'Adobe-GB1'" and extracts nothing). Good enough to look at, not to archive.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

DEBIAN_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
)
CID_FALLBACK = "STSong-Light"


@dataclass(frozen=True)
class ContractFont:
    """A font registered with reportlab: `name` to set text in, `path` of the embedded file (None for the CID font)."""

    name: str
    path: str | None

    @property
    def embedded(self) -> bool:
        return self.path is not None


def find_cjk_font(configured: str | None = None, candidates: tuple[str, ...] = DEBIAN_FONTS) -> str | None:
    """The TrueType file to embed: `configured` when given (FileNotFoundError if it is missing), otherwise
    the first of `candidates` that exists, otherwise None."""
    if configured:
        if not Path(configured).is_file():
            raise FileNotFoundError(f"the configured contract font {configured} does not exist")
        return configured
    return next((path for path in candidates if Path(path).is_file()), None)


def register_contract_font(configured: str | None = None,
                           candidates: tuple[str, ...] = DEBIAN_FONTS) -> ContractFont:
    """Register and return the contract's font (see the module's docstring for which one and what it gives).

    ValueError when the configured file is not a TrueType font reportlab can embed.
    """
    path = find_cjk_font(configured, candidates)
    if path is None:
        if CID_FALLBACK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
        return ContractFont(CID_FALLBACK, None)
    name = "ContractCJK-" + Path(path).stem
    if name not in pdfmetrics.getRegisteredFontNames():
        try:
            font = TTFont(name, path, subfontIndex=0) if path.endswith(".ttc") else TTFont(name, path)
        except TTFError as exc:
            raise ValueError(f"{path} is not a TrueType font reportlab can embed: {exc}") from exc
        pdfmetrics.registerFont(font)
    return ContractFont(name, path)
