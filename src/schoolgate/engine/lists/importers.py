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

- **expressions**: one regular expression per line, searched case-insensitively over host + path
  (UT1's `expressions` and `very_restrictive_expression` files); only inside a manifest.

A directory with a `lists.yaml` manifest, or a manifest file given directly (the shipped
`lists/default.yaml`), names its files::

    lists:
      - file: drugs.txt          # path relative to the manifest (or its `root:`)
        format: hosts            # hosts | plain | adblock | hashed | ut1 | expressions
        category: drugs          # Schoolgate category id, or a name mapped by category_map
      - file: ut1                # a UT1 tree: categories come from its folder names
        format: ut1

`engine/lists/manifest.py` describes the rest of the manifest (roots, globs, per-source category
maps, excluded false positives, download addresses and checksums).

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schoolgate.engine.lists.index import CategoryIndex, compile_expressions
from schoolgate.engine.targets import TargetError, normalise_host, parse_target
from schoolgate.engine.taxonomy import CATEGORIES, UT1_MAPPING

INVALID_LIMIT_MIN = 20
INVALID_LIMIT_FRACTION = 0.01
CategoryMap = Mapping[str, str | None]
"""List name -> Schoolgate category; `None` leaves that list out."""
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
    source: str = ""
    """The manifest's name for the source this file came from (empty outside manifests)."""
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
            "source": self.source,
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


def resolve_category(name: str, category_map: CategoryMap | None = None) -> str | None:
    """Schoolgate category for a list's category name: the policy's map, UT1's, or the id itself.

    Returns None for names that are deliberately not imported (UT1 white lists); KeyError for
    names nobody knows.
    """
    if category_map and name in category_map:
        category = category_map[name]
        if category is None:
            return None  # a manifest's per-source mapping may skip a list on purpose
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


def _import_file(
    path: Path,
    fmt: str,
    category: str,
    index: CategoryIndex,
    excluded: frozenset[str] = frozenset(),
) -> ImportReport:
    if category not in CATEGORIES:
        raise ListFormatError(path, 0, f"unknown Schoolgate category {category!r}")
    if fmt == "expressions":
        parsed = _parse_expressions(Path(path), (category,))
    else:
        parsed = _parse_file(Path(path), fmt, (category,))
        _drop_excluded(parsed, excluded)
    parsed.add_to(index, index.bit(category))
    return ImportReport(files=[parsed.report])


def import_file(path: Path, fmt: str, category: str, index: CategoryIndex) -> ImportReport:
    """Import one list file of any single-file format (`hosts`, `plain`, …, `expressions`)."""
    return _import_file(path, fmt, category, index)


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
    folder: Path, names: list[str], category_map: CategoryMap | None, report: ImportReport
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
    root: Path, index: CategoryIndex, category_map: CategoryMap | None = None
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


def import_list_dir(
    path: Path,
    index: CategoryIndex,
    category_map: CategoryMap | None = None,
    data_root: Path | None = None,
) -> ImportReport:
    """Import a UT1 tree, a directory with a `lists.yaml`, or a manifest file, all or nothing."""
    path = Path(path)
    manifest = path / MANIFEST if path.is_dir() else path
    if manifest.is_file() and (path.is_dir() or path.suffix in (".yaml", ".yml")):
        return import_manifest(manifest, index, category_map, data_root)
    if path.is_dir() and is_ut1_tree(path):
        return import_ut1(path, index, category_map)
    if not path.exists():
        raise ListFormatError(path, 0, "no such file or directory")
    raise ListFormatError(
        path, 0, f"neither a UT1 tree nor a directory with {MANIFEST} (nor a manifest .yaml file)"
    )


def import_manifest(
    path: Path,
    index: CategoryIndex,
    category_map: CategoryMap | None = None,
    data_root: Path | None = None,
) -> ImportReport:
    """Import every list a manifest names into a staging index, then merge: all or nothing."""
    from schoolgate.engine.lists.manifest import load_manifest

    staging = CategoryIndex()
    report = ImportReport()
    for entry in load_manifest(path, category_map, data_root).entries:
        if entry.format == "ut1":
            mapping = {**entry.categories, **(category_map or {})}
            part = import_ut1(entry.file, staging, mapping)
        else:
            assert entry.category is not None
            part = ImportReport()
            excluded = _excluded_hosts(entry.exclude)
            for file in entry.files:
                part.extend(_import_file(file, entry.format, entry.category, staging, excluded))
        for file_report in part.files:
            file_report.source = entry.source
        report.extend(part)
    index.merge([staging])
    return report


def _excluded_hosts(files: tuple[Path, ...]) -> frozenset[str]:
    """Host names an `exclude:` list names (its own known false positives), any list format."""
    hosts: set[str] = set()
    for file in files:
        parsed = _Parsed(FileReport(str(file), "plain", ()))
        for number, line in _lines(file):
            text = _strip_comment(line)
            if text and not text.startswith(("#", "!")):
                _parse_plain(parsed, number, text.split()[-1])
        hosts |= parsed.domains
    return frozenset(hosts)


def _drop_excluded(parsed: _Parsed, excluded: frozenset[str]) -> None:
    """Leave out every excluded host and its subdomains (an allow-list entry covers them)."""
    if not excluded:
        return
    dropped = {d for d in parsed.domains if _covered(d, excluded)}
    parsed.domains -= dropped
    if dropped:
        parsed.report.skipped += len(dropped)
        parsed.report.skip_reasons["excluded as a known false positive"] += len(dropped)


def _covered(host: str, excluded: frozenset[str]) -> bool:
    labels = host.split(".")
    return any(".".join(labels[i:]) in excluded for i in range(len(labels)))
