"""Safe YAML loading that remembers where every key and list item came from.

Config and bank files are written by people; when one is wrong, the message must name
the file, the line and the field. PyYAML's node tree has the marks, so the document is
composed once, checked for aliases (a classic way to blow up memory), and constructed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Location = tuple[str | int, ...]


_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


class _Yaml12Loader(_SafeBase):
    """SafeLoader with YAML 1.2 booleans: only true/false are booleans.

    Under YAML 1.1 rules the rubric key `no:` (and answers like `yes`/`off`) would turn
    into booleans, which is never what a person writing a question meant.
    """


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class YamlFileError(Exception):
    """A file that cannot be read as YAML at all; str() names file and line."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: Any
    lines: dict[Location, int]

    def line_of(self, location: Sequence[str | int]) -> int | None:
        """The line of the deepest part of `location` that exists in the file."""
        location = tuple(location)
        while location:
            if location in self.lines:
                return self.lines[location]
            location = location[:-1]
        return self.lines.get((), None)


def load_yaml(path: Path, *, max_bytes: int = 2 * 1024 * 1024) -> YamlDocument:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise YamlFileError(path, None, f"cannot read file: {error.strerror}") from None
    if size > max_bytes:
        raise YamlFileError(path, None, f"file is {size} bytes, over the {max_bytes} byte limit")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise YamlFileError(path, None, f"not UTF-8 text ({error.reason})") from None
    return parse_yaml(text, path=path)


def parse_yaml(text: str, *, path: Path) -> YamlDocument:
    loader = _Yaml12Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(path=path, data=None, lines={})
        lines: dict[Location, int] = {(): node.start_mark.line + 1}
        _walk(node, (), lines, path, set())
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = error.problem or error.context or "invalid YAML"
        raise YamlFileError(path, line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise YamlFileError(path, None, f"invalid YAML: {error}") from None
    finally:
        loader.dispose()
    return YamlDocument(path=path, data=data, lines=lines)


def _walk(
    node: yaml.Node, location: Location, lines: dict[Location, int], path: Path, seen: set[int]
) -> None:
    if id(node) in seen:
        raise YamlFileError(
            path, node.start_mark.line + 1, "YAML aliases and anchors are not allowed"
        )
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlFileError(
                    path, key_node.start_mark.line + 1, "YAML merge keys (<<) are not allowed"
                )
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            lines[(*location, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*location, key), lines, path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*location, index)] = item.start_mark.line + 1
            _walk(item, (*location, index), lines, path, seen)


def describe_location(location: Sequence[str | int]) -> str:
    """('rubric', 'strong') -> 'rubric.strong'; (2, 'tags', 0) -> '[2].tags[0]'."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"
