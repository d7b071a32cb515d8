"""Compiled snapshots for commands given a policy and list folders, cached between runs.

Compiling the whole UT1 set takes seconds; loading a snapshot takes a fraction of one. The cache
key covers the policy text and the name, size and modification time of every list file, so an
edited policy or an updated list is always recompiled.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

from schoolgate.engine import snapshot as snapshot_module
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import Snapshot, compile_snapshot, load_snapshot


def add_snapshot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", type=Path, help="the school's policy file")
    parser.add_argument(
        "--lists",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of category lists (UT1 format or with a lists.yaml); may be repeated",
    )
    parser.add_argument("--snapshot", type=Path, help="a compiled snapshot instead of --policy")
    parser.add_argument(
        "--no-cache", action="store_true", help="always compile, never reuse a cached snapshot"
    )


def snapshot_from_arguments(args: argparse.Namespace) -> Snapshot:
    if args.snapshot is not None:
        return load_snapshot(args.snapshot)
    if args.policy is None:
        raise SystemExit("schoolgate: give --policy FILE (with --lists DIR) or --snapshot FILE")
    return cached_snapshot(args.policy, args.lists, use_cache=not args.no_cache)


def cache_dir() -> Path:
    if explicit := os.environ.get("SCHOOLGATE_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "schoolgate"


def cached_snapshot(policy_path: Path, list_dirs: list[Path], use_cache: bool = True) -> Snapshot:
    if not use_cache:
        return compile_snapshot(load_policy(policy_path), list_dirs)
    path = cache_dir() / f"{_cache_key(policy_path, list_dirs)}.snapshot"
    if path.exists():
        # The key covers the policy's bytes, so a cached entry came from this very (valid) file;
        # the snapshot revalidates its policy on load, so parsing the YAML again would be waste.
        try:
            return load_snapshot(path)
        except Exception:  # a damaged cache entry is rebuilt, never trusted
            path.unlink(missing_ok=True)
    snapshot = compile_snapshot(load_policy(policy_path), list_dirs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save(path)
    except OSError:
        pass  # a read-only home still gets its answer, just not a cached one
    return snapshot


def _cache_key(policy_path: Path, list_dirs: list[Path]) -> str:
    digest = hashlib.sha256(Path(policy_path).read_bytes())
    for directory in list_dirs:
        digest.update(str(Path(directory).resolve()).encode())
        for root, dirs, files in os.walk(directory, followlinks=True):
            dirs.sort()
            for name in sorted(files):
                stat = os.stat(os.path.join(root, name))
                digest.update(f"{root}/{name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    digest.update(_code_version().encode())
    return digest.hexdigest()[:32]


def _code_version() -> str:
    """Snapshots made by an older build of the compiler are not reused."""
    return str(Path(snapshot_module.__file__).stat().st_mtime_ns)
