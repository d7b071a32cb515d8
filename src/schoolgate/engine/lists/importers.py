"""Importing category lists into a `CategoryIndex`.

Formats:

- **UT1 / squidGuard tree**: one folder per list category holding `domains`, `urls` and
  `expressions` files (`usage` and other files are ignored). A category name may be a symbolic
  link to another folder, or (in copies that lost their links) a small file whose only content is
  the target folder's name; both are aliases and the target's entries get the categories of every
  name pointing at it. The tree may sit under `blacklists/`.
- **hosts**: `0.0.0.0 example.com [more names] [# comment]`; `localhost`-style names are skipped.
- **plain**: one host name (or IP address, or `host/path` URL prefix) per line, `#` comments;
  `||example.com^` and `*.example.com` lines, which real lists mix in, are accepted too.
- **adblock**: `||example.com^` and `||example.com/path^` rules and bare host names; comments
  (`!`, `[Adblock Plus 2.0]`); exception (`@@`), cosmetic (`##`), regex and `$option` rules are
  skipped with a count, since they do not describe whole sites.
- **hashed**: one lower- or upper-case hex SHA-256 digest per line, of `hash_key()` of the host or
  URL (IWF and CTIRU lists are issued like this). Every line must be a digest.

A directory with a `lists.yaml` manifest names its files::

    lists:
      - file: drugs.txt          # path relative to the manifest
        format: hosts            # hosts | plain | adblock | hashed | ut1
        category: drugs          # Schoolgate category id, or a name mapped by category_map
      - file: ut1                # a UT1 tree: categories come from its folder names
        format: ut1

Errors: a file that is not text (NUL bytes, not UTF-8), a bad regular expression, a hashed list
with a line that is not a digest, or a list where more than `INVALID_LIMIT_FRACTION` of the data
lines (and at least `INVALID_LIMIT_MIN`) are invalid raises `ListFormatError` naming the file and
line. Fewer invalid lines are skipped and reported. Each import parses everything first and only
then adds to the index, so a failed import leaves the index untouched.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from schoolgate.engine.lists.index import CategoryIndex, compile_expressions
from schoolgate.engine.taxonomy import CATEGORIES, UT1_MAPPING
from schoolgate.engine.urls import TargetError, normalise_host, parse_target

INVALID_LIMIT_MIN = 20
INVALID_LIMIT_FRACTION = 0.01
SKIP_EXAMPLES = 50
"""Skipped lines kept per file with their line number; the rest are only counted."""

FORMATS = ("ut1", "hosts", "plain", "adblock", "hashed")
MANIFEST = "lists.yaml"
UT1_FILES = ("domains", "urls", "expressions")
_LOCAL_HOSTS = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "local",
        "broadcasthost",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-mcastprefix",
        "ip6-allnodes",
        "ip6-allrouters",
        "ip6-allhosts",
        "0.0.0.0",
    }
)
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


class ListFormatError(ValueError):
    """A list file cannot be imported; nothing from it was added."""

    def __init__(self, file: Path | str, line: int, message: str):
        self.file = str(file)
        self.line = line
        self.message = message
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Skip:
    line: int
    reason: str


@dataclass(slots=True)
class FileReport:
    file: str
    format: str
    categories: tuple[str, ...]
    added: int = 0
    skipped: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    examples: list[Skip] = field(default_factory=list)
    """The first skipped lines (`SKIP_EXAMPLES` of them) as file:line evidence."""

    def skip(self, line: int, reason: str) -> None:
        self.skipped += 1
        self.skip_reasons[reason] += 1
        if len(self.examples) < SKIP_EXAMPLES:
            self.examples.append(Skip(line, reason))

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "categories": list(self.categories),
            "added": self.added,
            "skipped": self.skipped,
            "skip_reasons": dict(self.skip_reasons),
        }


@dataclass(slots=True)
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    """Files and folders that were not imported, each with the reason."""

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(c for f in self.files for c in f.categories)

    def extend(self, other: ImportReport) -> None:
        self.files.extend(other.files)
        self.ignored.extend(other.ignored)

    def summary(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "skipped": self.skipped,
            "categories": sorted(self.categories),
            "files": [f.summary() for f in self.files],
            "ignored": list(self.ignored),
        }


@dataclass(slots=True)
class _Parsed:
    """Entries of one file, parsed and checked but not yet in the index."""

    report: FileReport
    domains: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    expressions: list[str] = field(default_factory=list)
    hashes: set[bytes] = field(default_factory=set)
    invalid: int = 0
    first_invalid: tuple[int, str] | None = None
    data_lines: int = 0

    def invalid_line(self, line: int, reason: str) -> None:
        self.invalid += 1
        if self.first_invalid is None:
            self.first_invalid = (line, reason)
        self.report.skip(line, reason)

    def check_threshold(self) -> None:
        limit = max(INVALID_LIMIT_MIN, int(self.data_lines * INVALID_LIMIT_FRACTION))
        if self.invalid > limit and self.first_invalid is not None:
            line, reason = self.first_invalid
            raise ListFormatError(
                self.report.file,
                line,
                f"{self.invalid} of {self.data_lines} lines are invalid (more than {limit}); "
                f"first: {reason}. Is this really in {self.report.format} format?",
            )

    def add_to(self, index: CategoryIndex, mask: int) -> None:
        for domain in self.domains:
            index.add_domain_mask(domain, mask)
        for url in self.urls:
            index.add_url_mask(url, mask)
        for pattern in self.expressions:
            index.add_expression_mask(pattern, mask)
        for digest in self.hashes:
            index.add_hash_mask(digest, mask)
        self.report.added = (
            len(self.domains) + len(self.urls) + len(self.expressions) + len(self.hashes)
        )


# --- reading -----------------------------------------------------------------------------------


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered, stripped lines of a text file; binary content is an error, not a skip."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ListFormatError(path, 0, f"cannot read list: {exc.strerror or exc}") from None
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise ListFormatError(path, line, "binary data (NUL byte): not a text list")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ListFormatError(path, line, "not UTF-8 text: not a text list") from None
    for number, line_text in enumerate(text.splitlines(), 1):
        yield number, line_text.strip()


def _url(text: str) -> str:
    """Normalised `host/path` of a list's URL entry (no scheme, as squidGuard lists write them)."""
    target = parse_target(text)
    return target.host + target.path


def _strip_comment(text: str) -> str:
    return text.split(" #", 1)[0].split("\t#", 1)[0].strip()


# --- line parsers --------------------------------------------------------------------------------


def _parse_domain_line(parsed: _Parsed, number: int, text: str) -> None:
    """A host, IP address or `host/path` entry (UT1 `domains`, plain lists)."""
    try:
        if "/" in text:
            parsed.urls.add(_url(text))
        else:
            parsed.domains.add(normalise_host(text)[0])
    except TargetError as exc:
        parsed.invalid_line(number, f"invalid host {text[:80]!r}: {exc}")


def _parse_plain(parsed: _Parsed, number: int, text: str) -> None:
    text = _strip_comment(text)
    if text.startswith("||"):
        text = text[2:].removesuffix("^")
    elif text.startswith("*."):
        text = text[2:]
    elif text.startswith("."):
        text = text[1:]  # squidGuard style: `.example.com` = the domain and its subdomains
    _parse_domain_line(parsed, number, text)


def _parse_hosts(parsed: _Parsed, number: int, text: str) -> None:
    fields = _strip_comment(text).split()
    try:
        ipaddress.ip_address(fields[0])
    except ValueError:
        parsed.invalid_line(number, f"first field {fields[0][:80]!r} is not an IP address")
        return
    if len(fields) == 1:
        parsed.report.skip(number, "IP address without host name")
        return
    for name in fields[1:]:
        if name.lower() in _LOCAL_HOSTS:
            parsed.report.skip(number, "local host name")
            continue
        _parse_domain_line(parsed, number, name)


def _parse_adblock(parsed: _Parsed, number: int, text: str) -> None:
    if text.startswith("[") and text.endswith("]"):
        return  # header such as [Adblock Plus 2.0]
    if text.startswith("@@"):
        parsed.report.skip(number, "exception rule (@@) not supported")
    elif "##" in text or "#@#" in text or "#?#" in text:
        parsed.report.skip(number, "cosmetic rule")
    else:
        _parse_adblock_rule(parsed, number, _strip_comment(text))


def _parse_adblock_rule(parsed: _Parsed, number: int, text: str) -> None:
    if text.startswith("/") and text.endswith("/"):
        parsed.report.skip(number, "regular-expression rule not supported")
    elif "$" in text:
        parsed.report.skip(number, "rule with $options (not a whole-site rule)")
    elif text.startswith("||"):
        body = text[2:].removesuffix("|").removesuffix("^")
        if "^" in body or "*" in body:
            parsed.report.skip(number, "wildcard or separator inside rule not supported")
        else:
            _parse_domain_line(parsed, number, body)
    elif text.startswith("|") or "*" in text or "^" in text:
        parsed.report.skip(number, "address-part rule not supported")
    else:
        _parse_domain_line(parsed, number, text)


def _parse_hashed(parsed: _Parsed, number: int, text: str) -> None:
    text = _strip_comment(text)
    if not _HEX_DIGEST.fullmatch(text):
        # IWF and CTIRU lists are authoritative: a partial load would silently miss entries.
        raise ListFormatError(
            parsed.report.file, number, f"not a hex SHA-256 digest: {text[:80]!r}"
        )
    parsed.hashes.add(bytes.fromhex(text))


LineParser = Callable[[_Parsed, int, str], None]
_COMMENT_PREFIXES: dict[str, tuple[str, ...]] = {
    "hosts": ("#",),
    "plain": ("#",),
    "adblock": ("!", "#"),
    "hashed": ("#",),
    "domains": ("#",),
}
_PARSERS: dict[str, LineParser] = {
    "hosts": _parse_hosts,
    "plain": _parse_plain,
    "adblock": _parse_adblock,
    "hashed": _parse_hashed,
    "domains": _parse_plain,
}


def _parse_file(path: Path, fmt: str, categories: tuple[str, ...]) -> _Parsed:
    parsed = _Parsed(FileReport(str(path), fmt, categories))
    parser = _PARSERS[fmt]
    comments = _COMMENT_PREFIXES[fmt]
    for number, text in _lines(path):
        if not text or text.startswith(comments):
            continue
        parsed.data_lines += 1
        parser(parsed, number, text)
    parsed.check_threshold()
    return parsed


def _parse_expressions(path: Path, categories: tuple[str, ...]) -> _Parsed:
    parsed = _Parsed(FileReport(str(path), "expressions", categories))
    for number, text in _lines(path):
        if not text or text.startswith("#"):
            continue
        try:
            compile_expressions([(text, 1)])
        except re.error as exc:
            raise ListFormatError(path, number, f"invalid regular expression: {exc}") from None
        parsed.expressions.append(text)
    return parsed


# --- category names ------------------------------------------------------------------------------


def resolve_category(name: str, category_map: dict[str, str] | None = None) -> str | None:
    """Schoolgate category for a list's category name: the policy's map, UT1's, or the id itself.

    Returns None for names that are deliberately not imported (UT1 white lists); KeyError for
    names nobody knows.
    """
    if category_map and name in category_map:
        category = category_map[name]
    elif name in UT1_MAPPING:
        return UT1_MAPPING[name]
    elif name in CATEGORIES:
        return name
    else:
        raise KeyError(name)
    if category not in CATEGORIES:
        raise KeyError(category)
    return category


# --- single-file importers -----------------------------------------------------------------------


def _import_file(path: Path, fmt: str, category: str, index: CategoryIndex) -> ImportReport:
    if category not in CATEGORIES:
        raise ListFormatError(path, 0, f"unknown Schoolgate category {category!r}")
    parsed = _parse_file(Path(path), fmt, (category,))
    parsed.add_to(index, index.bit(category))
    return ImportReport(files=[parsed.report])


def import_hosts(path: Path, category: str, index: CategoryIndex) -> ImportReport:
    return _import_file(path, "hosts", category, index)


def import_plain(path: Path, category: str, index: CategoryIndex) -> ImportReport:
    return _import_file(path, "plain", category, index)


def import_adblock(path: Path, category: str, index: CategoryIndex) -> ImportReport:
    return _import_file(path, "adblock", category, index)


def import_hashed(path: Path, category: str, index: CategoryIndex) -> ImportReport:
    return _import_file(path, "hashed", category, index)


# --- UT1 -----------------------------------------------------------------------------------------


def _ut1_base(root: Path) -> Path:
    return root / "blacklists" if (root / "blacklists").is_dir() else root


def _pointer_target(entry: Path) -> str | None:
    """The folder a UT1 alias stands for: a symlink's target, or a pointer file's content."""
    if entry.is_symlink():
        return Path(os.readlink(entry)).name
    if entry.is_file() and entry.stat().st_size <= 256:
        try:
            text = entry.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if re.fullmatch(r"[A-Za-z0-9_.-]+", text) and (entry.parent / text).is_dir():
            return text
    return None


def _ut1_folders(base: Path, report: ImportReport) -> dict[str, list[str]]:
    """Real category folder -> every name (its own and its aliases') that stands for it."""
    names: dict[str, list[str]] = {}
    aliases: list[tuple[str, str]] = []
    for entry in sorted(base.iterdir()):
        target = _pointer_target(entry)
        if target is not None:
            aliases.append((entry.name, target))
        elif entry.is_dir() and any((entry / f).is_file() for f in UT1_FILES):
            names.setdefault(entry.name, []).insert(0, entry.name)
        else:
            report.ignored.append(f"{entry}: not a UT1 category folder")
    for alias, target in aliases:
        if target in names:
            names[target].append(alias)
        else:
            report.ignored.append(f"{base / alias}: alias of missing folder {target!r}")
    return names


def _ut1_categories(
    folder: Path, names: list[str], category_map: dict[str, str] | None, report: ImportReport
) -> tuple[str, ...]:
    categories: list[str] = []
    for name in names:
        try:
            category = resolve_category(name, category_map)
        except KeyError as exc:
            report.ignored.append(
                f"{folder} ({name}): unknown category {exc.args[0]!r}; "
                "map it in filtering.category_map"
            )
            continue
        if category is not None and category not in categories:
            categories.append(category)
    if not categories:
        report.ignored.append(f"{folder}: not a content category ({', '.join(names)})")
    return tuple(categories)


def import_ut1(
    root: Path, index: CategoryIndex, category_map: dict[str, str] | None = None
) -> ImportReport:
    """Import a UT1 / squidGuard tree. All files are parsed before anything is added."""
    root = Path(root)
    base = _ut1_base(root)
    if not base.is_dir():
        raise ListFormatError(root, 0, "not a directory")
    report = ImportReport()
    pending: list[tuple[_Parsed, tuple[str, ...]]] = []
    for folder_name, names in _ut1_folders(base, report).items():
        folder = base / folder_name
        categories = _ut1_categories(folder, names, category_map, report)
        if not categories:
            continue
        for kind in UT1_FILES:
            path = folder / kind
            if not path.is_file():
                continue
            if kind == "expressions":
                parsed = _parse_expressions(path, categories)
            else:
                parsed = _parse_file(path, "domains", categories)
                parsed.report.format = kind
            pending.append((parsed, categories))
    if not pending:
        raise ListFormatError(root, 0, "no UT1 category folders with domains/urls/expressions")
    for parsed, categories in pending:
        parsed.add_to(index, index.mask(categories))
        report.files.append(parsed.report)
    return report


# --- directories and manifests -------------------------------------------------------------------


def is_ut1_tree(path: Path) -> bool:
    base = _ut1_base(path)
    return base.is_dir() and any(
        child.is_dir() and (child / "domains").is_file() for child in base.iterdir()
    )


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    file: Path
    format: str
    category: str | None
    line: int


def read_manifest(path: Path, category_map: dict[str, str] | None = None) -> list[ManifestEntry]:
    """Entries of a `lists.yaml`, checked: files exist, formats and categories are known."""
    try:
        text = path.read_text("utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ListFormatError(path, 0, f"cannot read manifest: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("lists"), list) or node is None:
        raise ListFormatError(path, 1, "manifest must be a mapping with a `lists:` sequence")
    lines = [item.start_mark.line + 1 for item in _lists_node(node).value]
    return [
        _manifest_entry(path, item, line, category_map)
        for item, line in zip(data["lists"], lines, strict=True)
    ]


def _lists_node(node: yaml.Node) -> yaml.SequenceNode:
    for key, value in node.value:
        if key.value == "lists":
            return value
    raise AssertionError("checked by the caller")


def _manifest_entry(
    manifest: Path, item: Any, line: int, category_map: dict[str, str] | None
) -> ManifestEntry:
    if not isinstance(item, dict) or not isinstance(item.get("file"), str):
        raise ListFormatError(manifest, line, "each list needs `file:` (a path)")
    unknown = set(item) - {"file", "format", "category"}
    if unknown:
        raise ListFormatError(manifest, line, f"unknown keys {sorted(unknown)}")
    fmt = item.get("format")
    if fmt not in FORMATS:
        raise ListFormatError(manifest, line, f"format must be one of {FORMATS}, not {fmt!r}")
    file = manifest.parent / item["file"]
    if not file.exists():
        raise ListFormatError(manifest, line, f"{item['file']!r} does not exist")
    if fmt == "ut1":
        return ManifestEntry(file, fmt, None, line)
    name = item.get("category")
    if not isinstance(name, str):
        raise ListFormatError(manifest, line, f"a {fmt} list needs `category:`")
    try:
        category = resolve_category(name, category_map)
    except KeyError as exc:
        raise ListFormatError(manifest, line, f"unknown category {exc.args[0]!r}") from None
    if category is None:
        raise ListFormatError(manifest, line, f"category {name!r} is not a content category")
    return ManifestEntry(file, fmt, category, line)


def import_list_dir(
    path: Path, index: CategoryIndex, category_map: dict[str, str] | None = None
) -> ImportReport:
    """Import a UT1 tree or a directory with a `lists.yaml` manifest, all or nothing."""
    path = Path(path)
    manifest = path / MANIFEST
    if manifest.is_file():
        staging = CategoryIndex()
        report = ImportReport()
        for entry in read_manifest(manifest, category_map):
            if entry.format == "ut1":
                report.extend(import_ut1(entry.file, staging, category_map))
            else:
                assert entry.category is not None
                report.extend(_import_file(entry.file, entry.format, entry.category, staging))
        index.merge([staging])
        return report
    if is_ut1_tree(path):
        return import_ut1(path, index, category_map)
    raise ListFormatError(path, 0, f"neither a UT1 tree nor a directory with {MANIFEST}")
