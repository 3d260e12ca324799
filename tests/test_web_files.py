"""Attachments on the web pages, on SQLite and PostgreSQL: listed on the item page, uploaded by who may
edit (refusals shown beside the file input, nothing saved), downloaded by who may read the body."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from tests import sample_files as files
from tests.conftest import FrozenClock
from tests.web_support import Web, make_web
from workflow.core.attachments import Upload
from workflow.core.uploads import MB
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.web.files import content_disposition


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def post_files(web: Web, ref: str, *named: tuple[str, bytes], csrf: str | None = None) -> object:
    page = f"/items/{ref}"
    token = csrf or web.csrf(page)
    version = re.search(r'name="version" value="(\d+)"', web.client.get(page).text)
    data = {"csrf": token, "version": version.group(1) if version else ""}
    return web.client.post(
        f"/items/{ref}/attach", data=data, files=[("files", (name, content)) for name, content in named]
    )


def test_upload_list_and_download_with_the_chinese_name(web: Web, make_item: Callable[..., int]) -> None:
    item_id = make_item()
    ref = web.engine.show(item_id).reference
    web.sign_in("drafter_a")
    page = web.client.get(f"/items/{ref}").text
    assert 'enctype="multipart/form-data"' in page and 'id="attach_files"' in page
    assert 'aria-describedby="attach_files_help"' in page and 'accept=".pdf,.docx,.xlsx,.jpg,.jpeg,.png,.ofd"' in page
    budget = files.xlsx(picture_bytes=1_300_000)
    sent = post_files(web, ref, ("2026年预算表.xlsx", budget), ("扫描件.pdf", files.pdf()))
    assert sent.status_code == 303 and sent.headers["location"] == f"/items/{ref}#attachments-h"  # type: ignore[attr-defined]
    view = web.engine.show(item_id)
    sha = hashlib.sha256(budget).hexdigest()
    assert [a["sha256"] for a in view.meta["attachments"]] == [sha, hashlib.sha256(files.pdf()).hexdigest()]

    page = web.client.get(f"/items/{ref}").text
    assert "2026年预算表.xlsx" in page and "1.2 MB" in page
    assert f"<code>{sha[:12]}…</code>" in page and f'<code class="hash">{sha}</code>' in page
    assert f'href="/items/{ref}/files/{sha}"' in page

    got = web.client.get(f"/items/{ref}/files/{sha}")
    assert got.status_code == 200 and got.content == budget
    assert got.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"2026____.xlsx\"; filename*=UTF-8''" + quote("2026年预算表.xlsx", safe="")
    )
    assert got.headers["content-length"] == str(len(budget))

    web.engine.fire(item_id, "submit", "drafter_a")
    web.sign_in("reviewer_a")
    assert web.client.get(f"/items/{ref}/files/{sha}").content == budget  # the reviewer reads the body
    other = hashlib.sha256(b"x").hexdigest()
    assert web.client.get(f"/items/{ref}/files/{other}").status_code == 404
    assert web.client.get(f"/items/{ref}/files/..%2F..%2Fgongkai.db").status_code == 404


def test_downloads_are_refused_to_whoever_may_not_read_the_body(web: Web, make_item: Callable[..., int]) -> None:
    item_id = make_item("disclosure_request", uploads=[Upload("来信扫描件.pdf", io.BytesIO(files.pdf()))])
    ref = web.engine.show(item_id).reference
    sha = web.engine.show(item_id).meta["attachments"][0]["sha256"]
    web.sign_in("auditor_a")  # sees every item, but not a body before publication
    page = web.client.get(f"/items/{ref}")
    assert page.status_code == 200 and sha not in page.text
    refused = web.client.get(f"/items/{ref}/files/{sha}")
    assert refused.status_code == 403 and b"%PDF" not in refused.content
    assert "file_forbidden" in web.security_events()
    web.sign_in("office_a")
    assert web.client.get(f"/items/{ref}/files/{sha}").status_code == 200
    web.sign_out()
    assert web.client.get(f"/items/{ref}/files/{sha}").headers["location"].startswith("/signin")


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("大文件.pdf", files.pdf() + b"0" * (21 * MB), "大文件.pdf is too large: 21.0 MB, the limit is 20 MB"),
        ("年度报告.pdf", files.windows_exe(), "年度报告.pdf is a program (Windows PE/DOS)"),
        ("照片.png", files.elf(), "照片.png is a program (ELF)"),
        ("说明.pdf", files.text(), "说明.pdf is not a real PDF file"),
        ("预算.xlsx", files.docx(), "预算.xlsx is not a real XLSX file: its content is DOCX"),
    ],
)
def test_a_refused_upload_is_shown_beside_the_file_input_and_saves_nothing(
    web: Web, make_item: Callable[..., int], name: str, content: bytes, says: str
) -> None:
    item_id = make_item()
    ref = web.engine.show(item_id).reference
    web.client.cookies.set("gk_lang", "en")
    web.sign_in("drafter_a")
    before, audit = web.engine.show(item_id), web.audit_count()
    answer = post_files(web, ref, ("好的.pdf", files.pdf()), (name, content))
    assert answer.status_code == 422  # type: ignore[attr-defined]
    html = answer.text  # type: ignore[attr-defined]
    assert says in html.replace("&#39;", "'")
    assert re.search(r'<p id="attach_files_error" class="error" role="alert">[^<]*' + re.escape(name), html)
    assert 'aria-describedby="attach_files_help attach_files_error"' in html and 'aria-invalid="true"' in html
    after = web.engine.show(item_id)
    assert (after.version, after.meta) == (before.version, before.meta) and web.audit_count() == audit
    assert list(web.engine.files.iter()) == []  # type: ignore[union-attr]


def test_a_request_larger_than_its_files_may_be_is_cut_off(web: Web, make_item: Callable[..., int]) -> None:
    item_id = make_item()
    ref = web.engine.show(item_id).reference
    web.client.cookies.set("gk_lang", "en")
    web.sign_in("drafter_a")
    audit = web.audit_count()
    huge = files.pdf() + b"0" * (102 * MB)
    answer = post_files(web, ref, ("巨大.pdf", huge))
    assert answer.status_code == 413  # type: ignore[attr-defined]
    assert "at most 5 files of 20 MB each. Nothing was saved." in answer.text  # type: ignore[attr-defined]
    assert web.audit_count() == audit


def test_only_who_may_edit_sees_the_forms_and_removing_is_an_edit(web: Web, make_item: Callable[..., int]) -> None:
    item_id = make_item()
    ref = web.engine.show(item_id).reference
    web.engine.attach(item_id, "drafter_a", [Upload("照片.png", io.BytesIO(files.png()))])
    sha = web.engine.show(item_id).meta["attachments"][0]["sha256"]
    web.sign_in("drafter_b")  # a drafter, not this item's
    assert web.client.get(f"/items/{ref}").status_code == 404
    web.sign_in("drafter_a")
    page = web.client.get(f"/items/{ref}").text
    assert f'action="/items/{ref}/detach"' in page and '<span class="visually-hidden"> 照片.png</span>' in page
    csrf = web.csrf(f"/items/{ref}")
    version = str(web.engine.show(item_id).version)
    stale = web.client.post(f"/items/{ref}/detach", data={"csrf": csrf, "version": "1", "sha256": sha})
    assert stale.status_code == 409 and web.engine.show(item_id).meta["attachments"]
    gone = web.client.post(f"/items/{ref}/detach", data={"csrf": csrf, "version": version, "sha256": sha})
    assert gone.status_code == 303 and "attachments" not in web.engine.show(item_id).meta
    assert web.client.get(f"/items/{ref}/detach").headers["location"] == f"/items/{ref}"
    forged = web.client.post(f"/items/{ref}/detach", data={"csrf": "0" * 40, "sha256": sha})
    assert forged.status_code == 403

    web.engine.attach(item_id, "drafter_a", [Upload("照片.png", io.BytesIO(files.png()))])
    web.engine.fire(item_id, "submit", "drafter_a")
    page = web.client.get(f"/items/{ref}").text
    assert "照片.png" in page and 'id="attach_files"' not in page and "/detach" not in page
    web.sign_in("reviewer_a")
    page = web.client.get(f"/items/{ref}").text
    assert "照片.png" in page and 'id="attach_files"' not in page
    audit = web.audit_count()
    refused = post_files(web, ref, ("a.pdf", files.pdf()), csrf=web.csrf(f"/items/{ref}"))
    assert refused.status_code == 422 and web.audit_count() == audit  # type: ignore[attr-defined]


def test_the_ascii_fallback_name_never_breaks_the_header() -> None:
    assert (
        content_disposition('a"b;c\\.pdf') == "attachment; filename=\"a_b_c_.pdf\"; filename*=UTF-8''a%22b%3Bc%5C.pdf"
    )
    assert content_disposition("预算.pdf").startswith('attachment; filename="attachment.pdf"; ')
