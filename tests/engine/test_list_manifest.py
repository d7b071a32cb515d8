"""List manifests: the shipped `lists/default.yaml`, manifest files given to `--lists`, their
errors with file:line, per-source category maps, excluded false positives and the data root
(STM-076, STM-148, STM-154, STM-161)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schoolgate.engine.lists.importers import ListFormatError, import_list_dir
from schoolgate.engine.lists.index import CategoryIndex
from schoolgate.engine.lists.manifest import load_manifest
from schoolgate.engine.targets import parse_target
from schoolgate.engine.taxonomy import CATEGORIES
from tests.conftest import DATA, REPO

DEFAULT = REPO / "lists" / "default.yaml"


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _cats(index: CategoryIndex, url: str) -> set[str]:
    return set(index.categories_for(parse_target(url)))


def _data(root: Path) -> Path:
    _write(root / "ut1" / "gambling" / "domains", "bookie.example\n")
    _write(root / "ut1" / "mixed_adult" / "domains", "mixed.example\n")
    _write(root / "vpn" / "a.txt", "one.vpn.example\nshared-cdn.example\n")
    _write(root / "vpn" / "b.txt", "||two.vpn.example^\nmail.two.vpn.example\n")
    allow = "shared-cdn.example # a CDN, not a VPN\n||mail.two.vpn.example^\n"
    _write(root / "vpn-allow.txt", allow)
    _write(root / "games.hosts", "0.0.0.0 play.example\n")
    return root


def _manifest(path: Path, body: str, root: str = "data") -> Path:
    return _write(path, f"root: {root}\nlists:\n{body}")


GOOD = (
    "  - {file: ut1, format: ut1, source: ut1, categories: {mixed_adult: null}}\n"
    "  - {file: 'vpn/*.txt', format: plain, category: vpn, exclude: [vpn-allow.txt]}\n"
    "  - {file: games.hosts, format: hosts, category: games}\n"
)


def test_manifest_file_with_root_globs_exclusions_and_source_map(tmp_path: Path) -> None:
    _data(tmp_path / "data")
    manifest = _manifest(tmp_path / "m" / "lists.yaml", GOOD, root="../data")
    index = CategoryIndex()
    report = import_list_dir(manifest, index)
    assert _cats(index, "bookie.example") == {"gambling"}
    assert _cats(index, "mixed.example") == set()  # this source's map leaves mixed_adult out
    assert _cats(index, "x.one.vpn.example") == {"vpn"}
    assert _cats(index, "two.vpn.example") == {"vpn"}
    assert _cats(index, "shared-cdn.example") == set()  # the source's own false positive
    assert _cats(index, "play.example") == {"games"}
    assert {f.source for f in report.files} == {"ut1", "vpn/*.txt", "games.hosts"}
    excluded = sum(f.skip_reasons["excluded as a known false positive"] for f in report.files)
    assert excluded == 2


def test_data_root_override_replaces_the_manifest_root(tmp_path: Path) -> None:
    _data(tmp_path / "elsewhere")
    manifest = _manifest(tmp_path / "default.yaml", GOOD, root="missing")
    with pytest.raises(ListFormatError, match=r"default.yaml:3: 'ut1' does not exist"):
        import_list_dir(manifest, CategoryIndex())
    index = CategoryIndex()
    import_list_dir(manifest, index, data_root=tmp_path / "elsewhere")
    assert _cats(index, "play.example") == {"games"}


@pytest.mark.parametrize(
    "entry, message",
    [
        ("  - {file: gone.txt, format: plain, category: vpn}\n", r"m.yaml:6: 'gone.txt' does not"),
        ("  - {file: 'nope/*.txt', format: plain, category: vpn}\n", r"m.yaml:6: .* matches no"),
        ("  - {file: games.hosts, format: hosts, category: bingo}\n", r"m.yaml:6: unknown categ"),
        ("  - {file: ut1, format: ut1, categories: {gambling: bingo}}\n", r"m.yaml:6: unknown c"),
        ("  - {file: games.hosts, format: hosts, category: games, sha256: x}\n", r"m.yaml:6: `s"),
        ("  - {file: games.hosts, format: hosts, category: games, exclude: 3}\n", r"m.yaml:6: `ex"),
    ],
)
def test_bad_entries_name_the_manifest_line(tmp_path: Path, entry: str, message: str) -> None:
    _data(tmp_path / "data")
    manifest = _manifest(tmp_path / "m.yaml", GOOD + entry)
    index = CategoryIndex()
    with pytest.raises(ListFormatError, match=message):
        import_list_dir(manifest, index)
    assert index.domains == {}


def test_a_corrupt_list_line_names_the_list_file_and_line(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    _write(data / "iwf.txt", "0" * 64 + "\n" + "this is not a digest\n")
    entry = "  - {file: iwf.txt, format: hashed, category: child-sexual-abuse}\n"
    index = CategoryIndex()
    with pytest.raises(ListFormatError, match=r"iwf.txt:2: not a hex SHA-256 digest"):
        import_list_dir(_manifest(tmp_path / "m.yaml", GOOD + entry), index)
    assert index.domains == {}  # all or nothing


def test_a_binary_list_names_its_line(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    _write(data / "vpn" / "c.txt", b"good.example\nbad\0.example\n")
    with pytest.raises(ListFormatError, match=r"c.txt:2: binary data"):
        import_list_dir(_manifest(tmp_path / "m.yaml", GOOD), CategoryIndex())


def test_unknown_top_level_key(tmp_path: Path) -> None:
    _data(tmp_path / "data")
    manifest = _write(tmp_path / "m.yaml", f"root: data\nlist_of: 1\nlists:\n{GOOD}")
    with pytest.raises(ListFormatError, match=r"m.yaml:1: unknown top-level keys \['list_of'\]"):
        import_list_dir(manifest, CategoryIndex())


# --- the shipped default manifest --------------------------------------------------------------


def test_default_manifest_names_every_shared_source_with_known_categories() -> None:
    manifest = load_manifest(DEFAULT)
    assert manifest.root.resolve() == DATA.resolve()
    sources = {e.source.split("-")[0] for e in manifest.entries}
    assert {"ut1", "shadowwhisperer", "blocklistproject", "vpn", "doh"} <= sources
    for entry in manifest.entries:
        assert entry.format == "ut1" or entry.category in CATEGORIES
        assert entry.files, entry.source
    blp = {e.relative for e in manifest.entries if e.source.startswith("blocklistproject")}
    shipped = (DATA / "blocklistproject").glob("[a-z]*.txt")
    assert blp == {f"blocklistproject/{p.name}" for p in shipped}
    vpn = [e for e in manifest.entries if e.category == "vpn"]
    assert all(e.exclude for e in vpn)  # the known false positives are always left out
    restrictive = next(e for e in manifest.entries if "very_restrictive" in e.relative)
    assert restrictive.category == "likely-adult"


def test_every_pinned_checksum_matches_the_shared_copy() -> None:
    import hashlib

    for entry in load_manifest(DEFAULT).entries:
        if entry.sha256:
            assert hashlib.sha256(entry.file.read_bytes()).hexdigest() == entry.sha256, entry.source


@pytest.mark.slow
def test_check_batch_with_the_default_manifest(tmp_path: Path) -> None:
    """`check --policy P --lists lists/default.yaml --batch`: the gateway's decisions."""
    requests = [
        {"group": "pupil-ks2", "target": "https://www.pornhub.com/"},  # ShadowWhisperer Adult
        {"group": "pupil-ks2", "target": "https://www.bet365.com/"},
        {"group": "pupil-ks2", "target": "https://nordvpn.com/"},
        {"group": "pupil-ks2", "target": "https://www.bbc.co.uk/bitesize"},
        {"group": "pupil-ks2", "target": ""},
    ]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schoolgate",
            "check",
            "--policy",
            "policies/st-thomas-more.yaml",
            "--lists",
            "lists/default.yaml",
            "--batch",
        ],
        input="".join(json.dumps(r) + "\n" for r in requests),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=os.environ | {"SCHOOLGATE_CACHE": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a.get("action") for a in answers] == ["block", "block", "block", "allow", None]
    assert "pornography" in answers[0]["categories"]
    assert "gambling" in answers[1]["categories"]
    assert "vpn" in answers[2]["categories"]
    assert answers[4]["line"] == 5 and "target" in answers[4]["error"]


def test_check_reports_a_broken_manifest_with_its_place(tmp_path: Path) -> None:
    manifest = _write(tmp_path / "m.yaml", "lists:\n  - {file: gone.txt, format: plain}\n")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "schoolgate", "check"),
            *("--policy", "policies/st-thomas-more.yaml", "--lists", str(manifest), "example.com"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=os.environ | {"SCHOOLGATE_CACHE": str(tmp_path / "cache")},
    )
    assert done.returncode == 1
    assert f"{manifest}:2: 'gone.txt' does not exist" in done.stderr
