"""`schoolgate lists update`: fetch a manifest's list sources, checked, into a data folder.

    schoolgate lists update [MANIFEST] [--data-root DIR] [--timeout S]
    schoolgate lists status [MANIFEST] [--data-root DIR]

For every manifest entry with a `url:`, the file is downloaded over HTTP(S) beside its target
(`DIR/<file>`), then checked, and only then moved into place with an atomic rename:

- the HTTP status must be 200 and the body as long as `Content-Length` says (no truncation);
- the SHA-256 must equal the entry's `sha256:`, or the digest in its `sha256_url:` sidecar
  (`sha256sum` format); an entry with neither is accepted and reported as unpinned;
- the file must parse in its format (`ListFormatError` otherwise, with file:line).

Any failure keeps the old copy untouched and is reported; the command exits 1 if any source
failed. Each success is recorded in `DIR/.schoolgate-fetched.json` (time, digest, address), from
which `check`, `serve` and `lists status` tell how old each source is; a source older than the
manifest's `stale_after_days` gets a warning (STM-076 "content lists are regularly updated",
STM-031, HG-020). UT1 trees (`format: ut1`) are not fetched by this command.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from schoolgate.commands._snapshots import add_data_root_argument, data_root_from, default_manifest
from schoolgate.engine.lists import importers
from schoolgate.engine.lists.freshness import (
    FETCH_RECORD,
    read_fetch_record,
    source_ages,
    staleness_warning,
)
from schoolgate.engine.lists.importers import ListFormatError
from schoolgate.engine.lists.index import CategoryIndex
from schoolgate.engine.lists.manifest import Manifest, ManifestEntry, load_manifest
from schoolgate.files import write_atomically

MAX_BYTES = 256 * 1024 * 1024


class FetchError(Exception):
    """One source could not be updated; its old copy is kept."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lists",
        help="update list sources and show how old they are",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True)
    update = actions.add_parser("update", help="fetch every source with a url: (checked)")
    status = actions.add_parser("status", help="how old each source is")
    for sub in (update, status):
        sub.add_argument(
            "manifest", nargs="?", type=Path, default=None, help=f"default: {default_manifest()}"
        )
        add_data_root_argument(sub)
    update.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    update.set_defaults(func=run_update)
    status.set_defaults(func=run_status)


def _manifest(args: argparse.Namespace, check_files: bool) -> Manifest:
    return load_manifest(
        args.manifest or default_manifest(), data_root=data_root_from(args), check_files=check_files
    )


def run_update(args: argparse.Namespace) -> int:
    try:
        manifest = _manifest(args, check_files=False)
    except ListFormatError as error:
        print(f"schoolgate lists: {error}", file=sys.stderr)
        return 1
    failures = 0
    for entry in manifest.entries:
        if entry.url is None:
            continue
        try:
            digest, pinned = update_source(manifest.root, entry, args.timeout)
        except FetchError as error:
            failures += 1
            print(f"FAILED   {entry.source}: {error}; kept the old copy", file=sys.stderr)
            continue
        note = "" if pinned else " (unpinned: no sha256 in the manifest or a sidecar)"
        print(f"updated  {entry.source}: {entry.relative} sha256 {digest[:16]}…{note}")
    _print_stale(manifest)
    return 1 if failures else 0


def run_status(args: argparse.Namespace) -> int:
    try:
        manifest = _manifest(args, check_files=True)
    except ListFormatError as error:
        print(f"schoolgate lists: {error}", file=sys.stderr)
        return 1
    for age in source_ages(manifest, datetime.now(UTC)):
        how = "fetched" if age.fetched else "modified"
        print(f"{age.source:34} {age.age_days:7.1f} days since {how}  {age.file}")
    _print_stale(manifest)
    return 0


def _print_stale(manifest: Manifest) -> None:
    now = datetime.now(UTC)
    for age in source_ages(manifest, now):
        if age.age_days > manifest.stale_after_days:
            print(staleness_warning(manifest, age), file=sys.stderr)


def update_source(root: Path, entry: ManifestEntry, timeout: float) -> tuple[str, bool]:
    """Fetch, check and install one source. Returns its digest and whether it was pinned."""
    assert entry.url is not None
    target = root / entry.relative
    target.parent.mkdir(parents=True, exist_ok=True)
    body = fetch(entry.url, timeout)
    digest = hashlib.sha256(body).hexdigest()
    expected = entry.sha256 or (sidecar_digest(entry, timeout) if entry.sha256_url else None)
    if expected is not None and digest != expected:
        raise FetchError(f"sha256 {digest[:16]}… does not match the expected {expected[:16]}…")
    _install(target, body, entry)
    _record(root, entry, digest)
    return digest, expected is not None


def fetch(url: str, timeout: float) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"{url!r} is not an http(s) address")
    request = urllib.request.Request(url, headers={"User-Agent": "schoolgate-lists-update"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status != 200:
                raise FetchError(f"HTTP {response.status} from {url}")
            expected = response.headers.get("Content-Length")
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise FetchError(f"HTTP {error.code} from {url}") from None
    except http.client.IncompleteRead as error:
        raise FetchError(f"truncated: got {len(error.partial)} bytes from {url}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise FetchError(f"cannot fetch {url}: {getattr(error, 'reason', error)}") from None
    if len(body) > MAX_BYTES:
        raise FetchError(f"larger than {MAX_BYTES} bytes: refused")
    if expected is not None and expected.isdigit() and int(expected) != len(body):
        raise FetchError(f"truncated: got {len(body)} of {expected} bytes from {url}")
    if not body:
        raise FetchError(f"empty body from {url}")
    return body


def sidecar_digest(entry: ManifestEntry, timeout: float) -> str:
    assert entry.sha256_url is not None
    text = fetch(entry.sha256_url, timeout).decode("ascii", errors="replace").strip()
    digest = text.split()[0].lower() if text else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise FetchError(f"the sidecar {entry.sha256_url} holds no SHA-256 digest")
    return digest


def _install(target: Path, body: bytes, entry: ManifestEntry) -> None:
    """Check that the download parses as its format, then rename it over the old copy."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        _check_format(temporary, entry)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _check_format(path: Path, entry: ManifestEntry) -> None:
    if entry.format == "ut1" or entry.category is None:
        raise FetchError("UT1 trees are not fetched by `lists update`")
    try:
        report = importers.import_file(path, entry.format, entry.category, CategoryIndex())
    except ListFormatError as error:
        raise FetchError(f"not a usable {entry.format} list: {error}") from None
    if report.added == 0:
        raise FetchError(f"no entries in the downloaded {entry.format} list")


def _record(root: Path, entry: ManifestEntry, digest: str) -> None:
    record = read_fetch_record(root)
    record[entry.relative] = {
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sha256": digest,
        "url": entry.url or "",
    }
    write_atomically(root / FETCH_RECORD, json.dumps(record, indent=1, sort_keys=True).encode())
