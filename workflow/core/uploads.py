"""May this file be attached? The pure check of an upload's name, size and content.

One rule, one home: the engine asks it for every file, whichever shell the file came from
(the command line, a web form). Given the name as the person gave it, its size and its
content (a seekable binary stream the caller opened), :func:`check_upload` returns the
normalised name and media type, or refuses with a keyed message saying what was wrong:

- the name: empty, a folder in it (``/`` or ``\\``), control or invisible formatting characters
  (a right-to-left override can make ``evil\\u202efdp.exe`` look like ``evilexe.pdf``), too long;
- empty, or larger than the limit;
- a program, whatever its name (:data:`EXECUTABLE_SIGNATURES`, and Office macros);
- an extension the office does not accept;
- content that is not what its extension says: the magic bytes are read by ``filetype``, and the
  ZIP-based formats are opened to find their own entries (DOCX ``word/``, XLSX ``xl/``, PPTX
  ``ppt/``, OFD ``OFD.xml``), since a DOCX, an XLSX and an OFD all begin as a ZIP.

No database, no file system: the caller hands the bytes in.
"""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

import filetype

from workflow.core.errors import InvalidInput

HEAD_BYTES = 8192
"""How much of the start of a file the magic-bytes checks read."""
MAX_NAME_LENGTH = 200
MB = 1024 * 1024


@dataclass(frozen=True)
class FileKind:
    """What gongkai knows of one extension: its media type, what ``filetype`` may call its content,
    and for a ZIP-based format the entry (a name, or a folder ending in ``/``) that it must contain."""

    media_type: str
    detected: frozenset[str]
    zip_entry: str | None = None


OOXML = frozenset({"zip", "docx", "xlsx", "pptx"})
"""``filetype`` names an Office Open XML file by its first entries, or calls it a plain ZIP."""

KNOWN_TYPES: dict[str, FileKind] = {
    "pdf": FileKind("application/pdf", frozenset({"pdf"})),
    "docx": FileKind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", OOXML, "word/"),
    "xlsx": FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", OOXML, "xl/"),
    "pptx": FileKind("application/vnd.openxmlformats-officedocument.presentationml.presentation", OOXML, "ppt/"),
    "ofd": FileKind("application/ofd", frozenset({"zip"}), "OFD.xml"),
    "jpg": FileKind("image/jpeg", frozenset({"jpg"})),
    "jpeg": FileKind("image/jpeg", frozenset({"jpg"})),
    "png": FileKind("image/png", frozenset({"png", "apng"})),
    "gif": FileKind("image/gif", frozenset({"gif"})),
    "tif": FileKind("image/tiff", frozenset({"tif"})),
    "tiff": FileKind("image/tiff", frozenset({"tif"})),
}
"""Every extension whose content gongkai can check; ``GONGKAI_FILE_TYPES`` chooses among them."""

DEFAULT_TYPES = ("pdf", "docx", "xlsx", "jpg", "jpeg", "png", "ofd")
DEFAULT_MAX_MB = 20

EXECUTABLE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "Windows PE/DOS"),
    (b"\x7fELF", "ELF"),
    (b"\xfe\xed\xfa\xce", "Mach-O"),
    (b"\xfe\xed\xfa\xcf", "Mach-O"),
    (b"\xce\xfa\xed\xfe", "Mach-O"),
    (b"\xcf\xfa\xed\xfe", "Mach-O"),
    (b"\xca\xfe\xba\xbe", "Mach-O universal / Java class"),
    (b"#!", "script"),
    (b"\x00asm", "WebAssembly"),
    (b"dex\n", "Android DEX"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", "Windows shortcut"),
)
"""The first bytes of programs: refused whatever the file is called."""

MACRO_ENTRY = "vbaproject.bin"
"""An Office file carrying macros (a ``.docm`` renamed ``.docx``) holds this entry: a program too."""


@dataclass(frozen=True)
class UploadPolicy:
    """The office's choice: which extensions (:data:`KNOWN_TYPES` keys) and how large."""

    types: tuple[str, ...] = DEFAULT_TYPES
    max_bytes: int = DEFAULT_MAX_MB * MB

    @property
    def max_mb(self) -> int:
        return self.max_bytes // MB

    def allowed(self) -> str:
        return ", ".join(self.types)


@dataclass(frozen=True)
class CheckedUpload:
    """A file that may be attached: its normalised name, media type and size."""

    name: str
    media_type: str
    size: int


def check_upload(policy: UploadPolicy, name: str, size: int, content: BinaryIO) -> CheckedUpload:
    """The file as it will be attached, or an :class:`InvalidInput` naming what was wrong.

    ``content`` must be seekable; it is read from the start and left at its start.
    """
    clean = normalise_name(name)
    if size <= 0:
        raise InvalidInput("upload.empty", name=clean)
    if size > policy.max_bytes:
        raise InvalidInput("upload.too_large", name=clean, size=human_size(size), limit=policy.max_mb)
    content.seek(0)
    head = content.read(HEAD_BYTES)
    content.seek(0)
    program = executable_kind(head)
    if program is not None:
        raise InvalidInput("upload.executable", name=clean, kind=program)
    extension = clean.rpartition(".")[2].lower() if "." in clean else ""
    if extension not in policy.types:
        raise InvalidInput("upload.type_not_allowed", name=clean, extension=extension or "-", allowed=policy.allowed())
    kind = KNOWN_TYPES[extension]
    found = filetype.guess(head)
    found_name = found.extension if found is not None else None
    if found_name not in kind.detected:
        raise _mismatch(clean, extension, found_name)
    if kind.zip_entry is not None:
        entries = _zip_entries(content)
        if entries is None:
            raise _mismatch(clean, extension, found_name)
        if any(entry.lower().rpartition("/")[2] == MACRO_ENTRY for entry in entries):
            raise InvalidInput("upload.macros", name=clean)
        if not _has_entry(entries, kind.zip_entry):
            raise _mismatch(clean, extension, _ooxml_kind(entries) or found_name)
    return CheckedUpload(clean, kind.media_type, size)


def normalise_name(name: str) -> str:
    """The name as shown and stored: NFC, trimmed; refused with folders or hidden characters in it."""
    clean = unicodedata.normalize("NFC", name).strip()
    shown = clean[:80] or "-"
    if "/" in clean or "\\" in clean:
        raise InvalidInput("upload.name_folder", name=_printable(shown))
    if not clean or clean.startswith("."):
        raise InvalidInput("upload.bad_name", name=shown)
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in clean):
        raise InvalidInput("upload.name_control", name=_printable(shown))
    if len(clean) > MAX_NAME_LENGTH:
        raise InvalidInput("upload.name_too_long", name=shown, limit=MAX_NAME_LENGTH)
    return clean


def executable_kind(head: bytes) -> str | None:
    """What kind of program these first bytes begin, or None."""
    for signature, kind in EXECUTABLE_SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


def human_size(size: int) -> str:
    """``1.2 MB``, ``340 KB``, ``12 bytes``: as a reader estimates a file (1 KB = 1024 bytes)."""
    if size >= MB:
        return f"{size / MB:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def _mismatch(name: str, extension: str, found: str | None) -> InvalidInput:
    if found is None:
        return InvalidInput("upload.mismatch_unknown", name=name, extension=extension.upper())
    return InvalidInput("upload.mismatch", name=name, extension=extension.upper(), found=found.upper())


def _zip_entries(content: BinaryIO) -> list[str] | None:
    try:
        with zipfile.ZipFile(content) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        content.seek(0)


def _has_entry(entries: list[str], wanted: str) -> bool:
    if wanted.endswith("/"):
        return any(entry.startswith(wanted) and entry != wanted for entry in entries)
    return wanted in entries


def _ooxml_kind(entries: list[str]) -> str | None:
    """What a ZIP really is, to say so: ``docx`` for ``word/``, and so on."""
    for extension in ("docx", "xlsx", "pptx", "ofd"):
        entry = KNOWN_TYPES[extension].zip_entry
        if entry is not None and _has_entry(entries, entry):
            return extension
    return None


def _printable(text: str) -> str:
    """The name with its hidden characters made visible (``\\u202e``), so the message shows what was wrong."""
    return "".join(
        char if unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp") else f"\\u{ord(char):04x}" for char in text
    )
