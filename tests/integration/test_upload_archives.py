"""A ZIP is judged by what it holds, not by its first bytes or its name: an XLSX or a DOCX must have the parts one
has, and an archive that declares more than it may unpack to is refused before anything is unpacked."""
from __future__ import annotations

import base64
import io
import struct
from zipfile import ZipFile

from sqlalchemy import func, select

from app.extensions import db
from app.models import Document
from tests.integration.test_identity import API, voucher_task


def zipped(*names: str) -> bytes:
    out = io.BytesIO()
    with ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return out.getvalue()


XLSX = zipped("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml")
DOCX = zipped("[Content_Types].xml", "_rels/.rels", "word/document.xml")
# Its first parts are an office file's, so the bytes' signature says XLSX; there is no workbook inside.
FAKE_XLSX = zipped("[Content_Types].xml", "_rels/.rels", "xl/payload.exe")
FAKE_DOCX = zipped("[Content_Types].xml", "word/payload.bat")
PLAIN = zipped("a.txt")  # a ZIP archive named .xlsx


def bomb() -> bytes:
    """A small ZIP whose one entry declares 3 GiB unpacked (its header and directory say so; its bytes are few)."""
    content = bytearray(zipped("[Content_Types].xml", "xl/workbook.xml"))
    huge = struct.pack("<I", 3 * 2 ** 30)
    directory = content.rfind(b"PK\x01\x02")  # the last entry's line in the central directory
    content[directory + 24:directory + 28] = huge
    local = content.rfind(b"PK\x03\x04")
    content[local + 22:local + 26] = huge
    return bytes(content)


REFUSED = ((FAKE_XLSX, "statements.xlsx"), (FAKE_DOCX, "licence.docx"), (PLAIN, "statements.xlsx"))


def count_documents(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Document))
        db.session.remove()
    return int(n or 0)


def test_a_zip_that_only_claims_to_be_an_office_file_is_refused_on_the_task_page(client, app, auth, tmp_path):
    inst, task_id, csrf = voucher_task(client, app, auth, tmp_path)
    for content, name in REFUSED:
        for language, said in (("en", f"is not a real {name[-4:].upper()} file"),
                               ("zh-CN", f"不是真正的 {name[-4:].upper()} 文件")):
            r = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "voucher": (io.BytesIO(content), name)},
                            content_type="multipart/form-data", headers={"Accept-Language": language})
            assert r.status_code == 422 and said in r.text, (name, language)
    for language, said in (("en", "would unpack to more than"), ("zh-CN", "解压后超过")):
        r = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "voucher": (io.BytesIO(bomb()), "b.xlsx")},
                        content_type="multipart/form-data", headers={"Accept-Language": language})
        assert r.status_code in (413, 422) and said in r.text, language
    assert count_documents(app) == 0
    good = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "voucher": (io.BytesIO(XLSX), "s.xlsx")},
                       content_type="multipart/form-data")
    assert good.status_code == 302
    docs = client.get(f"{API}/process-instances/{inst['id']}/documents", headers=auth).json
    assert [d["kind"] for d in docs] == ["spreadsheet"]


def test_a_zip_that_only_claims_to_be_an_office_file_is_refused_over_the_api(client, app, auth, tmp_path):
    _inst, task_id, _csrf = voucher_task(client, app, auth, tmp_path)

    def complete(content: bytes, name: str, language: str = "en"):
        url = f"data:application/octet-stream;name={name};base64,{base64.b64encode(content).decode()}"
        return client.post(f"{API}/tasks/{task_id}/complete", json={"data": {"voucher": url}},
                           headers={**auth, "Accept-Language": language})

    for content, name in REFUSED:
        kind = name[-4:].upper()
        r = complete(content, name)
        assert r.status_code == 422 and f"is not a real {kind} file" in r.json["error"]["fields"]["voucher"][0]
        zh = complete(content, name, "zh-CN")
        assert zh.status_code == 422 and f"不是真正的 {kind} 文件" in zh.json["error"]["fields"]["voucher"][0]
    big = complete(bomb(), "b.xlsx", "zh-CN")
    assert big.status_code == 413 and "解压后超过" in big.json["error"]["message"], big.json
    assert count_documents(app) == 0
    assert complete(DOCX, "licence.docx").status_code == 200
    assert count_documents(app) == 1
