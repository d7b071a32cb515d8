"""The compiled snapshot: policy + lists in one file, loaded whole or refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from schoolgate.engine.lists.importers import ListFormatError
from schoolgate.engine.policy.loader import parse_policy
from schoolgate.engine.snapshot import (
    MAGIC,
    Snapshot,
    SnapshotError,
    compile_snapshot,
    load_snapshot,
    policy_sha256,
)
from schoolgate.engine.targets import parse_target
from tests.conftest import UT1
from tests.engine.sample_policy import SAMPLE_POLICY


@pytest.fixture(scope="module")
def policy():
    return parse_policy(SAMPLE_POLICY, "sample.yaml")


def _small_lists(root: Path) -> Path:
    (root / "gambling").mkdir(parents=True)
    (root / "gambling" / "domains").write_text("bet365.com\nxn--bcher-kva.example\n")
    (root / "gambling" / "urls").write_text("example.org/casino\n")
    (root / "gambling" / "expressions").write_text("(^|[./])poker[0-9]*\\.\n")
    (root / "arjel").write_text("gambling\n")  # a pointer file standing for a symlink
    (root / "liste_blanche").mkdir()
    (root / "liste_blanche" / "domains").write_text("bbc.co.uk\n")
    return root


@pytest.fixture
def snapshot(policy, tmp_path: Path) -> Snapshot:
    return compile_snapshot(policy, [_small_lists(tmp_path / "ut1")])


def _categories(snapshot: Snapshot, url: str) -> frozenset[str]:
    return snapshot.index.categories_for(parse_target(url))


def test_round_trip_keeps_policy_and_answers(snapshot: Snapshot, tmp_path: Path) -> None:
    path = tmp_path / "school.snapshot"
    snapshot.save(path)
    loaded = load_snapshot(path)
    assert loaded.policy == snapshot.policy
    assert loaded.policy_sha256 == policy_sha256(snapshot.policy)
    assert loaded.built_at == snapshot.built_at
    assert loaded.sources == snapshot.sources
    assert loaded.sources[0]["added"] == 4
    for url, expected in [
        ("https://WWW.Bet365.com./login", {"gambling"}),
        ("http://bücher.example/", {"gambling"}),
        ("example.org/casino/table", {"gambling"}),
        ("example.org/casinos", set()),
        ("https://poker7.example.net/", {"gambling"}),
        ("bbc.co.uk", set()),  # UT1's white list is not a content category
    ]:
        assert _categories(loaded, url) == expected, url


def test_save_is_atomic_and_leaves_no_temp_files(snapshot: Snapshot, tmp_path: Path) -> None:
    path = tmp_path / "school.snapshot"
    path.write_bytes(b"old")
    snapshot.save(path)
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["school.snapshot"]
    assert path.read_bytes().startswith(MAGIC)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: data[:-1] + bytes([data[-1] ^ 1]), "checksum mismatch"),
        (lambda data: b"PK\x03\x04" + data[4:], "not a Schoolgate snapshot"),
        (lambda data: data[:10], "not a Schoolgate snapshot"),
        (lambda data: b"", "not a Schoolgate snapshot"),
    ],
)
def test_damaged_snapshot_is_refused_whole(snapshot, tmp_path: Path, damage, message) -> None:
    path = tmp_path / "school.snapshot"
    snapshot.save(path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(SnapshotError, match=message) as info:
        load_snapshot(path)
    assert str(path) in str(info.value)


def test_missing_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="cannot read snapshot"):
        load_snapshot(tmp_path / "nope.snapshot")


def test_bad_list_means_no_snapshot(policy, tmp_path: Path) -> None:
    root = _small_lists(tmp_path / "ut1")
    (root / "gambling" / "expressions").write_text("(unclosed\n")
    with pytest.raises(ListFormatError, match=r"gambling/expressions:1: invalid regular"):
        compile_snapshot(policy, [root])


def test_category_map_from_policy_is_applied(tmp_path: Path) -> None:
    text = SAMPLE_POLICY.replace("rules:", "filtering:\n  category_map: {arjel: games}\nrules:", 1)
    policy = parse_policy(text, "sample.yaml")
    snapshot = compile_snapshot(policy, [_small_lists(tmp_path / "ut1")])
    # `arjel` points at the gambling folder, so its entries are in both categories.
    assert _categories(snapshot, "bet365.com") == {"gambling", "games"}


@pytest.mark.slow
def test_full_ut1_snapshot_round_trips(policy, tmp_path: Path) -> None:
    """How fast it loads is measured by bench/squidguard_bench.py (`startup_s`), not here: a
    wall-clock bound in a test fails whenever the machine is busy."""
    snapshot = compile_snapshot(policy, [UT1])
    path = tmp_path / "ut1.snapshot"
    snapshot.save(path)
    loaded = load_snapshot(path)
    assert loaded.index.counts()["domains"] > 350_000
    assert "gambling" in _categories(loaded, "https://www.pokerstars.com/")
