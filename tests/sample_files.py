"""Small real files of each kind the office attaches, made in memory, and the impostors refused."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib


def pdf(text: str = "预算公开") -> bytes:
    body = f"BT /F1 12 Tf 72 720 Td ({text.encode('utf-8').hex()}) Tj ET".encode()
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
        + f"4 0 obj << /Length {len(body)} >> stream\n".encode()
        + body
        + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def _zip(entries: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data, zipfile.ZIP_STORED if isinstance(data, bytes) else zipfile.ZIP_DEFLATED)
    return out.getvalue()


CONTENT_TYPES = '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def docx() -> bytes:
    return _zip({"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": "<Relationships/>",
                 "word/document.xml": "<w:document/>"})  # fmt: skip


def docx_with_macros() -> bytes:
    return _zip({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": "<w:document/>",
                 "word/vbaProject.bin": "Attribute VB_Name"})  # fmt: skip


def xlsx(picture_bytes: int = 0) -> bytes:
    """A workbook; with ``picture_bytes`` it carries a picture of that many (random) bytes, stored as is."""
    entries: dict[str, str | bytes] = {
        "[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": "<Relationships/>", "xl/workbook.xml": "<workbook/>",
        "xl/worksheets/sheet1.xml": "<worksheet/>",
    }  # fmt: skip
    if picture_bytes:
        entries["xl/media/image1.png"] = os.urandom(picture_bytes)
    return _zip(entries)


def ofd() -> bytes:
    return _zip({"OFD.xml": '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0"/>',
                 "Doc_0/Document.xml": "<ofd:Document/>"})  # fmt: skip


def windows_exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 64


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120


def shell_script() -> bytes:
    return b"#!/bin/sh\nrm -rf /\n"


def text() -> bytes:
    return "这是一份普通的文本，不是 PDF。\n".encode()
