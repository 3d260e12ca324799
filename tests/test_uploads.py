"""The pure check of an upload (workflow/core/uploads.py): name, size, programs, and content against extension."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from tests import sample_files as files
from workflow.core.errors import ConfigurationError, InvalidInput
from workflow.core.uploads import MB, UploadPolicy, check_upload, human_size
from workflow.settings import Settings

POLICY = UploadPolicy()


def check(name: str, content: bytes, policy: UploadPolicy = POLICY) -> tuple[str, str]:
    checked = check_upload(policy, name, len(content), io.BytesIO(content))
    return checked.name, checked.media_type


def refusal(name: str, content: bytes, policy: UploadPolicy = POLICY) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as refused:
        check(name, content, policy)
    return refused.value.key, refused.value.render("en")


@pytest.mark.parametrize(
    ("name", "make", "media_type"),
    [
        ("预算表.pdf", files.pdf, "application/pdf"),
        ("现场照片.PNG", files.png, "image/png"),
        ("扫描件.jpg", files.jpeg, "image/jpeg"),
        ("扫描件.jpeg", files.jpeg, "image/jpeg"),
        ("通知.docx", files.docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("预算.xlsx", files.xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("公文.ofd", files.ofd, "application/ofd"),
    ],
)
def test_each_accepted_kind_passes_with_its_media_type(name: str, make: Callable[[], bytes], media_type: str) -> None:
    assert check(f"  {name} ", make()) == (name, media_type)


def test_programs_are_refused_whatever_their_name() -> None:
    assert refusal("年度报告.pdf", files.windows_exe()) == (
        "upload.executable",
        "年度报告.pdf is a program (Windows PE/DOS), not a document: programs are never attached, whatever their name",
    )
    assert refusal("photo.png", files.elf())[0] == "upload.executable"
    assert "ELF" in refusal("photo.png", files.elf())[1]
    assert refusal("notice.pdf", files.shell_script())[0] == "upload.executable"
    assert refusal("setup.exe", files.windows_exe())[0] == "upload.executable"
    assert refusal("通知.docx", files.docx_with_macros())[0] == "upload.macros"


def test_content_that_is_not_what_its_extension_says_is_refused() -> None:
    assert refusal("说明.pdf", files.text()) == (
        "upload.mismatch_unknown",
        "说明.pdf is not a real PDF file: its content is not that format",
    )
    assert refusal("预算.xlsx", files.docx()) == (
        "upload.mismatch",
        "预算.xlsx is not a real XLSX file: its content is DOCX",
    )
    assert refusal("通知.docx", files.xlsx())[1].endswith("its content is XLSX")
    assert refusal("公文.ofd", files.docx())[1].endswith("its content is DOCX")
    assert refusal("图.png", files.jpeg())[1] == "图.png is not a real PNG file: its content is JPG"
    assert refusal("通知.docx", files.pdf())[0] == "upload.mismatch"
    broken_zip = files.docx()[:200]
    assert refusal("通知.docx", broken_zip)[0] == "upload.mismatch"


def test_extensions_not_chosen_by_the_office_are_refused_naming_the_allowed_ones() -> None:
    assert refusal("说明.txt", files.text()) == (
        "upload.type_not_allowed",
        "说明.txt: files of type 'txt' are not accepted (allowed: pdf, docx, xlsx, jpg, jpeg, png, ofd)",
    )
    assert refusal("README", files.text())[0] == "upload.type_not_allowed"
    only_pdf = UploadPolicy(types=("pdf",))
    assert refusal("图.png", files.png(), only_pdf)[1].endswith("(allowed: pdf)")


def test_empty_and_too_large_files_are_refused_saying_the_size_and_the_limit() -> None:
    assert refusal("空.pdf", b"") == ("upload.empty", "空.pdf is empty: nothing to attach")
    big = files.pdf() + b"0" * (21 * MB)
    assert refusal("大.pdf", big) == ("upload.too_large", "大.pdf is too large: 21.0 MB, the limit is 20 MB")
    assert check("刚好.pdf", files.pdf() + b"0" * (20 * MB - len(files.pdf())))[0] == "刚好.pdf"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("../../etc/passwd.pdf", "upload.name_folder"),
        ("C:\\fakepath\\预算.pdf", "upload.name_folder"),
        ("evil\u202efdp.exe", "upload.name_control"),
        ("line\nbreak.pdf", "upload.name_control"),
        ("nul\x00.pdf", "upload.name_control"),
        ("", "upload.bad_name"),
        ("   ", "upload.bad_name"),
        (".pdf", "upload.bad_name"),
        ("长" * 201 + ".pdf", "upload.name_too_long"),
    ],
)
def test_names_with_folders_or_hidden_characters_are_refused(name: str, key: str) -> None:
    assert refusal(name, files.pdf())[0] == key


def test_a_hidden_character_is_shown_in_the_message() -> None:
    assert "evil\\u202efdp.exe" in refusal("evil\u202efdp.exe", files.pdf())[1]


def test_sizes_read_as_people_estimate_them() -> None:
    assert human_size(12) == "12 B"
    assert human_size(340 * 1024) == "340 KB"
    assert human_size(1_250_000) == "1.2 MB"


def test_the_settings_choose_the_types_the_limit_and_the_folder() -> None:
    default = Settings.from_env({"GONGKAI_DATABASE_URL": "sqlite:///demo-office/gongkai.db"})
    assert default.file_types == ("pdf", "docx", "xlsx", "jpg", "jpeg", "png", "ofd")
    assert default.upload_policy().max_bytes == 20 * MB
    assert str(default.files_folder) == "demo-office/files"
    assert str(Settings.from_env({"GONGKAI_DATABASE_URL": "postgresql://db/x"}).files_folder) == "files"
    assert (
        str(Settings.from_env({"GONGKAI_DATABASE_URL": "sqlite:////srv/gk/office.db"}).files_folder) == "/srv/gk/files"
    )
    chosen = Settings.from_env({"GONGKAI_FILES_DIR": "/data/files", "GONGKAI_FILE_TYPES": " PDF, .png ,pdf",
                                "GONGKAI_FILE_MAX_MB": "5"})  # fmt: skip
    assert (str(chosen.files_folder), chosen.file_types, chosen.file_max_mb) == ("/data/files", ("pdf", "png"), 5)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GONGKAI_FILE_TYPES": "pdf,exe"},
         "GONGKAI_FILE_TYPES: 'exe' is not a file type gongkai can check (known: pdf, docx, xlsx, pptx, ofd, jpg, "
         "jpeg, png, gif, tif, tiff)"),
        ({"GONGKAI_FILE_TYPES": " , "}, "GONGKAI_FILE_TYPES is empty: name at least one file type (e.g. pdf)"),
        ({"GONGKAI_FILE_MAX_MB": "0"},
         "GONGKAI_FILE_MAX_MB must be a whole number of megabytes from 1 to 2048, not '0'"),
        ({"GONGKAI_FILE_MAX_MB": "1.5"},
         "GONGKAI_FILE_MAX_MB must be a whole number of megabytes from 1 to 2048, not '1.5'"),
    ],
)  # fmt: skip
def test_bad_file_settings_are_a_clear_configuration_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(env)
    assert refused.value.render("en") == message
