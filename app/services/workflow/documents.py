"""Documents uploaded into an instance: size and type limits, content sniffed, SHA-256 kept."""
from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile

import filetype
from sqlalchemy import insert, select

from app.extensions import db
from app.models import Document, HumanTask, ProcessInstance
from app.services import context
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import NotFound, TooLarge
from app.services.identity.access import instance_visible
from app.services.identity.directory import Principal
from app.services.workflow.party_scope import scopes_of
from app.services.workflow.step_store import core

# Sniffed MIME type -> document kind. Anything else is refused, whatever its name claims.
ALLOWED = {
    "application/pdf": "pdf",
    "image/png": "image",
    "image/jpeg": "image",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "spreadsheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/zip": "archive",
}


# The papers of a deal, sniffed: a transfer voucher is a scan (PDF or an image); an application's document a scan or
# an office file. Never a text or an archive (a text file was taken as an invoice): `sniffed_as`.
SCANS = ("application/pdf", "image/png", "image/jpeg")
OFFICE_FILES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document")


# What an office file (a ZIP) must hold to be one: its bytes' signature reads only the first parts' names, so a ZIP
# of `[Content_Types].xml` and `xl/payload.exe` passed as a workbook; a name ending `.xlsx` does not make one either.
OFFICE_PARTS = {OFFICE_FILES[0]: ("xl/workbook.xml", ".xlsx"), OFFICE_FILES[1]: ("word/document.xml", ".docx")}
# A ZIP (an office file is one) may unpack to at most this many times the document limit, as its directory declares
# (read without unpacking anything): more is refused as a ZIP bomb.
UNPACKED_TIMES = 20


# The endings a kept file's name may have for the type its bytes are: a name claiming another (`report.html` of a
# PDF) is saved as that other type by whoever downloads it (`kept_name`).
ENDINGS = {"application/pdf": (".pdf",), "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg"),
           OFFICE_FILES[0]: (".xlsx",), OFFICE_FILES[1]: (".docx",), "application/zip": (".zip",),
           "text/plain": (".csv", ".txt")}
# Characters that change the direction the rest of a name is shown in (`合同<U+202E>gpj.exe` reads `合同exe.jpg`).
DIRECTION_MARKS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def kept_name(filename: str, content_type: str, default: str = "upload") -> str:
    """The name a file is kept and downloaded under: the last part of the path it came with, without control or
    direction characters, ending as its type does (`.pdf` added to a PDF called `report.html`), at most 255
    characters."""
    name = "".join(c for c in filename.replace("\\", "/").rsplit("/", 1)[-1]
                   if c not in DIRECTION_MARKS and unicodedata.category(c) != "Cc").strip()
    endings = ENDINGS.get(content_type, ())
    if endings and not name.lower().endswith(endings):
        name = (name or default)[:255 - len(endings[0])] + endings[0]
    return name[:255] or default


class DocumentTooLarge(TooLarge):
    """An upload over MAX_DOCUMENT_BYTES: the request is too large for what it asks (413)."""

    code = "document_too_large"


def sniff(content: bytes, filename: str) -> tuple[str, str]:
    """(content type, kind) judged from the bytes; DocumentTooLarge past the size limit, ValueError
    for any type not allowed."""
    limit = context.config("MAX_DOCUMENT_BYTES")
    if len(content) > limit:
        raise DocumentTooLarge(_l("the file %(name)s is %(size)s bytes, more than the limit of %(limit)s bytes "
                                  "(%(mib)s MiB) per document", name=repr(filename[:100]), size=f"{len(content):,}",
                                  limit=f"{limit:,}", mib=f"{limit / 2 ** 20:g}"))
    guess = filetype.guess(content)
    if guess is not None and guess.mime in ALLOWED:
        if guess.mime == "application/zip" or guess.mime in OFFICE_PARTS:
            _check_archive(content, filename, guess.mime, limit * UNPACKED_TIMES)
        return guess.mime, ALLOWED[guess.mime]
    if guess is None and filename.lower().endswith((".csv", ".txt")):
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(str(_l("text files must be UTF-8"))) from None
        return "text/plain", "text"
    if guess is None:
        raise ValueError(str(_l("unknown content is not an accepted document type (PDF, PNG, JPEG, XLSX, DOCX, ZIP, "
                                "CSV)")))
    raise ValueError(str(_l("the file %(name)s is of type %(kind)s, not an accepted document type (PDF, PNG, JPEG, "
                            "XLSX, DOCX, ZIP, CSV)", name=repr(filename[:100]), kind=guess.extension.upper())))


def _check_archive(content: bytes, filename: str, mime: str, most: int) -> None:
    """A ZIP whose directory declares more than `most` bytes unpacked is DocumentTooLarge (nothing is unpacked); one
    named or signed as an office file without that file's parts is ValueError, as a damaged ZIP is."""
    name = repr(filename[:100])
    try:
        entries = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise ValueError(str(_l("the file %(name)s is a damaged ZIP archive", name=name))) from None
    if sum(entry.file_size for entry in entries) > most:
        raise DocumentTooLarge(_l("the file %(name)s would unpack to more than %(mib)s MiB: refused as a possible "
                                  "ZIP bomb", name=name, mib=f"{most / 2 ** 20:g}"))
    claimed = next((office for office, (_part, ending) in OFFICE_PARTS.items()
                    if filename.lower().endswith(ending)), None)
    office = mime if mime in OFFICE_PARTS else claimed
    if office is None:
        return
    part, ending = OFFICE_PARTS[office]
    names = {entry.filename for entry in entries}
    if mime != office or not {"[Content_Types].xml", part} <= names:
        raise ValueError(str(_l("the file %(name)s is not a real %(kind)s file (a ZIP archive that only claims to "
                                "be one)", name=name, kind=ending[1:].upper())))


def sniffed_as(content: bytes, filename: str, types: tuple[str, ...]) -> str | None:
    """The content type judged from the bytes if it is one of `types`, else None; DocumentTooLarge past the size
    limit."""
    try:
        content_type, _kind = sniff(content, filename)
    except ValueError:
        return None
    return content_type if content_type in types else None


def store_document(instance_id: int, task_id: int | None, field: str | None, filename: str, content: bytes,
                   actor_id: int | None) -> int:
    """Keep an upload (in the caller's transaction) and return its id; DocumentTooLarge or
    ValueError when refused."""
    if not content:
        raise ValueError(str(_l("the file is empty")))
    content_type, kind = sniff(content, filename)
    safe_name = kept_name(filename, content_type)
    return int(core(insert(Document).returning(Document.id).values(
        instance_id=instance_id, task_id=task_id, field=field, kind=kind, filename=safe_name,
        content_type=content_type, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
        content=content, uploaded_by_id=actor_id, created_at=now())).scalar_one())


def _readable(principal: Principal, documents: list[Document]) -> list[Document]:
    """The documents this reader's party may read (`party_scope`): another party's task's uploads are not."""
    if principal.is_platform or not documents:
        return documents
    task_ids = {d.task_id for d in documents if d.task_id is not None}
    elements: dict[int, str] = {row.id: row.element_id for row in db.session.execute(
        select(HumanTask.id, HumanTask.element_id).where(HumanTask.id.in_(task_ids)))} if task_ids else {}
    scopes = scopes_of(principal, [d.instance_id for d in documents])
    return [d for d in documents
            if d.task_id is None or elements.get(d.task_id) not in scopes[d.instance_id].hidden_elements]


def get_document(principal: Principal, document_id: int) -> Document:
    """A document of an instance the user may see, uploaded by their side or shared; 404 otherwise."""
    document = db.session.scalar(select(Document).join(ProcessInstance, ProcessInstance.id == Document.instance_id)
                                 .where(Document.id == document_id, instance_visible(principal)))
    if document is None or not _readable(principal, [document]):
        raise NotFound(_l("document not found"))
    return document


def instance_documents(principal: Principal, instance_id: int) -> list[Document]:
    return _readable(principal, list(db.session.scalars(
        select(Document).join(ProcessInstance, ProcessInstance.id == Document.instance_id)
        .where(Document.instance_id == instance_id, instance_visible(principal)).order_by(Document.id))))
