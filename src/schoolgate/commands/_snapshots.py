"""Compiled snapshots for commands given a policy and list sources, cached between runs.

Compiling the whole default list set takes seconds; loading a snapshot takes a fraction of one.
The cache key covers the policy text, the data root and the name, size and modification time of
every list file (for a manifest: the manifest itself and every file it names), so an edited
policy, manifest or an updated list is always recompiled.

`--lists` takes a UT1 folder, a folder with a `lists.yaml`, or a manifest file such as the
shipped `lists/default.yaml`. The gateway commands (`dns`, `proxy`, `squid-helper`, `serve`,
`demo`) use `lists/default.yaml` when no `--lists` is given; `check` uses only what it is given.
A manifest's `root:` can be replaced with `--data-root DIR` or `SCHOOLGATE_DATA_ROOT`. Sources
older than the manifest's `stale_after_days` are reported on stderr (STM-076).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from schoolgate.engine import snapshot as snapshot_module
from schoolgate.engine.lists import host_classifier, importers, index, manifest
from schoolgate.engine.lists.freshness import stale_sources, staleness_warning
from schoolgate.engine.lists.importers import ListFormatError
from schoolgate.engine.lists.manifest import load_manifest
from schoolgate.engine.policy.changes import changes_path
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import Snapshot, compile_snapshot, load_snapshot

DATA_ROOT_ENV = "SCHOOLGATE_DATA_ROOT"


def default_manifest() -> Path:
    """The repository's `lists/default.yaml` (beside `src/`), else `./lists/default.yaml`."""
    beside_source = Path(__file__).resolve().parents[3] / "lists" / "default.yaml"
    return beside_source if beside_source.is_file() else Path("lists/default.yaml")


def add_snapshot_arguments(parser: argparse.ArgumentParser, default_lists: bool = False) -> None:
    default = f" (default: {default_manifest()})" if default_lists else ""
    parser.add_argument("--policy", type=Path, help="the school's policy file")
    parser.add_argument(
        "--lists",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="category lists: a UT1 folder, a folder with lists.yaml, or a manifest file such "
        f"as lists/default.yaml; may be repeated{default}",
    )
    add_data_root_argument(parser)
    parser.add_argument("--snapshot", type=Path, help="a compiled snapshot instead of --policy")
    parser.add_argument(
        "--no-cache", action="store_true", help="always compile, never reuse a cached snapshot"
    )
    parser.set_defaults(default_lists=default_lists)


def add_data_root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-root",
        type=Path,
        metavar="DIR",
        help=f"where a manifest's list files are (replaces its root:; or set {DATA_ROOT_ENV})",
    )


def data_root_from(args: argparse.Namespace) -> Path | None:
    given = getattr(args, "data_root", None)
    if given is not None:
        return given
    env = os.environ.get(DATA_ROOT_ENV)
    return Path(env) if env else None


def list_sources_from(args: argparse.Namespace) -> list[Path]:
    if args.lists:
        return list(args.lists)
    if getattr(args, "default_lists", False):
        return default_lists(data_root_from(args))
    return []


def default_lists(data_root: Path | None) -> list[Path]:
    """The default manifest, if its data is there; else nothing, with a warning."""
    path = default_manifest()
    try:
        load_manifest(path, data_root=data_root)
    except ListFormatError as error:
        print(
            f"schoolgate: warning: default lists not used ({error}); "
            "only the policy's own site lists apply",
            file=sys.stderr,
        )
        return []
    return [path]


def snapshot_from_arguments(args: argparse.Namespace) -> Snapshot:
    if args.snapshot is not None:
        return load_snapshot(args.snapshot)
    if args.policy is None:
        raise SystemExit("schoolgate: give --policy FILE (with --lists PATH) or --snapshot FILE")
    data_root = data_root_from(args)
    return cached_snapshot(
        args.policy, list_sources_from(args), use_cache=not args.no_cache, data_root=data_root
    )


def cache_dir() -> Path:
    if explicit := os.environ.get("SCHOOLGATE_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "schoolgate"


def cached_snapshot(
    policy_path: Path,
    list_dirs: list[Path],
    use_cache: bool = True,
    data_root: Path | None = None,
) -> Snapshot:
    warn_if_stale(list_dirs, data_root)
    if not use_cache:
        return compile_snapshot(load_policy(policy_path), list_dirs, data_root)
    path = cache_dir() / f"{_cache_key(policy_path, list_dirs, data_root)}.snapshot"
    if path.exists():
        # The key covers the policy's bytes, so a cached entry came from this very (valid) file;
        # the snapshot revalidates its policy on load, so parsing the YAML again would be waste.
        try:
            return load_snapshot(path)
        except Exception:  # a damaged cache entry is rebuilt, never trusted
            path.unlink(missing_ok=True)
    snapshot = compile_snapshot(load_policy(policy_path), list_dirs, data_root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save(path)
    except OSError:
        pass  # a read-only home still gets its answer, just not a cached one
    return snapshot


def warn_if_stale(list_dirs: list[Path], data_root: Path | None) -> None:
    now = datetime.now(UTC)
    for source in list_dirs:
        manifest_path = _manifest_path(Path(source))
        if manifest_path is None:
            continue
        try:
            loaded = load_manifest(manifest_path, data_root=data_root)
        except ListFormatError:
            continue  # the compile that follows reports it with file:line
        for age in stale_sources(loaded, now):
            print(f"schoolgate: {staleness_warning(loaded, age)}", file=sys.stderr)


def _manifest_path(source: Path) -> Path | None:
    if source.is_file() and source.suffix in (".yaml", ".yml"):
        return source
    if (source / importers.MANIFEST).is_file():
        return source / importers.MANIFEST
    return None


def _cache_key(policy_path: Path, list_dirs: list[Path], data_root: Path | None = None) -> str:
    digest = hashlib.sha256(Path(policy_path).read_bytes())
    changes = changes_path(Path(policy_path))
    if changes.exists():  # approved changes compile with the policy: a new one is a new key
        digest.update(b"changes;" + changes.read_bytes())
    digest.update(f"root={data_root.resolve() if data_root else ''};".encode())
    for source in list_dirs:
        for path in _files_of(Path(source), data_root):
            stat = os.stat(path)
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    digest.update(_code_version().encode())
    return digest.hexdigest()[:32]


def _files_of(source: Path, data_root: Path | None) -> list[str]:
    """Every file a list source reads: a tree's files, or a manifest and the files it names."""
    manifest_path = _manifest_path(source)
    if manifest_path is None:
        return _walk(source.resolve())
    files = _named_files(manifest_path, data_root)
    if manifest_path.parent == source:  # a folder with lists.yaml: its own files too
        files += _walk(source.resolve())
    return files


def _named_files(manifest_path: Path, data_root: Path | None) -> list[str]:
    files = [str(manifest_path.resolve())]
    try:
        loaded = load_manifest(manifest_path, data_root=data_root)
    except ListFormatError:
        return files  # compiling will raise the same error, with its place
    for entry in loaded.entries:
        if entry.format == "ut1":
            files += _walk(entry.file.resolve())
        else:
            files += [str(f.resolve()) for f in (*entry.files, *entry.exclude)]
    return files


def _walk(directory: Path) -> list[str]:
    files = []
    for root, dirs, names in os.walk(directory, followlinks=True):
        dirs.sort()
        files += [os.path.join(root, name) for name in sorted(names)]
    return files


def _code_version() -> str:
    """Snapshots made by an older build of the compiler are not reused."""
    modules = (snapshot_module, importers, index, manifest, host_classifier)
    return ",".join(str(Path(m.__file__).stat().st_mtime_ns) for m in modules)
