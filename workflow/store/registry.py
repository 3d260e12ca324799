"""Definition versions: the files in ``definitions/`` for new items, the database for pinned ones.

Editing a YAML file never changes an item in flight: each item pins the content
hash of the version it started on, and that version's source text is stored.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import cast

from sqlalchemy import Connection, Table, select

from workflow.core.definition import Catalog, Definition
from workflow.core.errors import GongkaiError, NotFound
from workflow.core.loader import (
    definition_files,
    definition_version,
    load_catalog,
    load_definition_file,
    load_definition_text,
    with_labels_from,
)
from workflow.core.office import Office, load_office
from workflow.store.models import DefinitionVersion
from workflow.store.sql import insert_if_absent

_versions = cast(Table, DefinitionVersion.__table__)


class DefinitionRegistry:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._pinned: dict[tuple[str, str], Definition] = {}
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._office: Office | None = None
        self._registered: set[tuple[str, str]] = set()
        self._files: tuple[int, list[Path]] | None = None
        self._current: dict[str, tuple[tuple[int, int], Definition]] = {}
        """Name -> (the file's (mtime_ns, size) when read, its definition): every page asks, few change."""

    def current(self, name: str) -> Definition:
        """The definition as its file says now (validated); raises NotFound or DefinitionError.

        The file is read again only when its modification time or size changed since it was last read."""
        for path in self._definition_files():
            if path.stem == name:
                try:
                    stat = path.stat()
                    stamp = (stat.st_mtime_ns, stat.st_size)
                    seen = self._current.get(name)
                    if seen is not None and seen[0] == stamp:
                        return seen[1]
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    return load_definition_file(path)  # reports the problem as FILE:LINE
                definition = self._pinned.get((name, definition_version(text)))
                if definition is None:  # else this exact text was validated before: no need to parse it again
                    definition = load_definition_text(text, str(path))
                    self._remember(definition)
                self._current[name] = (stamp, definition)
                return definition
        raise NotFound("notfound.definition", name=name, available=", ".join(self.names()) or "-")

    def names(self) -> list[str]:
        return [path.stem for path in self._definition_files()]

    def _definition_files(self) -> list[Path]:
        """The folder's definition files, listed again only when the folder changed (a file added, removed,
        or renamed into place)."""
        try:
            stamp = self.directory.stat().st_mtime_ns
        except OSError:
            return definition_files(self.directory)
        if self._files is None or self._files[0] != stamp:
            self._files = (stamp, definition_files(self.directory))
        return self._files[1]

    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = load_catalog(self.directory)
        return self._catalog

    def office(self) -> Office:
        """The office settings (office.yaml), read once: the organ, the index-number pattern, the site."""
        if self._office is None:
            self._office = load_office(self.directory, self.catalog())
        return self._office

    def pinned(self, conn: Connection, name: str, version: str) -> Definition:
        """The exact version an item started on, from memory or from its stored source."""
        definition = self._pinned.get((name, version))
        if definition is not None:
            return definition
        row = conn.execute(
            select(_versions.c.source_text, _versions.c.source_path).where(
                _versions.c.name == name, _versions.c.version == version
            )
        ).one_or_none()
        if row is None:
            raise NotFound("notfound.definition_version", name=name, version=version[:12])
        definition = load_definition_text(row.source_text, row.source_path, stored=True)
        if _lacks_labels(definition):
            definition = self._labelled(definition)
        self._remember(definition)
        return definition

    def _labelled(self, old: Definition) -> Definition:
        """An old stored version takes its trigger and choice labels from the file's version, when it loads."""
        try:
            return with_labels_from(old, self.current(old.name))
        except GongkaiError:
            return old  # no such file any more, or it does not load: names stand in for labels

    def stored(self, conn: Connection) -> list[Definition]:
        """Every version items may be pinned to (each parsed once, then remembered)."""
        return [
            self.pinned(conn, name, version)
            for name, version in conn.execute(select(_versions.c.name, _versions.c.version))
        ]

    def register(self, conn: Connection, definition: Definition, now: dt.datetime) -> bool:
        """Store this version's source if it is new; True when it was."""
        key = (definition.name, definition.version)
        if key in self._registered:
            return False
        values = {
            "name": definition.name,
            "version": definition.version,
            "source_path": definition.source_path,
            "source_text": definition.source_text,
            "loaded_at": now,
        }
        return insert_if_absent(conn, _versions, values, ["name", "version"])

    def mark_registered(self, definition: Definition) -> None:
        """Call after the registering transaction committed: no need to insert it again."""
        self._registered.add((definition.name, definition.version))

    def _remember(self, definition: Definition) -> None:
        with self._lock:
            self._pinned.setdefault((definition.name, definition.version), definition)


def _lacks_labels(definition: Definition) -> bool:
    return not definition.trigger_labels or any(
        spec.choices and not spec.choice_labels for spec in definition.fields.values()
    )
