"""List manifests: which list files make up a school's category data, and what each one means.

A manifest is a YAML file (`lists.yaml` inside a list folder, or any `*.yaml` file given directly,
such as the repository's `lists/default.yaml`)::

    root: ../../shared/data      # optional: where `file:` paths start, relative to this file
                                 # (default: the manifest's own folder); a data-root override
                                 # given by the caller replaces it
    stale_after_days: 30         # optional: a source older than this is reported as stale
    lists:
      - file: ut1                # a path, or a glob such as `vpn/*.txt`, under the root
        format: ut1              # ut1 | hosts | plain | adblock | hashed | expressions
        source: ut1              # optional name used in reports (default: the file path)
        categories:              # ut1 only: this source's folder names -> Schoolgate categories
          mixed_adult: adult     #   (overrides the shipped UT1 mapping; `null` skips the folder)
      - file: gambling.txt
        format: hosts
        category: gambling       # Schoolgate category id, or a name mapped by category_map
        exclude: [allow.txt]     # host lists whose names (and their subdomains) are left out
        url: https://example.org/gambling.txt   # optional: where `schoolgate lists update`
        sha256: 3f…              #   fetches it from, and its expected digest, or
        sha256_url: https://…    #   a sidecar file holding the digest (sha256sum format)

Every problem (unreadable YAML, unknown key, unknown format or category, a file or glob that
matches nothing) raises `ListFormatError` naming the manifest and the line of the entry. The
manifest is the record of where lists come from and when they were fetched, so that content lists
are "regularly updated" (STM-076, STM-031, HG-020) can be checked.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from schoolgate.engine.lists.importers import (
    FORMATS,
    CategoryMap,
    ListFormatError,
    resolve_category,
)

MANIFEST_FORMATS = (*FORMATS, "expressions")
DEFAULT_STALE_AFTER_DAYS = 30
_ENTRY_KEYS = frozenset(
    {"file", "format", "category", "source", "categories", "exclude", "url", "sha256", "sha256_url"}
)
_TOP_KEYS = frozenset({"lists", "root", "stale_after_days"})


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    file: Path
    format: str
    category: str | None
    line: int
    source: str = ""
    relative: str = ""
    """The `file:` as written (relative to the root): where `lists update` puts a download."""
    files: tuple[Path, ...] = ()
    """The files a glob matched (just `file` when it is not a glob)."""
    categories: dict[str, str | None] = field(default_factory=dict)
    exclude: tuple[Path, ...] = ()
    url: str | None = None
    sha256: str | None = None
    sha256_url: str | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    root: Path
    entries: list[ManifestEntry]
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS


def manifest_root(path: Path, data: dict[str, Any], data_root: Path | None) -> Path:
    """Where the manifest's `file:` paths start: the override, its `root:`, or its own folder."""
    if data_root is not None and "root" in data:
        return Path(data_root)
    root = data.get("root")
    return path.parent / root if isinstance(root, str) else path.parent


def load_manifest(
    path: Path,
    category_map: CategoryMap | None = None,
    data_root: Path | None = None,
    check_files: bool = True,
) -> Manifest:
    """The checked manifest. `check_files=False` lets `lists update` read one whose files are
    still to be fetched."""
    path = Path(path)
    data, node = _read_yaml(path)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ListFormatError(path, 1, f"unknown top-level keys {sorted(unknown)}")
    stale = data.get("stale_after_days", DEFAULT_STALE_AFTER_DAYS)
    if not isinstance(stale, int) or isinstance(stale, bool) or stale < 1:
        raise ListFormatError(path, 1, "stale_after_days must be a whole number of days (>= 1)")
    root = manifest_root(path, data, data_root)
    lines = [item.start_mark.line + 1 for item in _lists_node(node).value]
    entries = [
        _entry(path, root, item, line, category_map, check_files)
        for item, line in zip(data["lists"], lines, strict=True)
    ]
    return Manifest(path, root, entries, stale)


def read_manifest(
    path: Path, category_map: CategoryMap | None = None, data_root: Path | None = None
) -> list[ManifestEntry]:
    """Entries of a manifest, checked: files exist, formats and categories are known."""
    return load_manifest(path, category_map, data_root).entries


def _read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node]:
    try:
        text = path.read_text("utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ListFormatError(path, 0, f"cannot read manifest: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("lists"), list) or node is None:
        raise ListFormatError(path, 1, "manifest must be a mapping with a `lists:` sequence")
    return data, node


def _lists_node(node: yaml.Node) -> yaml.SequenceNode:
    for key, value in node.value:
        if key.value == "lists":
            return value
    raise AssertionError("checked by the caller")


def _entry(
    manifest: Path,
    root: Path,
    item: Any,
    line: int,
    category_map: CategoryMap | None,
    check_files: bool,
) -> ManifestEntry:
    if not isinstance(item, dict) or not isinstance(item.get("file"), str):
        raise ListFormatError(manifest, line, "each list needs `file:` (a path)")
    unknown = set(item) - _ENTRY_KEYS
    if unknown:
        raise ListFormatError(manifest, line, f"unknown keys {sorted(unknown)}")
    fmt = item.get("format")
    if fmt not in MANIFEST_FORMATS:
        raise ListFormatError(
            manifest, line, f"format must be one of {MANIFEST_FORMATS}, not {fmt!r}"
        )
    relative = item["file"]
    files = _matching_files(manifest, root, relative, line) if check_files else ()
    category = _entry_category(manifest, item, fmt, line, category_map)
    return ManifestEntry(
        file=root / relative,
        format=fmt,
        category=category,
        line=line,
        source=str(item.get("source") or relative),
        relative=relative,
        files=files,
        categories=_source_categories(manifest, item, fmt, line),
        exclude=_exclude_files(manifest, root, item, line, check_files),
        url=_optional_text(manifest, item, "url", line),
        sha256=_checksum(manifest, item, line),
        sha256_url=_optional_text(manifest, item, "sha256_url", line),
    )


def _matching_files(manifest: Path, root: Path, relative: str, line: int) -> tuple[Path, ...]:
    if glob.has_magic(relative):
        found = tuple(sorted(Path(p) for p in glob.glob(str(root / relative)) if Path(p).is_file()))
        if not found:
            raise ListFormatError(manifest, line, f"{relative!r} matches no file under {root}")
        return found
    if not (root / relative).exists():
        raise ListFormatError(manifest, line, f"{relative!r} does not exist (under {root})")
    return (root / relative,)


def _entry_category(
    manifest: Path, item: dict[str, Any], fmt: str, line: int, category_map: CategoryMap | None
) -> str | None:
    if fmt == "ut1":
        if "category" in item:
            raise ListFormatError(manifest, line, "a ut1 tree takes `categories:`, not `category:`")
        return None
    name = item.get("category")
    if not isinstance(name, str):
        raise ListFormatError(manifest, line, f"a {fmt} list needs `category:`")
    try:
        category = resolve_category(name, category_map)
    except KeyError as exc:
        raise ListFormatError(manifest, line, f"unknown category {exc.args[0]!r}") from None
    if category is None:
        raise ListFormatError(manifest, line, f"category {name!r} is not a content category")
    return category


def _source_categories(
    manifest: Path, item: dict[str, Any], fmt: str, line: int
) -> dict[str, str | None]:
    mapping = item.get("categories", {})
    if mapping and fmt != "ut1":
        raise ListFormatError(manifest, line, "`categories:` is only for ut1 trees")
    if not isinstance(mapping, dict):
        raise ListFormatError(manifest, line, "`categories:` must map list names to categories")
    out: dict[str, str | None] = {}
    for name, category in mapping.items():
        if category is not None:
            try:
                resolved = resolve_category(str(category))
            except KeyError:
                raise ListFormatError(
                    manifest, line, f"unknown category {category!r} (for {name!r})"
                ) from None
            category = resolved
        out[str(name)] = category
    return out


def _exclude_files(
    manifest: Path, root: Path, item: dict[str, Any], line: int, check_files: bool
) -> tuple[Path, ...]:
    exclude = item.get("exclude", [])
    if isinstance(exclude, str):
        exclude = [exclude]
    if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
        raise ListFormatError(manifest, line, "`exclude:` must be a list of file paths")
    if not check_files:
        return tuple(root / e for e in exclude)
    return tuple(f for e in exclude for f in _matching_files(manifest, root, e, line))


def _optional_text(manifest: Path, item: dict[str, Any], key: str, line: int) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise ListFormatError(manifest, line, f"`{key}:` must be text")
    return value


def _checksum(manifest: Path, item: dict[str, Any], line: int) -> str | None:
    value = _optional_text(manifest, item, "sha256", line)
    if value is None:
        return None
    value = value.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ListFormatError(manifest, line, "`sha256:` must be 64 hex digits")
    return value
