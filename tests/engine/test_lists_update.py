"""`schoolgate lists update` against a real HTTP server on 127.0.0.1 (no network): checked
downloads replace a list atomically; a bad checksum, a 404, a truncated body or a corrupt list
keeps the old copy; old sources are reported stale (STM-076, STM-031, HG-020)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.conftest import REPO

GOOD = b"casino-one.example\ncasino-two.example\n"
NEW = b"casino-one.example\ncasino-two.example\ncasino-three.example\n"
OLD = b"old-casino.example\n"


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes, int | None]]] = {}

    def do_GET(self) -> None:
        status, body, claimed_length = self.routes.get(self.path, (404, b"not found\n", None))
        self.send_response(status)
        self.send_header("Content-Length", str(claimed_length or len(body)))
        self.end_headers()
        self.wfile.write(body)  # a claimed length above len(body) is a truncated transfer
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[tuple[str, dict]]:
    routes: ClassVar[dict[str, tuple[int, bytes, int | None]]] = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    finally:
        httpd.shutdown()
        httpd.server_close()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _setup(tmp_path: Path, base: str, entry_extra: str = "") -> tuple[Path, Path]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "gambling.txt").write_bytes(OLD)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "root: data\nstale_after_days: 30\nlists:\n"
        f"  - source: gambling\n    file: gambling.txt\n    format: plain\n"
        f"    category: gambling\n    url: {base}/gambling.txt\n{entry_extra}",
        encoding="utf-8",
    )
    return manifest, data


def _update(manifest: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "schoolgate", "lists", "update", str(manifest), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_update_with_a_pinned_checksum_replaces_the_list(tmp_path, server) -> None:
    base, routes = server
    routes["/gambling.txt"] = (200, NEW, None)
    manifest, data = _setup(tmp_path, base, f"    sha256: {_digest(NEW)}\n")
    done = _update(manifest)
    assert done.returncode == 0, done.stderr
    assert "updated  gambling" in done.stdout
    assert (data / "gambling.txt").read_bytes() == NEW
    record = json.loads((data / ".schoolgate-fetched.json").read_text())
    assert record["gambling.txt"]["sha256"] == _digest(NEW)
    assert not [p for p in data.iterdir() if p.name.startswith(".gambling")]  # no temp files


def test_update_with_a_sidecar_checksum(tmp_path, server) -> None:
    base, routes = server
    routes["/gambling.txt"] = (200, NEW, None)
    routes["/gambling.txt.sha256"] = (200, f"{_digest(NEW)}  gambling.txt\n".encode(), None)
    manifest, data = _setup(tmp_path, base, f"    sha256_url: {base}/gambling.txt.sha256\n")
    done = _update(manifest)
    assert done.returncode == 0, done.stderr
    assert (data / "gambling.txt").read_bytes() == NEW


@pytest.mark.parametrize(
    "route, extra, message",
    [
        ((200, NEW, None), f"    sha256: {_digest(GOOD)}\n", "does not match the expected"),
        (None, "", "HTTP 404"),
        ((200, NEW[:20], len(NEW)), "", "truncated"),
        ((500, b"oops", None), "", "HTTP 500"),
        ((200, b"\0\0\0binary\n", None), "", "binary data"),
    ],
    ids=["bad-checksum", "404", "truncated", "500", "corrupt-list"],
)
def test_a_failed_update_keeps_the_old_copy(tmp_path, server, route, extra, message) -> None:
    base, routes = server
    if route is not None:
        routes["/gambling.txt"] = route
    manifest, data = _setup(tmp_path, base, extra)
    done = _update(manifest)
    assert done.returncode == 1
    assert message in done.stderr and "kept the old copy" in done.stderr
    assert (data / "gambling.txt").read_bytes() == OLD
    assert not (data / ".schoolgate-fetched.json").exists()
    assert [p.name for p in data.iterdir()] == ["gambling.txt"]


def test_stale_sources_are_reported_by_update_status_and_check(tmp_path, server) -> None:
    base, _routes = server
    manifest, data = _setup(tmp_path, base)
    old = time.time() - 60 * 86400
    os.utime(data / "gambling.txt", (old, old))
    status = subprocess.run(
        [sys.executable, "-m", "schoolgate", "lists", "status", str(manifest)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    assert "stale after 30" in status.stderr and "gambling" in status.stderr
    check = subprocess.run(
        [
            *(sys.executable, "-m", "schoolgate", "check", "--policy"),
            *("policies/st-thomas-more.yaml", "--lists", str(manifest), "--no-cache"),
            "old-casino.example",
        ],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert "was last modified 60 days ago (stale after 30)" in check.stderr
    assert check.stdout.startswith("BLOCK")
