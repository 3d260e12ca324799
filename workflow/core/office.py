"""The office's own settings (definitions/office.yaml): who publishes, how index numbers read, the site.

Loaded in layers like the definitions: :mod:`workflow.core.yamlsource` reads the file with its
lines, :func:`load_office_text` checks every part (``FILE:LINE: message``), and the result is a
frozen :class:`Office`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from workflow.core.definition import Catalog, Label
from workflow.core.errors import DefinitionError
from workflow.core.validation import Problem
from workflow.core.yamlsource import SourceMap, YamlSyntaxError, read_yaml

OFFICE_FILE = "office.yaml"
DEFAULT_INDEX_PATTERN = "{org}-{catalog}/{year}-{serial:05d}"
INDEX_PLACEHOLDERS = ("org", "catalog", "year", "serial")
CHANNELS = ("portal", "notice_board", "broadcast", "webhook")
"""The publication channels an office may declare, in the order they are performed."""

PUBLISHED_STATE = "published"
"""The state in which an item is public: the move into it gives the item its index number."""
NO_CATALOG = "00"
"""The ``{catalog}`` of an item published without a catalogue category."""

_KEYS = {"organ", "index_number", "site", "villages", "channels"}


@dataclass(frozen=True)
class Office:
    """The publishing organ (发布机构) and how its publications are numbered and spread."""

    organ: Label
    code: str
    """The organisation code (组织机构代码), the ``{org}`` of the index number."""
    index_pattern: str
    site_title: Label
    base_url: str
    villages: tuple[str, ...]
    channels: MappingProxyType[str, tuple[str, ...]]
    """The default channels of each catalogue sub-directory, by category code."""
    default_channels: tuple[str, ...]

    def index_number(self, catalog: str, year: int, serial: int) -> str:
        """The 索引号 of the ``serial``-th publication of ``year`` in sub-directory ``catalog``."""
        return self.index_pattern.format(org=self.code, catalog=catalog, year=year, serial=serial)

    def channels_of(self, catalog: str | None) -> tuple[str, ...]:
        return self.channels.get(catalog or "", self.default_channels)


def publishes(from_state: str, to_state: str) -> bool:
    """True for a move that publishes an item (and so gives it, or renews, its index number)."""
    return to_state == PUBLISHED_STATE and from_state != PUBLISHED_STATE


class _Check:
    def __init__(self, source_map: SourceMap) -> None:
        self.source_map = source_map
        self.problems: list[Problem] = []

    def add(self, path: tuple[str | int, ...], key: str, /, **params: Any) -> None:
        self.problems.append(Problem(self.source_map.file, self.source_map.line(path), key, params))


def _label(value: Any) -> Label | None:
    if (
        isinstance(value, dict)
        and set(value) == {"zh", "en"}
        and all(isinstance(v, str) and v.strip() for v in value.values())
    ):
        return Label(zh=value["zh"], en=value["en"])
    return None


def check_index_pattern(pattern: Any) -> tuple[str, dict[str, Any]] | None:
    """None when ``pattern`` is a usable index-number pattern, else a message key and its parameters."""
    if not isinstance(pattern, str) or not pattern.strip():
        return "office.bad_pattern", {"detail": "text"}
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as error:
        return "office.bad_pattern", {"detail": str(error)}
    names: list[str] = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in INDEX_PLACEHOLDERS or conversion is not None or "{" in (spec or ""):
            return "office.unknown_placeholder", {"name": name, "allowed": ", ".join(INDEX_PLACEHOLDERS)}
        names.append(name)
    if "serial" not in names:
        return "office.serial_required", {}
    try:
        pattern.format(org="01526086-8", catalog="01", year=2026, serial=1)
    except (ValueError, TypeError) as error:
        return "office.bad_pattern", {"detail": str(error)}
    return None


def load_office(directory: Path, catalog: Catalog) -> Office:
    """The office settings of a definitions folder (``office.yaml``)."""
    path = directory / OFFICE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DefinitionError([Problem(str(path), 1, "definition.unreadable", {"detail": str(error)})]) from None
    return load_office_text(text, str(path), catalog)


def load_office_text(text: str, file: str, catalog: Catalog) -> Office:
    """Validate and build the office settings; raises :class:`DefinitionError` listing every problem."""
    try:
        data, source_map = read_yaml(text, file)
    except YamlSyntaxError as error:
        raise DefinitionError([Problem(file, error.line, "definition.bad_yaml", {"detail": error.message})]) from None
    check = _Check(source_map)
    for line, key in source_map.duplicate_keys:
        check.problems.append(Problem(file, line, "definition.duplicate_key", {"key": key}))
    if not isinstance(data, dict):
        raise DefinitionError([Problem(file, 1, "office.not_mapping")])
    for key in data:
        if key not in _KEYS:
            check.add((key,), "definition.unknown_key", key=key, allowed=", ".join(sorted(_KEYS)))
    organ = data.get("organ")
    name = _label(organ.get("name")) if isinstance(organ, dict) else None
    code = organ.get("code") if isinstance(organ, dict) else None
    if name is None:
        check.add(("organ", "name") if isinstance(organ, dict) else ("organ",), "office.bad_organ_name")
    if not isinstance(code, str) or not code.strip():
        check.add(("organ", "code") if isinstance(organ, dict) else ("organ",), "office.bad_organ_code")
    pattern = data.get("index_number", DEFAULT_INDEX_PATTERN)
    if (wrong := check_index_pattern(pattern)) is not None:
        check.add(("index_number",), wrong[0], **wrong[1])
    site = data.get("site")
    title = _label(site.get("title")) if isinstance(site, dict) else None
    base_url = site.get("base_url") if isinstance(site, dict) else None
    if title is None:
        check.add(("site", "title") if isinstance(site, dict) else ("site",), "office.bad_site_title")
    if not _is_base_url(base_url):
        check.add(("site", "base_url") if isinstance(site, dict) else ("site",), "office.bad_base_url", url=base_url)
    villages = _villages(data.get("villages", []), check)
    channels, default = _channels(data.get("channels"), catalog, check)
    if check.problems:
        raise DefinitionError(check.problems)
    assert name is not None and title is not None and isinstance(code, str) and isinstance(base_url, str)
    return Office(
        organ=name, code=code.strip(), index_pattern=str(pattern), site_title=title, base_url=base_url.rstrip("/"),
        villages=villages, channels=MappingProxyType(channels), default_channels=default,
    )  # fmt: skip


def _is_base_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.query and not parts.fragment


def _villages(value: Any, check: _Check) -> tuple[str, ...]:
    if not isinstance(value, list):
        check.add(("villages",), "office.bad_villages")
        return ()
    seen: list[str] = []
    for index, village in enumerate(value):
        if not isinstance(village, str) or not village.strip():
            check.add(("villages", index), "office.bad_villages")
        elif village.strip() in seen:
            check.add(("villages", index), "office.duplicate_village", village=village)
        else:
            seen.append(village.strip())
    return tuple(seen)


def _channel_list(value: Any, path: tuple[str | int, ...], check: _Check) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        check.add(path, "office.bad_channel_list", allowed=", ".join(CHANNELS))
        return ()
    for index, channel in enumerate(value):
        if channel not in CHANNELS:
            check.add((*path, index), "office.unknown_channel", channel=channel, allowed=", ".join(CHANNELS))
    return tuple(dict.fromkeys(value))


def _channels(value: Any, catalog: Catalog, check: _Check) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """``channels: {default: [...], "01": [...], ...}``: codes must be catalogue codes."""
    if value is None:
        return {}, ("portal",)
    if not isinstance(value, dict):
        check.add(("channels",), "office.bad_channels")
        return {}, ("portal",)
    codes = [c.code for c in catalog.categories]
    default: tuple[str, ...] = ("portal",)
    found: dict[str, tuple[str, ...]] = {}
    for key, listed in value.items():
        path: tuple[str | int, ...] = ("channels", str(key))
        if key == "default":
            default = _channel_list(listed, path, check)
        elif not isinstance(key, str) or key not in codes:
            check.add(path, "office.unknown_category", code=key, allowed=", ".join(codes))
        else:
            found[key] = _channel_list(listed, path, check)
    return found, default
