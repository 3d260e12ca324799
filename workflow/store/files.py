"""The file store: the bytes of attachments, addressed by their SHA-256.

:class:`FileStore` is the role; :class:`FolderFileStore` keeps the files in a folder
(``GONGKAI_FILES_DIR``). The database knows each stored file in ``stored_files`` (hash, size,
media type, who stored it first); an item's revision names its files by hash in
``meta["attachments"]``. Content-addressed, the same content is kept once however often it is
attached, and a file is never rewritten in place: what a reviewer cleared stays what is served,
and ``gongkai files verify`` (and the worker, daily) rehashes each file to prove it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from workflow.core.errors import ConfigurationError, NotFound

CHUNK = 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredBlob:
    """What the store holds for one content: its hash and size."""

    sha256: str
    size: int


class FileStore(ABC):
    """Where the bytes of attachments live, addressed by their SHA-256 (lower-case hex).

    Implementations must make :meth:`put` atomic (a reader never sees half a file, a crash leaves
    no file under its hash) and idempotent (the same content stored twice is kept once).
    """

    @abstractmethod
    def put(self, content: BinaryIO) -> StoredBlob:
        """Store ``content`` (read from its current position to its end); its hash and size."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """The stored content to read (the caller closes it); :class:`NotFound` when absent."""

    @abstractmethod
    def exists(self, sha256: str) -> bool:
        """Whether content with this hash is stored."""

    @abstractmethod
    def iter(self) -> Iterator[str]:
        """The hash of every stored content, in no particular order."""

    def rehash(self, sha256: str) -> str | None:
        """The SHA-256 of what is stored under ``sha256`` now (different if the file was altered),
        or None when it is missing."""
        try:
            stream = self.open(sha256)
        except NotFound:
            return None
        with stream:
            digest = hashlib.sha256()
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()


class FolderFileStore(FileStore):
    """Files under ``root`` as ``ab/cd/<sha256>``: written to a temporary file in ``root``, then
    renamed into place (atomic on one file system), and made read-only."""

    def __init__(self, root: Path) -> None:
        if root.exists() and not root.is_dir():
            raise ConfigurationError("config.files_dir_not_folder", path=str(root))
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise NotFound("upload.missing_content", sha256=sha256[:80])
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, content: BinaryIO) -> StoredBlob:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        handle, temporary = tempfile.mkstemp(prefix=".upload-", dir=self.root)
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := content.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            final = self.path_for(sha256)
            if final.exists():
                os.unlink(temporary)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(temporary, 0o444)
                os.replace(temporary, final)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        return StoredBlob(sha256, size)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path_for(sha256).open("rb")
        except FileNotFoundError:
            raise NotFound("upload.missing_content", sha256=sha256) from None

    def exists(self, sha256: str) -> bool:
        try:
            return self.path_for(sha256).is_file()
        except NotFound:
            return False

    def iter(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            if SHA256.match(path.name) and path.parent.parent.name == path.name[:2]:
                yield path.name
