"""Loading: index set files (or directories of them) read, validated and merged into one IndexSet;
any problem is an InputError `path:line: message`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from perftool.db.errors import InputError
from perftool.health.index_sets.model import IndexSet
from perftool.health.index_sets.validate import Reader, no_twins
from perftool.health.index_sets.yaml_lines import compose, to_python

SET_SUFFIXES = (".yaml", ".yml")
DEFAULT_DIR = "index_sets"


def load_index_set_text(text: str, path: str = "<index set>") -> IndexSet:
    """Parse and validate one file's text. Any problem is an InputError `path:line: message`."""
    return Reader(path).read(to_python(compose(text, path), path))


def set_files(paths: Iterable[str | Path]) -> list[Path]:
    """The YAML files named by `paths` (files, or directories: their *.yaml / *.yml, sorted)."""
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(f for f in path.iterdir() if f.suffix in SET_SUFFIXES and f.is_file())
            if not found:
                raise InputError(f"{path}: no index set files (*.yaml) in this directory")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"index set {path} does not exist", "pass --set FILE_OR_DIRECTORY")
    return files


def load_index_sets(paths: Iterable[str | Path]) -> IndexSet:
    """Load and merge every index set file under `paths`."""
    merged = IndexSet()
    for f in set_files(paths):
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {f}: {exc}") from None
        merged.merge(load_index_set_text(text, str(f)))
    if len(merged.files) > 1:
        no_twins(merged.indexes)
    return merged


def default_set_paths() -> list[Path]:
    """`index_sets/` in the current directory when it exists, else nothing."""
    p = Path(DEFAULT_DIR)
    return [p] if p.is_dir() and any(f.suffix in SET_SUFFIXES for f in p.iterdir()) else []

