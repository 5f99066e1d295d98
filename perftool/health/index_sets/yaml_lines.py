"""YAML with line numbers: a file's text composed with PyYAML's safe loader into dicts and lists
that remember where each key and item was written (`Map`, `Seq`), so every validation error can
name `file:line`. Syntax errors are InputErrors `file:line: invalid YAML: …`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perftool.db.errors import InputError

if TYPE_CHECKING:
    import yaml


class Map(dict):
    """A YAML mapping: `line` of the mapping, `key_lines[key]` of each key."""

    line = 1
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class Seq(list):
    """A YAML sequence: `line` of the sequence, `item_lines[i]` of each item."""

    line = 1
    item_lines: list[int]


def compose(text: str, path: str) -> yaml.Node | None:
    """The text's YAML node tree (None: an empty document)."""
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else path
        raise InputError(f"{where}: invalid YAML: {exc.problem or exc.context or 'syntax error'}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}") from None


def to_python(node: yaml.Node | None, path: str) -> Any:
    """The composed YAML node as dicts/lists that remember their lines (Map, Seq)."""
    import yaml

    loader = yaml.SafeLoader("")
    memo: dict[int, Any] = {}

    def convert(n: yaml.Node | None, depth: int = 0) -> Any:
        if n is None:  # an empty document
            return None
        if depth > 50:
            raise InputError(f"{path}:{n.start_mark.line + 1}: nested too deeply")
        if id(n) in memo:
            return memo[id(n)]
        line = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out = Map()
            out.line, out.key_lines = line, {}
            memo[id(n)] = out
            for k, v in n.value:
                key = convert(k, depth + 1)
                if not isinstance(key, str):
                    raise InputError(f"{path}:{k.start_mark.line + 1}: keys must be text, not {kind(key)}")
                if key in out:
                    raise InputError(f"{path}:{k.start_mark.line + 1}: {key!r} is given twice")
                out[key] = convert(v, depth + 1)
                out.key_lines[key] = k.start_mark.line + 1
            return out
        if isinstance(n, yaml.SequenceNode):
            seq = Seq()
            seq.line, seq.item_lines = line, []
            memo[id(n)] = seq
            for item in n.value:
                seq.append(convert(item, depth + 1))
                seq.item_lines.append(item.start_mark.line + 1)
            return seq
        try:
            value = loader.construct_object(n, deep=True)
        except Exception as exc:  # a bad scalar (e.g. an impossible date) is input
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{path}:{line}: cannot read value: {first}") from None
        memo[id(n)] = value
        return value

    try:
        return convert(node)
    except RecursionError:
        raise InputError(f"{path}: nested too deeply") from None


def kind(value: Any) -> str:
    """What a value is, for messages: `text`, `a list`, `true/false`, …"""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__

