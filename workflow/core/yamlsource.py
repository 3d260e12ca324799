"""YAML read with the line of every key and item, so errors can say FILE:LINE."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Where each part of a YAML document stands: path of keys/indexes -> 1-based line."""

    file: str
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[int, str]] = field(default_factory=list)

    def line(self, path: Path_) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class _Loader(yaml.SafeLoader):
    """The safe loader, except that dates stay text: we parse and report them ourselves."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class YamlSyntaxError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document (safe loader) and map its parts to lines."""
    source_map = SourceMap(file)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlSyntaxError(line, _one_line(f"{error.context or ''} {error.problem or ''}")) from error
    except yaml.reader.ReaderError as error:  # a character YAML does not allow (NUL, most control characters)
        line = text[: error.position].count("\n") + 1
        detail = f"unacceptable character #x{error.character:04x}: {error.reason}"
        raise YamlSyntaxError(line, detail) from error
    except yaml.YAMLError as error:
        raise YamlSyntaxError(1, _one_line(str(error))) from error
    if node is not None:
        _walk(node, (), source_map)
    return data, source_map


def _one_line(text: str) -> str:
    """A problem is one ``FILE:LINE: message`` line: PyYAML's own line breaks and indents are folded away."""
    return " ".join(text.split())


def _walk(node: yaml.Node, path: Path_, source_map: SourceMap) -> None:
    source_map.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                source_map.duplicate_keys.append((key_node.start_mark.line + 1, key))
            seen.add(key)
            source_map.lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), source_map)
            source_map.lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), source_map)
